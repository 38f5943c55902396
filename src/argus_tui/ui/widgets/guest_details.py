"""The guests screen's details panel: the selected guest as the list has it at once, then
its status/current, config and addresses (or why there are none), fetched in a worker for
the selected guest only, so a refresh makes no more requests.

Fetched details are kept per guest, so coming back to a guest shows them without flicker
while fresh ones are fetched. Each refresh fetches them again, and only the lines whose
text changed are repainted (ui/widgets/detail_lines.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message

from argus_tui.domain.format import bytes_, percent, uptime
from argus_tui.domain.models import Guest
from argus_tui.errors import ArgusError
from argus_tui.services.maintenance import Addresses
from argus_tui.services.session import Session
from argus_tui.ui.widgets.detail_lines import DetailLines, Row


class DetailsReady(Message):
    def __init__(
        self,
        session: Session,
        vmid: int,
        details: dict[str, Any] | None,
        error: str | None,
        addresses: Addresses | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.vmid = vmid
        self.details = details
        self.error = error
        self.addresses = addresses


class GuestDetails(VerticalScroll):
    class Loaded(Message):
        """A guest's details (its config) arrived: what its keys depend on is known."""

        def __init__(self, vmid: int) -> None:
            super().__init__()
            self.vmid = vmid

    def __init__(self) -> None:
        super().__init__(id="guest-details")
        self._session: Session | None = None
        self._guest: Guest | None = None  # the guest on show
        self._fetching: int | None = None  # the guest whose details were asked for last
        self._cache: dict[int, dict[str, Any]] = {}
        self._addresses: dict[int, Addresses] = {}

    def compose(self) -> ComposeResult:
        yield DetailLines(id="guest-details-text")

    def on_mount(self) -> None:
        self.watch(self.app, "session", self._new_session)

    def _new_session(self, session: Session) -> None:
        self._session = session
        self._cache = {}
        self._addresses = {}
        self._fetching = None

    def show(self, guest: Guest | None, *, force: bool = False) -> None:
        """Show `guest` (while the panel is open); `force` fetches its details again."""
        self._guest = guest
        lines = self.query_one(DetailLines)
        if guest is None:
            lines.show([])
            return
        if not self.display:
            return
        cached = self._cache.get(guest.vmid)
        lines.show(details_rows(guest, cached, None, self._addresses.get(guest.vmid)))
        if (force or (cached is None and self._fetching != guest.vmid)) and self._session:
            self._fetching = guest.vmid
            self._fetch(self._session, guest)

    def config(self, vmid: int) -> Mapping[str, Any] | None:
        """The guest's config as last fetched; None until the panel has loaded it, and
        while the panel is closed (then nothing keeps it current)."""
        details = self._cache.get(vmid) if self.display else None
        config = details.get("config") if details is not None else None
        return config if isinstance(config, Mapping) else None

    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def _fetch(self, session: Session, guest: Guest) -> None:
        try:
            details = session.guest_details(guest)
        except ArgusError as exc:
            self.post_message(DetailsReady(session, guest.vmid, None, str(exc)))
        else:
            addresses = session.addresses(guest)  # never raises: a refusal is the reason shown
            self.post_message(DetailsReady(session, guest.vmid, details, None, addresses))

    def on_details_ready(self, message: DetailsReady) -> None:
        message.stop()
        if message.session is not self._session:
            return  # details of the cluster before a profile switch
        if message.details is not None:
            self._cache[message.vmid] = message.details
            self.post_message(self.Loaded(message.vmid))
        if message.addresses is not None:
            self._addresses[message.vmid] = message.addresses
        guest = self._guest
        if guest is not None and guest.vmid == message.vmid:
            addresses = self._addresses.get(guest.vmid)
            rows = details_rows(guest, message.details, message.error, addresses)
            self.query_one(DetailLines).show(rows)


def details_rows(
    guest: Guest,
    details: dict[str, Any] | None,
    error: str | None,
    addresses: Addresses | None = None,
) -> list[Row]:
    """The details panel: what the list says, then status/current, addresses and config
    when fetched."""
    kind = "VM" if guest.type == "qemu" else "CT"
    rows = [Row(guest.label, style="bold"), Row(f"{kind} {guest.vmid} on {guest.node}")]
    listed = [
        ("status", guest.status + (" (template)" if guest.template else "")),
        ("cpu", f"{percent(guest.cpu)} of {f'{guest.maxcpu:g}' if guest.maxcpu else '?'} cores"),
        ("memory", f"{bytes_(guest.mem)} / {bytes_(guest.maxmem)}"),
        # PVE reports no disk usage for VMs (only for containers): say the size alone
        (
            "disk",
            f"{bytes_(guest.disk)} / {bytes_(guest.maxdisk)}"
            if guest.disk or guest.type != "qemu"
            else f"{bytes_(guest.maxdisk)} allocated",
        ),
        ("uptime", uptime(guest.uptime)),
        ("tags", ", ".join(guest.tags) or "-"),
        ("pool", guest.pool or "-"),
        ("HA", guest.hastate or "not managed"),
        ("lock", guest.lock or "-"),
    ]
    rows += [Row(value, key=label, key_width=8) for label, value in listed]
    if error:
        return [*rows, _BLANK, Row(error, style="yellow")]
    if details is None:
        return [*rows, _BLANK, Row("loading details…", style="italic dim")]
    current = details.get("current", {})
    config = details.get("config", {})
    rows += [_BLANK, Row("status/current", style="bold")]
    for key in ("qmpstatus", "pid", "running-qemu", "running-machine", "agent"):
        if key in current:
            rows.append(_field(key, current[key]))
    ha = current.get("ha")
    if isinstance(ha, dict) and ha.get("managed"):
        rows.append(_field("ha", ha.get("state", "?")))
    if addresses is not None:
        rows += address_rows(addresses)
    rows += [_BLANK, Row("config", style="bold")]
    for key in sorted(config):
        if key in ("digest",) or _secret_like(key):
            continue
        rows.append(_field(key, config[key]))
    return rows


def address_rows(addresses: Addresses) -> list[Row]:
    rows = [_BLANK, Row("addresses", style="bold")]
    if not addresses.addresses:
        rows.append(Row(addresses.why_none, style="yellow", indent=2))
    rows += [_field(address.interface, address.address) for address in addresses.addresses]
    return rows


_BLANK = Row("")


def _field(key: object, value: object) -> Row:
    """A fetched field: its value wraps under the value column, after 16 cells of key."""
    return Row(str(value), key=str(key), key_width=16)


def _secret_like(key: str) -> bool:
    return any(word in key.lower() for word in ("password", "cipassword", "sshkeys", "secret"))
