"""`Privileges`: one rule for what applies at a path, from `/access/permissions` as
returned (listed paths resolved by the server, unlisted ones inheriting)."""

from __future__ import annotations

from argus_tui.domain.models import Privileges

AUDITOR = Privileges(
    {
        "/": {"Sys.Audit": True, "VM.Audit": True},
        "/nodes": {"Sys.Audit": True, "Sys.Syslog": True},
        "/vms": {"VM.Audit": True, "VM.PowerMgmt": False},
        "/vms/105": {"VM.Audit": False},
    }
)


def test_a_listed_path_is_the_answer_whether_or_not_it_propagates() -> None:
    assert AUDITOR.holds("/vms", "VM.PowerMgmt")  # 0: held here, only not below
    assert AUDITOR.holds("/vms/105", "VM.Audit")
    assert not AUDITOR.holds("/vms/105", "VM.PowerMgmt")  # the entry replaces /vms
    assert AUDITOR.on_guest(105) == {"VM.Audit"}


def test_an_unlisted_path_holds_what_propagates_from_its_nearest_listed_ancestor() -> None:
    assert AUDITOR.holds("/nodes/pve-c", "Sys.Syslog")
    assert AUDITOR.on_guest(101) == {"VM.Audit"}  # VM.PowerMgmt does not propagate
    assert AUDITOR.effective("/vms/101") == AUDITOR.on_guest(101)


def test_nothing_propagates_past_an_always_listed_path_that_is_missing() -> None:
    # /nodes is always listed when anything is held there: its absence means nothing
    # is, even though / holds Sys.Audit with propagation (NoAccess on /nodes, say).
    privileges = Privileges({"/": {"Sys.Audit": True, "Sys.Syslog": True}})
    assert privileges.holds("/", "Sys.Syslog")
    assert not privileges.holds("/nodes/pve-c", "Sys.Syslog")
    assert privileges.on_guest(101) == frozenset()
    assert not Privileges().holds("/nodes/pve-c", "Sys.Audit")


def test_deeper_paths_walk_up_to_the_nearest_listed_one() -> None:
    privileges = Privileges({"/storage": {"Datastore.Audit": True}, "/storage/nas": {}})
    assert privileges.holds("/storage/local/images", "Datastore.Audit")
    assert not privileges.holds("/storage/nas/images", "Datastore.Audit")  # nas: nothing
