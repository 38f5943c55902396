"""`Privileges`: one rule for what applies at a path, from `/access/permissions` as
returned (listed paths resolved by the server, unlisted ones inheriting)."""

from __future__ import annotations

from argus_tui.domain.models import Guest, Privileges
from argus_tui.domain.permissions import allowed_actions, valid_actions
from argus_tui.pve.mapping import privileges_from

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


def test_in_a_pve_dump_nothing_propagates_past_a_fixed_path_that_is_missing() -> None:
    # PVE lists /nodes whenever anything is held there: in a dump that lists its fixed
    # paths, the absence of /nodes means nothing is (NoAccess on /nodes, say), even though
    # / holds Sys.Audit with propagation.
    privileges = Privileges(
        {"/": {"Sys.Audit": True, "Sys.Syslog": True}, "/storage": {"Sys.Audit": True}}
    )
    assert privileges.holds("/", "Sys.Syslog")
    assert not privileges.holds("/nodes/pve-c", "Sys.Syslog")
    assert privileges.on_guest(101) == frozenset()
    assert privileges.holds("/storage/nas", "Sys.Audit")
    assert not Privileges().holds("/nodes/pve-c", "Sys.Audit")


ALL_POWER = {"VM.Audit": True, "VM.PowerMgmt": True, "Sys.Audit": True, "Sys.PowerMgmt": True}
RUNNING = Guest(vmid=100, type="qemu", node="pve-a", status="running")


def test_a_dump_of_slash_alone_is_read_from_slash_everywhere() -> None:
    # Third-party servers list only `/`: a root token holds everything everywhere.
    root = Privileges({"/": ALL_POWER})
    assert root.on_guest(100) == set(ALL_POWER)
    assert root.holds("/nodes/pve-a", "Sys.PowerMgmt")
    assert root.effective("/vms") == set(ALL_POWER)
    assert allowed_actions(RUNNING, root) == valid_actions(RUNNING) != ()


def test_a_slash_entry_that_does_not_propagate_holds_nothing_below() -> None:
    here_only = Privileges({"/": dict.fromkeys(ALL_POWER, False)})
    assert here_only.effective("/") == set(ALL_POWER)
    assert here_only.on_guest(100) == frozenset()
    assert here_only.effective("/vms") == frozenset()
    assert allowed_actions(RUNNING, here_only) == ()
    mixed = Privileges({"/": {"VM.Audit": True, "VM.PowerMgmt": False}})
    assert mixed.on_guest(100) == {"VM.Audit"}


def test_a_guest_not_listed_takes_what_propagates_from_vms_before_slash() -> None:
    privileges = Privileges({"/": ALL_POWER, "/vms": {"VM.Audit": True, "VM.PowerMgmt": False}})
    assert privileges.on_guest(100) == {"VM.Audit"}  # /vms is nearer than /
    assert allowed_actions(RUNNING, privileges) == ()


def test_an_entry_that_applies_at_its_path_alone_is_passed_over_below_it() -> None:
    # PVE: an ACL on /vms that does not propagate replaces what / gives on /vms only.
    privileges = Privileges({"/": {"VM.Audit": True}, "/vms": {"VM.PowerMgmt": False}})
    assert privileges.effective("/vms") == {"VM.PowerMgmt"}
    assert privileges.on_guest(100) == {"VM.Audit"}


def test_a_listed_guest_wins_over_more_privileges_above_it() -> None:
    privileges = Privileges({"/": ALL_POWER, "/vms/100": {"VM.Audit": False}})
    assert privileges.on_guest(100) == {"VM.Audit"}
    assert allowed_actions(RUNNING, privileges) == ()
    assert privileges.on_guest(101) == set(ALL_POWER)  # another guest reads /


def test_an_answer_to_a_path_is_what_holds_there_however_it_is_keyed() -> None:
    path = "/vms/100"
    as_pve = privileges_from({path: {"VM.PowerMgmt": 0}})
    keyed_root = privileges_from({"/": {"VM.PowerMgmt": 0, "VM.Audit": "1"}})
    keyed_vms = privileges_from({"/vms": {"VM.PowerMgmt": 1}})
    assert as_pve.answer(path) == {"VM.PowerMgmt"}
    # The one entry answers for the path asked, propagating or not.
    assert keyed_root.answer(path) == {"VM.PowerMgmt", "VM.Audit"}
    assert keyed_vms.answer(path) == {"VM.PowerMgmt"}
    assert privileges_from({}).answer(path) == frozenset()
    # The whole dump (the parameter ignored) is read as the dump is.
    whole = privileges_from({"/": {"VM.Audit": 1}, "/vms": {"VM.PowerMgmt": 1}})
    assert whole.answer(path) == {"VM.PowerMgmt"}
    assert whole.answer("/") == {"VM.Audit"}


def test_paths_are_read_as_pve_spells_them() -> None:
    privileges = privileges_from({"vms/100/": {"VM.Audit": 1}, "/vms/100": {"VM.PowerMgmt": 0}})
    assert privileges.at("/vms/100") == {"VM.Audit", "VM.PowerMgmt"}
    assert privileges_from({"": {"Sys.Audit": 1}}).at("/") == {"Sys.Audit"}


def test_deeper_paths_walk_up_to_the_nearest_listed_one() -> None:
    privileges = Privileges({"/storage": {"Datastore.Audit": True}, "/storage/nas": {}})
    assert privileges.holds("/storage/local/images", "Datastore.Audit")
    assert not privileges.holds("/storage/nas/images", "Datastore.Audit")  # nas: nothing
