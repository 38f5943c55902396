"""The client's mapping of real snapshot, storage, vzdump and task bodies.

Every body of the shared `ops-responses/` folder that is a snapshot list, a storage or
content list, a vzdump answer, a task status or a task log is served over real HTTPS to
the real client (a tiny server that answers each request with that one body), then mapped
as Argus maps it. The simulator-side bookkeeping counts a file as covered when its name
appears in this file, so each is named in a string literal. Without the contract folder
the tests skip.

Below them, robustness: malformed entries are skipped and reported, odd types are read,
and hostile names reach the terminal only as visible escapes.
"""

from __future__ import annotations

import json
import ssl
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.contract.pve_schema import require_shared

from argus_tui.cli.commands.snapshot import snapshot_json, tree_lines
from argus_tui.cli.commands.storage import print_content
from argus_tui.domain.migration import targets_for
from argus_tui.domain.models import (
    ClusterInfo,
    ClusterSnapshot,
    Entity,
    Guest,
    Node,
    Privileges,
    exit_ok,
)
from argus_tui.domain.secret import Secret
from argus_tui.domain.snapshots import GuestSnapshot
from argus_tui.domain.storage import Storage, Volume
from argus_tui.domain.upid import UPID
from argus_tui.pve.client import PveClient
from argus_tui.pve.mapping import MappingError, resources_from, storage_from, task_from
from argus_tui.pve.ops_mapping import (
    addresses_from,
    precondition_from,
    snapshot_tree_from,
    volumes_from,
)
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.services.backups import guest_results
from argus_tui.services.runner import TaskRunner
from argus_tui.services.storage import content
from argus_tui.sim import certs

OPS = "ops-responses"


def body(name: str) -> Any:
    """A body of the shared folder, envelope included."""
    return json.loads(require_shared(OPS, *name.split("/")).read_text("utf-8"))


class Replay:
    """An HTTPS server that answers every request with `body` (PVE's envelope as stored),
    and remembers the requests it saw."""

    def __init__(self, bundle: certs.CertBundle) -> None:
        self.body: Any = {"data": None}
        self.seen: list[tuple[str, str]] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                replay.seen.append((self.command, self.path))
                data = json.dumps(replay.body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:
            cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
            cert.write_bytes(bundle.cert_pem)
            key.write_bytes(bundle.key_pem)
            context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.client = PveClient(
            ConnectionSettings(
                "127.0.0.1",
                self.httpd.server_address[1],
                "argus@pve!test",
                Secret("not-a-secret"),
                TlsConfig("fingerprint", fingerprint=bundle.fingerprint),
            )
        )

    def serve(self, name: str) -> PveClient:
        self.body = body(name)
        return self.client

    def close(self) -> None:
        self.client.close()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def replay(cert_bundle: certs.CertBundle) -> Iterator[Replay]:
    server = Replay(cert_bundle)
    yield server
    server.close()


QEMU = Entity("qemu", "pve1", 100)
LXC = Entity("lxc", "node1", 101)


# -- snapshot lists ---------------------------------------------------------------------


def test_qemu_snapshot_list_captured(replay: Replay) -> None:
    items = replay.serve("snapshot-list-qemu.community-proxmox-inventory.json").snapshots(QEMU)
    assert replay.seen == [("GET", "/api2/json/nodes/pve1/qemu/100/snapshot")]
    tree, problems = snapshot_tree_from(items)
    assert problems == []
    assert tree.snapshots == (GuestSnapshot("clean", None, 1000, "", False),)
    assert tree.current == GuestSnapshot("current", "clean", None, "", current=True)
    assert [(depth, s.name) for depth, s in tree.walk()] == [(0, "clean"), (1, "current")]
    assert [snapshot_json(s) for _, s in tree.walk()] == [
        {
            "name": "clean",
            "parent": None,
            "snaptime": 1000,
            "description": "",
            "vmstate": False,
            "current": False,
        },
        {
            "name": "current",
            "parent": "clean",
            "snaptime": None,
            "description": "",
            "vmstate": False,
            "current": True,
        },
    ]


def test_lxc_snapshot_list_with_unknown_parents_shows_every_entry(replay: Replay) -> None:
    """The capture's parents name snapshots that are not in the list (edited by its
    authors); such an entry is a root, `current` included, rather than lost."""
    items = replay.serve("snapshot-list-lxc.go-proxmox-pve7x.json").snapshots(LXC)
    assert replay.seen == [("GET", "/api2/json/nodes/node1/lxc/101/snapshot")]
    tree, problems = snapshot_tree_from(items)
    assert problems == []
    assert [(s.name, s.parent, s.snaptime, s.description, s.vmstate) for s in tree.snapshots] == [
        ("snapshot1", None, 1709753281, "description1", False),
        ("snapshot2", "parent1", 1709753290, "description2", False),
    ]
    assert tree.current is not None
    assert (tree.current.parent, tree.current.running) == ("parent2", True)
    walk = [(depth, s.name) for depth, s in tree.walk()]
    assert walk == [(0, "snapshot1"), (0, "snapshot2"), (0, "current")]
    lines = tree_lines(tree)
    assert lines[-1].split() == ["`->", "current", "You", "are", "here!", "(running)"]
    assert tree.latest is not None and tree.latest.name == "snapshot2"


def test_derived_qemu_snapshot_tree(replay: Replay) -> None:
    items = replay.serve("derived/snapshot-list-qemu.derived.json").snapshots(QEMU)
    tree, problems = snapshot_tree_from(items)
    assert problems == []
    walk = [(depth, s.name) for depth, s in tree.walk()]
    assert walk == [(0, "before-upgrade"), (1, "after-upgrade"), (2, "nightly"), (2, "current")]
    after = tree.get("after-upgrade")
    nightly = tree.get("nightly")
    assert after is not None and after.vmstate and after.complete
    assert nightly is not None and nightly.snapstate == "prepare" and not nightly.complete
    text = "\n".join(tree_lines(tree))
    assert "after apt full-upgrade" in text and "(being taken)" in text
    assert [s["name"] for s in map(snapshot_json, (s for _, s in tree.walk()))][-1] == "current"


# -- storage and content lists ----------------------------------------------------------


def test_storage_config_list(replay: Replay) -> None:
    """`GET /storage` names no node: mapped for the node it is read for."""
    items = replay.serve("storage-list.community-proxmox-backup.json").storage_config()
    assert replay.seen == [("GET", "/api2/json/storage")]
    pbs, zfs = (storage_from(item, node="node1") for item in items)
    assert pbs == Storage("backup", "node1", "pbs", ("backup",), shared=True)
    assert zfs == Storage("local-zfs", "node1", "zfspool", ("rootdir", "images"))
    assert pbs.holds("backup") and not zfs.holds("backup") and pbs.path == "/storage/backup"
    with pytest.raises(MappingError):
        storage_from(items[0])  # without a node it cannot be placed


def test_pbs_backup_content(replay: Replay) -> None:
    client = replay.serve("storage-content-backup-pbs.community-proxmox-storage-contents-info.json")
    found = content(client, Storage("datastore", "node1", "pbs", ("backup",)), kind="backup")
    assert replay.seen == [
        ("GET", "/api2/json/nodes/node1/storage/datastore/content?content=backup")
    ]
    assert found.problems == ()
    newest, oldest = found.volumes  # newest first
    assert newest == Volume(
        volid="datastore:backup/vm/931/2023-12-14T19:36:00Z",
        content="backup",
        format="pbs-vm",
        size=273804166059,
        ctime=1702582560,
        vmid=931,
        notes=None,
        protected=False,
        subtype="qemu",
    )
    assert oldest.ctime == 1702528474 and oldest.name == "backup/vm/931/2023-12-14T04:34:34Z"
    assert newest.storage == "datastore"


def test_dir_backup_content_protected_and_notes(replay: Replay) -> None:
    client = replay.serve("derived/storage-content-backup-dir.derived.json")
    found = content(client, Storage("local", "pve1", "dir", ("backup",)), vmid=100)
    assert replay.seen == [("GET", "/api2/json/nodes/pve1/storage/local/content?vmid=100")]
    [web] = found.volumes  # the listing's other guest is not vmid 100
    assert (web.volid, web.format, web.protected, web.notes, web.subtype) == (
        "local:backup/vzdump-qemu-100-2026_05_01-02_00_03.vma.zst",
        "vma.zst",
        True,
        "web01",
        "qemu",
    )
    volumes, problems = volumes_from(
        body("derived/storage-content-backup-dir.derived.json")["data"]
    )
    assert problems == [] and [v.protected for v in volumes] == [True, False]
    assert volumes[1].vmid == 101 and volumes[1].subtype == "lxc"


# -- vzdump answers, task status and logs -----------------------------------------------


def test_vzdump_answers_a_upid(replay: Replay) -> None:
    client = replay.serve("vzdump-post-upid.community-proxmox-backup.json")
    upid = client.vzdump("node1", [100], storage="backup", notes="{{guestname}}")
    assert upid == "UPID:node1:003F8C63:1E7FB79C:67449780:vzdump:100:root@pam:"
    parsed = UPID.parse(upid)
    assert (parsed.node, parsed.type, parsed.id, parsed.user) == (
        "node1",
        "vzdump",
        "100",
        "root@pam",
    )
    assert replay.seen == [("POST", "/api2/json/nodes/node1/vzdump")]


def test_vzdump_ok_means_no_task(replay: Replay) -> None:
    client = replay.serve("vzdump-post-ok-guest-elsewhere.community-proxmox-backup.json")
    assert client.vzdump("node3", [100], storage="backup") is None


def test_vzdump_task_status(replay: Replay) -> None:
    client = replay.serve("vzdump-task-status.community-proxmox-backup.json")
    upid = "UPID:node1:003F8C63:1E7FB79C:67449780:vzdump:100:root@pam:"
    status = client.task_status("node1", upid)
    task = task_from(status)
    assert (task.type, task.id, task.status, task.running) == ("vzdump", "100", "OK", False)
    assert task.user == "root@pam"  # the UPID's owner, not the edited `user` field
    assert task.starttime == 1732606253 and task.node == "hypervisor"
    exit_status, _ = TaskRunner(client, poll=0).wait("node1", upid)
    assert exit_status == "OK" and exit_ok(exit_status)


@pytest.mark.parametrize(
    ("name", "count", "last", "results"),
    [
        (
            "vzdump-task-log-lxc-partial.community-proxmox-backup.json",
            7,
            "TASK OK",
            {100: None},
        ),
        (
            "vzdump-task-log-lxc-failed.acdoussan-blog.json",
            18,
            "TASK ERROR: job errors",
            {107: "command 'set -o pipefail && lxc-usernsexec"},
        ),
        (
            "vzdump-task-log-qemu-stop.skyao-learning-pve.json",
            None,
            "TASK OK",
            {102: None},
        ),
        (
            "vzdump-log-qemu-snapshot-stdout.bareos.json",
            24,
            "ERROR: could not notify via target `mail-to-root`: could not notify via endpoint(s):"
            " mail-to-root: no recipients provided for the mail, cannot send it.",
            {112: None},  # a notification error is not a failed guest
        ),
        (
            "task-log-qmigrate-failed.telmate-terraform-provider-proxmox-issue-303.json",
            7,
            "TASK ERROR: migration aborted",
            {},
        ),
        (
            "task-log-vncproxy-termproxy-timeout.go-proxmox-issue-221.json",
            2,
            None,
            {},
        ),
    ],
)
def test_task_logs(
    replay: Replay,
    name: str,
    count: int | None,
    last: str | None,
    results: dict[int, str | None],
) -> None:
    """Lines and total as the client reads them; for vzdump, which guest finished and
    which failed with what reason (the task itself says only "job errors")."""
    expected = [entry["t"] for entry in body(name)["data"]]
    lines, total = replay.serve(name).task_log("node1", "UPID:node1:0:0:0:vzdump::root@pam:")
    assert lines == expected and total == len(expected)
    if count is not None:
        assert len(lines) == count
    if last is not None:
        assert lines[-1] == last
    found = guest_results(lines)
    assert set(found) == set(results)
    for vmid, start in results.items():
        if start is None:
            assert found[vmid] is None
        else:
            reason = found[vmid]
            assert reason is not None and reason.startswith(start)
            assert reason.endswith("failed: exit code 2")


# -- robustness -------------------------------------------------------------------------

HOSTILE = "\x1b]0;owned\x07\x1b[31mevil"


def test_malformed_snapshot_entries_are_skipped() -> None:
    items: list[Any] = [
        "not an object",
        None,
        7,
        {},
        {"name": ""},
        {"name": 5, "snaptime": "1700000000", "vmstate": "1", "description": None},
        {"name": "ok", "snaptime": "soon", "parent": 5},
        {"name": "current", "running": "1", "parent": "ok"},
    ]
    tree, problems = snapshot_tree_from(items)
    assert len(problems) == 5
    assert all(p.startswith("ignored a") for p in problems)
    five = tree.get("5")
    assert five is not None and (five.snaptime, five.vmstate, five.description) == (
        1700000000,
        True,
        "",
    )
    ok = tree.get("ok")
    assert ok is not None and ok.snaptime is None and ok.parent == "5"
    assert tree.current is not None and tree.current.running
    assert [(d, s.name) for d, s in tree.walk()] == [(0, "5"), (1, "ok"), (2, "current")]


def test_a_parent_cycle_cannot_loop() -> None:
    tree, _ = snapshot_tree_from(
        [{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}, {"name": "c", "parent": "c"}]
    )
    assert sorted(s.name for _, s in tree.walk()) == ["a", "b", "c"]


def test_hostile_snapshot_names_print_as_escapes() -> None:
    tree, problems = snapshot_tree_from(
        [{"name": HOSTILE, "description": f"line one {HOSTILE}\nline two", "snaptime": 1}]
    )
    assert problems == [] and tree.snapshots[0].name == HOSTILE  # kept as sent
    text = "\n".join(tree_lines(tree))
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[31mevil" in text and "line two" not in text
    dumped = json.dumps(snapshot_json(tree.snapshots[0]))  # JSON escapes them as \u001b
    assert "\x1b" not in dumped and dumped.count("\\u001b") == 4


def test_malformed_content_entries_are_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    items: list[Any] = [
        ["a list"],
        "text",
        {},
        {"volid": ""},
        {"volid": "no-colon"},
        {"volid": 42},
        {
            "volid": "nfs:backup/vzdump-qemu-101-2026_01_01-00_00_00.vma.zst",
            "size": "1024",
            "ctime": "1767225600",
            "vmid": "101",
            "protected": "1",
            "notes": f"{HOSTILE}\nsecond line",
        },
        {"volid": "nfs:iso/debian.iso", "approximate-size": 2048.0, "protected": 0},
        {"volid": "nfs:vm-101-disk-0", "size": "big", "vmid": "x"},
    ]
    volumes, problems = volumes_from(items)
    assert len(problems) == 6
    backup, iso, disk = volumes
    assert (backup.size, backup.ctime, backup.vmid, backup.protected) == (
        1024,
        1767225600,
        101,
        True,
    )
    assert backup.content == "backup" and backup.notes == HOSTILE  # the first line only
    assert (iso.content, iso.size, iso.protected) == ("iso", 2048, False)
    assert (disk.content, disk.size, disk.vmid) == ("images", None, None)
    snapshot = ClusterSnapshot(ClusterInfo(None, None, None), (), (), Privileges())
    print_content(snapshot, volumes)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[31mevil" in out and "second line" not in out


def test_malformed_storage_resources_are_reported() -> None:
    found = resources_from(
        [
            "junk",
            {"type": "storage"},
            {"type": "storage", "id": "storage/pve-a/local", "disk": "100", "maxdisk": "400"},
            {"type": "storage", "storage": HOSTILE, "node": "pve-a", "content": "backup, iso"},
        ]
    )
    assert len(found.problems) == 2
    local, hostile = found.storages
    assert (local.storage, local.node, local.used, local.total) == ("local", "pve-a", 100, 400)
    assert local.fraction == 0.25 and not local.active
    assert hostile.content == ("backup", "iso")


# -- migration precondition and guest agent ---------------------------------------------


GIB = 1024**3


def _node(name: str, free: int) -> Node:
    return Node(name=name, status="online", mem=64 * GIB - free, maxmem=64 * GIB)


def test_qemu_migrate_precondition_derived(replay: Replay) -> None:
    """Every other node is in not_allowed_nodes; an empty entry means allowed."""
    data = replay.serve("derived/migrate-precondition-qemu.derived.json").migrate_precondition(QEMU)
    assert replay.seen[-1] == ("GET", "/api2/json/nodes/pve1/qemu/100/migrate")
    pre = precondition_from(data)
    assert pre.running and pre.known
    assert pre.allowed == frozenset({"pve2"})
    assert set(pre.not_allowed) == {"pve3"}  # pve2's {} is no reason
    assert pre.blocker("pve2") is None
    assert pre.blocker("pve3") == "storage not available there: local-zfs"
    # The ISO on `local` is a cdrom: only the disk needs --with-local-disks.
    assert pre.local_disks == ("local-zfs:vm-100-disk-0",)
    assert pre.local_resources == ()
    guest = Guest(vmid=100, name="vm", type="qemu", node="pve1", status="running", maxmem=GIB)
    targets = targets_for(
        guest, [_node("pve1", 9), _node("pve2", 8 * GIB), _node("pve3", 32 * GIB)], pre
    )
    assert [(t.node.name, t.allowed) for t in targets] == [("pve2", True), ("pve3", False)]


def test_lxc_migrate_precondition_derived_dashed_keys(replay: Replay) -> None:
    data = replay.serve("derived/migrate-precondition-lxc.derived.json").migrate_precondition(
        Entity("lxc", "pve1", 101)
    )
    pre = precondition_from(data)
    assert pre.running and pre.allowed == frozenset({"pve2", "pve3"})
    assert pre.not_allowed == {} and pre.local_disks == () and pre.local_resources == ()
    assert pre.blocker("pve2") is None and pre.blocker("pve3") is None


def test_agent_network_interfaces_captured(replay: Replay) -> None:
    """Loopback is left out; the guest's real and container addresses stay, with prefix."""
    client = replay.serve("agent-network-get-interfaces.community-proxmox-inventory.json")
    items = client.guest_interfaces(QEMU)
    assert replay.seen[-1] == ("GET", "/api2/json/nodes/pve1/qemu/100/agent/network-get-interfaces")
    found = addresses_from(items)
    assert [(a.interface, a.address, a.family) for a in found] == [
        ("eth0", "10.1.2.3/24", "ipv4"),
        ("eth0", "fd8c:4687:e88d:1be3:5b70:7b88:c79c:293/64", "ipv6"),
        ("docker0", "10.10.2.3/16", "ipv4"),
    ]
    assert found[0].mac == "ff:ff:ff:ff:ff:ff"


def test_agent_network_interfaces_multi_nic_captured(replay: Replay) -> None:
    """Interfaces without addresses (or without a MAC) are no error and give none."""
    client = replay.serve("agent-network-get-interfaces-multi-nic.community-proxmox-inventory.json")
    found = addresses_from(client.guest_interfaces(QEMU))
    names = [a.interface for a in found]
    assert "lo" not in names and "datapath" not in names
    assert ("eth0", "172.16.0.143/24") in [(a.interface, a.address) for a in found]
    assert ("eth1", "10.0.0.133/24") in [(a.interface, a.address) for a in found]
    assert all(a.family in ("ipv4", "ipv6") for a in found)
