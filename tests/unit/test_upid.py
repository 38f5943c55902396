"""UPID parsing as PVE::UPID::decode does it, including pve-common's own examples."""

from __future__ import annotations

import pytest

from argus_tui.domain.upid import UPID, UPIDError


def test_parse_pve_common_example() -> None:
    upid = UPID.parse("UPID:example-node:0000C346:165A0CE4:68D7279C:aptupdate::root@pam:")
    assert upid == UPID("example-node", 49990, 375000292, 1758930844, "aptupdate", "", "root@pam")
    assert upid.tokenid is None
    assert upid.userid == "root@pam"


def test_token_user_and_round_trip() -> None:
    text = "UPID:pve1:00001234:0ABCDEF1:68D7279C:qmstart:100:argus@pve!tui:"
    upid = UPID.parse(text)
    assert (upid.userid, upid.tokenid, upid.id) == ("argus@pve", "tui", "100")
    assert str(upid) == text


def test_nine_digit_pstart() -> None:
    upid = UPID.parse("UPID:n:0000C346:165A0CE41:68D7279C:vzdump::root@pam:")
    assert upid.pstart == 0x165A0CE41


@pytest.mark.parametrize(
    "text",
    [
        "",
        "UPID:pve1:1234:0ABCDEF1:68D7279C:qmstart:100:root@pam:",  # short pid
        "UPID:pve1:00001234:0ABCDEF1:68D7279C:qmstart:100:root@pam",  # no trailing colon
        "UPID:-bad:00001234:0ABCDEF1:68D7279C:qmstart:100:root@pam:",
        "UPID:pve1:00001234:0ABCDEF1:68D7279C:qm/start:100:root@pam:",
        "UPID:pve1:00001234:0ABCDEF1:68D7279C:qmstart:100:root@pam:done",
    ],
)
def test_rejects_malformed(text: str) -> None:
    with pytest.raises(UPIDError):
        UPID.parse(text)
