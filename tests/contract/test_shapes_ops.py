"""Snapshots, storage and backups: the simulator's answers against real PVE examples.

The examples are in the shared `ops-responses/` folder (captured from third-party test
fixtures and logs, plus a few worked out from PVE's code under `derived/`). As in
test_shapes.py, each comparison checks the keys every example carries, value types on the
wire, and formats: UPIDs, volume ids, `current` last, vzdump's log line shapes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from argus_tui.domain.upid import UPID
from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator
from tests.contract.conftest import Wire
from tests.contract.pve_schema import load_ops_response, require_shared, schema_endpoints, validate
from tests.contract.test_shapes import UPID_RE, compare_items, compare_object, report

MakeSim = Callable[..., Simulator]


def ops_data(*names: str) -> list[Any]:
    return [load_ops_response(name)["data"] for name in names]


def ops_items(*names: str) -> list[dict[str, Any]]:
    return [item for data in ops_data(*names) for item in data]


def _kind(item: dict[str, Any]) -> str:
    return "current" if item["name"] == "current" else "snapshot"


def _snapshots(wire: Wire, path: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = wire.get(f"{path}/snapshot")
    return listed


def _until_done(sim: Simulator, wire: Wire, upid: str) -> dict[str, Any]:
    node = UPID.parse(upid).node
    for _ in range(60):
        status: dict[str, Any] = wire.get(f"/nodes/{node}/tasks/{upid}/status")
        if status["status"] == "stopped":
            return status
        sim.advance(5)
    raise AssertionError(f"{upid} did not finish")


def _log(wire: Wire, upid: str) -> list[str]:
    node = UPID.parse(upid).node
    return [line["t"] for line in wire.get(f"/nodes/{node}/tasks/{upid}/log", limit=0)]


# -- snapshots -------------------------------------------------------------------------


def test_snapshot_list_qemu(make_sim: MakeSim) -> None:
    """qemu: vmstate 0/1 on every snapshot, `snapstate` while unfinished, `current` last."""
    examples = ops_items(
        "snapshot-list-qemu.community-proxmox-inventory.json",
        "derived/snapshot-list-qemu.derived.json",
    )
    sim = make_sim()
    wire = Wire(sim, sim.token_id, sim.token_secret)
    path = "/nodes/pve-a/qemu/102"
    wire.envelope("POST", f"{path}/snapshot", snapname="nightly", vmstate=1)
    ours = _snapshots(wire, path)
    problems = compare_items(examples, ours, "qemu snapshot", group=_kind)
    problems += _current_last(ours)
    if not any(item.get("snapstate") == "prepare" for item in ours):
        problems.append("the snapshot being taken has no snapstate 'prepare'")
    report(problems)


def test_snapshot_list_lxc(wire: Wire) -> None:
    """lxc: no vmstate key at all; `current` carries digest, running and its parent."""
    examples = ops_items("snapshot-list-lxc.go-proxmox-pve7x.json")
    ours = _snapshots(wire, "/nodes/pve-b/lxc/201")
    problems = compare_items(examples, ours, "lxc snapshot", group=_kind)
    problems += _current_last(ours)
    problems += [f"{s['name']}: lxc has no vmstate" for s in ours if "vmstate" in s]
    report(problems)


def _current_last(items: list[dict[str, Any]]) -> list[str]:
    names = [item["name"] for item in items]
    current = items[-1]
    problems = [] if names.count("current") == 1 and names[-1] == "current" else [str(names)]
    if current.get("description") != "You are here!":
        problems.append(f"current description {current.get('description')!r}")
    if not re.fullmatch(r"[0-9a-f]{40}", str(current.get("digest"))):
        problems.append(f"current digest {current.get('digest')!r} is not a SHA-1")
    return problems


# -- storage ---------------------------------------------------------------------------


def test_storage_list(wire: Wire) -> None:
    """`GET /storage`: content as a comma string, 0/1 flags, one digest on every entry."""
    examples = ops_items("storage-list.community-proxmox-backup.json")
    ours = wire.get("/storage")
    problems = compare_items(examples, ours, "storage")
    digests = {entry["digest"] for entry in ours}
    if len(digests) != 1:
        problems.append(f"storage.cfg has one digest, the list shows {digests}")
    for entry in ours:
        if not re.fullmatch(r"[a-z]+(,[a-z]+)*", entry["content"]):
            problems.append(f"{entry['storage']}: content {entry['content']!r}")
        if entry.get("shared", 1) != 1:
            problems.append(f"{entry['storage']}: shared is absent or 1, got {entry['shared']}")
    report(problems)


def test_storage_content_backups_on_a_directory_storage(wire: Wire) -> None:
    """Backups on an NFS (dir-like) storage, as the derived dir example lists them."""
    examples = ops_items("derived/storage-content-backup-dir.derived.json")
    ours = wire.get("/nodes/pve-a/storage/nas-backup/content", content="backup")
    problems = compare_items(examples, ours, "content")
    name = re.compile(
        r"^nas-backup:backup/vzdump-(qemu|lxc)-(\d+)-(\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d)"
    )
    for item in ours:
        match = name.match(item["volid"])
        if match is None:
            problems.append(f"{item['volid']} is not named as vzdump names it")
            continue
        stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.gmtime(item["ctime"]))
        if (match[1], int(match[2]), match[3]) != (item["subtype"], item["vmid"], stamp):
            problems.append(f"{item['volid']}: subtype/vmid/ctime {item}")
        if item.get("protected", 1) != 1:
            problems.append(f"{item['volid']}: protected is 1 or absent, got {item['protected']}")
    if not any("protected" in item for item in ours):
        problems.append("the demo has no protected backup")
    report(problems)


def _pbs_sim(make_sim: MakeSim) -> Simulator:
    data = demo_data()
    data["storage"].append({"id": "pbs-store", "type": "pbs", "content": ["backup"]})
    for guest in data["guest"]:
        if guest["vmid"] in (102, 201):
            guest["backups"] = [{"storage": "pbs-store", "ago": ago} for ago in (3600, 90000)]
    return make_sim(data)


def test_storage_content_on_pbs(make_sim: MakeSim) -> None:
    """PBS: `<storage>:backup/<vm|ct>/<vmid>/<UTC>Z`, format pbs-vm / pbs-ct."""
    examples = ops_items("storage-content-backup-pbs.community-proxmox-storage-contents-info.json")
    sim = _pbs_sim(make_sim)
    wire = Wire(sim, sim.token_id, sim.token_secret)
    ours = wire.get("/nodes/pve-a/storage/pbs-store/content")
    problems = compare_items(examples, ours, "pbs content")
    for item in ours:
        group = "vm" if item["subtype"] == "qemu" else "ct"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(item["ctime"]))
        if item["volid"] != f"pbs-store:backup/{group}/{item['vmid']}/{stamp}":
            problems.append(f"{item['volid']} (ctime {item['ctime']})")
        if item["format"] != f"pbs-{group}":
            problems.append(f"{item['volid']}: format {item['format']}")
    if {item["vmid"] for item in ours} != {102, 201}:
        problems.append(f"PBS holds {sorted({i['vmid'] for i in ours})}")
    report(problems)


# -- vzdump ----------------------------------------------------------------------------


def test_vzdump_answers_a_upid_or_ok(make_sim: MakeSim) -> None:
    """A UPID naming the one guest; the bare string "OK" when it runs on another node."""
    upid_example = load_ops_response("vzdump-post-upid.community-proxmox-backup.json")
    ok_example = load_ops_response("vzdump-post-ok-guest-elsewhere.community-proxmox-backup.json")
    assert UPID_RE.match(upid_example["data"]) and ok_example == {"data": "OK"}
    sim = make_sim()
    wire = Wire(sim, sim.token_id, sim.token_secret)
    schema = schema_endpoints()[("POST", "/nodes/{node}/vzdump")]["returns"]
    body = wire.envelope("POST", "/nodes/pve-a/vzdump", vmid=106, storage="nas-backup")
    problems = validate(body["data"], schema)
    if set(body) != set(upid_example) or not UPID_RE.match(body["data"]):
        problems.append(f"vzdump answered {body}")
    parsed = UPID.parse(body["data"])
    if (parsed.node, parsed.type, parsed.id) != ("pve-a", "vzdump", "106"):
        problems.append(f"UPID {parsed}")
    elsewhere = wire.envelope("POST", "/nodes/pve-b/vzdump", vmid=106, storage="nas-backup")
    if elsewhere != ok_example:
        problems.append(f"guest elsewhere: {elsewhere}")
    several = wire.envelope("POST", "/nodes/pve-a/vzdump", vmid="106,203", storage="nas-backup")
    if UPID.parse(several["data"]).id != "":
        problems.append(f"a job of two guests has an empty id: {several['data']}")
    report(problems)


def test_vzdump_task_status(make_sim: MakeSim) -> None:
    example = load_ops_response("vzdump-task-status.community-proxmox-backup.json")["data"]
    sim = make_sim()
    wire = Wire(sim, sim.token_id, sim.token_secret)
    upid = wire.envelope("POST", "/nodes/pve-a/vzdump", vmid=106, storage="nas-backup")["data"]
    ours = _until_done(sim, wire, upid)
    problems = compare_object([example], ours, "vzdump status")
    if (ours["type"], ours["id"], ours["exitstatus"]) != ("vzdump", "106", "OK"):
        problems.append(f"status {ours}")
    report(problems)


# Line shapes of real vzdump logs: a simulated log line must have one of these shapes,
# and each shape a real log shows for a situation must be in ours for that situation.
_SIZE = r"\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)"
SHAPES = {
    "job start": r"INFO: starting new backup job: vzdump( \d+)*( --\S+ \S+)*",
    "guest start": r"INFO: Starting Backup of VM \d+ \((qemu|lxc)\)",
    "started at": r"INFO: Backup started at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    "status": r"INFO: status = (running|stopped)",
    "name": r"INFO: (VM|CT) Name: \S+",
    "disk": r"INFO: include disk '\w+' '\S+' \d+[KMGT]",
    "mount point": r"INFO: including mount point rootfs \('/'\) in backup",
    "mode": r"INFO: backup mode: (snapshot|suspend|stop)",
    "ionice": r"INFO: ionice priority: \d",
    "stopping": r"INFO: stopping virtual guest",
    "archive": r"INFO: creating vzdump archive '/\S+/vzdump-(qemu|lxc)-\d+-[\d_-]+\.(vma|tar)\S*'",
    "template": r"INFO: starting template backup",
    "progress": rf"INFO: +\d+% \({_SIZE} of {_SIZE}\) in \d+s, read: {_SIZE}/s, write: {_SIZE}/s",
    "sparse": rf"INFO: backup is sparse: {_SIZE} \(\d+%\) total zero data",
    "transferred": rf"INFO: transferred {_SIZE} in \d+ seconds \({_SIZE}/s\)",
    "size": r"INFO: archive file size: \d+(\.\d+)?(KB|MB|GB|TB)",
    "notes": r"INFO: adding notes to backup",
    "restarting": r"INFO: restarting vm",
    "online again": r"INFO: guest is online again after <?\d+ seconds",
    "guest failed": r"ERROR: Backup of VM \d+ failed - .+",
    "failed at": r"INFO: Failed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    "guest done": r"INFO: Finished Backup of VM \d+ \(\d\d:\d\d:\d\d\)",
    "finished at": r"INFO: Backup finished at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    "job ok": r"INFO: Backup job finished successfully",
    "job errors": r"INFO: Backup job finished with errors",
    "task ok": r"TASK OK",
    "task error": r"TASK ERROR: job errors",
    # Seen in real logs, written by PVE code the captures do not show.
    "started task": r"INFO: started backup task '[0-9a-f-]{36}'",
    "resuming": r"INFO: resuming VM again",
    "kvm": r"INFO: starting kvm to execute backup task",
    "snapshot": r"INFO: create storage snapshot 'vzdump'",
    "snapshot cleanup": r"INFO: cleanup temporary 'vzdump' snapshot",
    "tar totals": r"INFO: Total bytes written: \d+ \(\S+, \S+/s\)",
    "prune": r"INFO: prune older backups with retention: keep-\w+=\d+(, keep-\w+=\d+)*",
    "pruned": r"INFO: pruned \d+ backup\(s\)( not covered by keep-retention policy)?",
    "removing": r"INFO: removing backup '\S+'",
}
# Real lines matching none of these are output the simulator does not imitate (vma's and
# tar's own messages, TPM and EFI disk details, notification errors).


def _shapes(lines: Iterable[str]) -> set[str]:
    found = set()
    for line in lines:
        for name, pattern in SHAPES.items():
            if re.fullmatch(pattern, line):
                found.add(name)
    return found


def _unknown(lines: Iterable[str]) -> list[str]:
    return [ln for ln in lines if not any(re.fullmatch(p, ln) for p in SHAPES.values())]


def _real(name: str) -> list[str]:
    return [line["t"] for line in ops_data(name)[0]]


def test_vzdump_log_lines_have_pve_shapes(make_sim: MakeSim) -> None:
    """Every line we write has a real shape; each real log's shapes appear in ours."""
    data = demo_data()
    data["guest"] = [g for g in data["guest"] if g["vmid"] in (106, 110, 203, 207, 9000)]
    data["guest"].append(
        {"vmid": 300, "type": "lxc", "name": "locked-ct", "node": "pve-a", "lock": "mounted"}
    )
    for guest in data["guest"]:
        guest.pop("snapshots", None)
    sim = make_sim(data)
    wire = Wire(sim, sim.token_id, sim.token_secret)

    def backup(node: str, **params: Any) -> list[str]:
        upid = wire.envelope("POST", f"/nodes/{node}/vzdump", storage="nas-backup", **params)
        _until_done(sim, wire, upid["data"])
        return _log(wire, upid["data"])

    notes = {"notes-template": "{{guestname}}"}
    cases = {
        # (our log, real log, shapes of the real log we leave out)
        "qemu snapshot": (
            backup("pve-a", vmid=106, **notes),
            _real("vzdump-log-qemu-snapshot-stdout.bareos.json"),
            {"task ok"},  # the bareos capture is vzdump's stderr, without the task's end
        ),
        "qemu stopped template": (
            backup("pve-a", vmid=9000, mode="stop", remove=0, **notes),
            _real("vzdump-task-log-qemu-stop.skyao-learning-pve.json"),
            set(),
        ),
        "lxc snapshot": (
            backup("pve-a", vmid=203, **notes),
            _real("vzdump-task-log-lxc-partial.community-proxmox-backup.json"),
            set(),
        ),
        "lxc stop, failed": (
            backup("pve-a", vmid="207,300", mode="stop", **notes),
            _real("vzdump-task-log-lxc-failed.acdoussan-blog.json"),
            {"stopping", "restarting", "online again"},  # 207 is stopped: nothing to stop
        ),
    }
    problems: list[str] = []
    for label, (ours, real, skip) in cases.items():
        problems += [f"{label}: unknown line shape {line!r}" for line in _unknown(ours)]
        missing = _shapes(real) - _shapes(ours) - skip
        problems += [f"{label}: no {shape!r} line, PVE writes one" for shape in sorted(missing)]
    assert cases["lxc stop, failed"][0][-1] == "TASK ERROR: job errors"
    report(problems)


# -- error texts -----------------------------------------------------------------------


def test_error_texts_match_the_ops_catalogue(make_sim: MakeSim) -> None:
    """Snapshot and backup failures end with the texts the derived catalogue gives."""
    catalogue = {
        (c["op"], c["case"]): c["text"]
        for c in load_ops_response("derived/ops-errors.derived.json")["cases"]
    }
    sim = make_sim()
    wire = Wire(sim, sim.token_id, sim.token_secret)

    def task(method: str, path: str, **params: Any) -> str:
        upid = wire.envelope(method, path, **params)["data"]
        return str(_until_done(sim, wire, upid)["exitstatus"])

    def http(method: str, path: str, **params: Any) -> str:
        return wire.request(method, path, params).reason

    vm, ct = "/nodes/pve-a/qemu/102", "/nodes/pve-b/lxc/201"
    wire.envelope("POST", f"{ct}/snapshot", snapname="taking")
    incomplete = task("POST", f"{ct}/snapshot/taking/rollback")  # before "taking" is done
    task("POST", f"{vm}/snapshot", snapname="before-upgrade")
    protected = quote(_protected_backup(wire), safe="")
    # (op, case) of the catalogue -> what the simulator answers, with its own names
    ours = {
        (
            "POST snapshot",
            "name 'current' (qemu/lxc), 'pending' (qemu, case-insensitive), 'vzdump' (lxc)",
        ): http("POST", f"{vm}/snapshot", snapname="current"),
        ("POST snapshot", "name exists"): task("POST", f"{vm}/snapshot", snapname="before-upgrade"),
        (
            "POST snapshot",
            "a disk on a storage/format without snapshots (e.g. raw on dir/NFS)",
        ): task("POST", "/nodes/pve-b/qemu/113/snapshot", snapname="s1"),
        ("POST snapshot / rollback / delete", "guest locked"): task(
            "POST", "/nodes/pve-b/qemu/104/snapshot", snapname="s1"
        ),
        ("POST snapshot", "template"): task(
            "POST", "/nodes/pve-a/qemu/9000/snapshot", snapname="s1"
        ),
        ("DELETE snapshot / rollback", "unknown name"): task("DELETE", f"{vm}/snapshot/nope"),
        ("GET snapshot/{name}/config", "unknown name"): http("GET", f"{vm}/snapshot/nope/config"),
        ("rollback", "incomplete snapshot"): incomplete,
        ("POST vzdump", "guest not on {node}"): 'data = "OK" (no task!)'
        if wire.envelope("POST", "/nodes/pve-b/vzdump", vmid=106)["data"] == "OK"
        else "a task",
        ("POST vzdump mode=stop", "HA-managed guest in state started"): _guest_error(
            sim, wire, "/nodes/pve-a/vzdump", vmid=100, mode="stop", storage="nas-backup"
        ),
        ("DELETE content/{volume}", "protected backup"): task(
            "DELETE", f"/nodes/pve-a/storage/nas-backup/content/{protected}"
        ),
    }
    problems: list[str] = []
    for key, got in ours.items():
        want = catalogue.get(key)
        if want is None:
            problems.append(f"{key} is not in the catalogue")
        elif not _same_text(want, got):
            problems.append(f"{key}: simulator {got!r}, catalogue {want!r}")
    report(problems)


def _same_text(catalogue: str, ours: str) -> bool:
    """The catalogue's text with its example names ('x', 'local', '...') as wildcards.

    (A one-letter snapshot name is not even a valid name: PVE answers it with a 400.)
    """
    if ours in {part.strip() for part in catalogue.split("  /  ")}:
        return True
    pattern = re.escape(catalogue).replace(r"\.\.\.", ".+").replace("local", r"\S+")
    pattern = pattern.replace("'x'", "'[^']+'")
    return bool(re.fullmatch(pattern, ours))


def _guest_error(sim: Simulator, wire: Wire, path: str, **params: Any) -> str:
    """The reason of the job's `ERROR: Backup of VM <id> failed - <reason>` line."""
    upid = wire.envelope("POST", path, **params)["data"]
    assert _until_done(sim, wire, upid)["exitstatus"] == "job errors"
    failed = next(line for line in _log(wire, upid) if line.startswith("ERROR: Backup of VM"))
    return failed.split(" failed - ", 1)[1]


def _protected_backup(wire: Wire) -> str:
    items = wire.get("/nodes/pve-a/storage/nas-backup/content", content="backup")
    return str(next(item["volid"] for item in items if item.get("protected")))


# -- migration ---------------------------------------------------------------------------


def _migration_sim(make_sim: MakeSim) -> tuple[Simulator, Wire]:
    """The demo plus a local ZFS storage on two of its three nodes, with a VM on it."""
    data = demo_data()
    data["storage"].append(
        {"id": "local-zfs", "type": "zfspool", "content": ["images"], "nodes": ["pve-a", "pve-b"]}
    )
    data["guest"].append(
        {"vmid": 120, "type": "qemu", "node": "pve-a", "status": "running", "memory": "4G",
         "disk_storage": "local-zfs", "agent": True, "ips": ["10.10.9.20/24"]}
    )  # fmt: skip
    sim = make_sim(data)
    return sim, Wire(sim, sim.token_id, sim.token_secret)


def test_migrate_precondition_qemu(make_sim: MakeSim) -> None:
    """Every other node in not_allowed_nodes ({} when allowed); local disks in PVE's shape."""
    example = ops_data("derived/migrate-precondition-qemu.derived.json")[0]
    _, wire = _migration_sim(make_sim)
    schema = schema_endpoints()[("GET", "/nodes/{node}/qemu/{vmid}/migrate")]["returns"]
    problems: list[str] = []
    for vmid in (120, 101, 109):
        ours = wire.get(f"/nodes/pve-a/qemu/{vmid}/migrate" if vmid != 109 else
                        "/nodes/pve-c/qemu/109/migrate")  # fmt: skip
        where = f"qemu {vmid} precondition"
        problems += validate(ours, schema)
        problems += compare_object(
            [example], ours, where, opaque=("not_allowed_nodes", "mapped-resource-info")
        )
        problems += compare_items(
            example["local_disks"],
            ours["local_disks"],
            f"{where} local_disks",
            group=lambda d: "cdrom" if d["cdrom"] else "disk",
            groups_needed=False,
        )
        others = {
            n for n in ("pve-a", "pve-b", "pve-c") if n != ("pve-c" if vmid == 109 else "pve-a")
        }
        if set(ours["not_allowed_nodes"]) != others:
            problems.append(f"{where}: not_allowed_nodes {ours['not_allowed_nodes']}")
        allowed = [n for n, why in ours["not_allowed_nodes"].items() if not why]
        if ours["allowed_nodes"] != allowed:
            problems.append(f"{where}: allowed {ours['allowed_nodes']}, empty entries {allowed}")
    zfs = wire.get("/nodes/pve-a/qemu/120/migrate")["not_allowed_nodes"]
    if zfs != {"pve-b": {}, "pve-c": {"unavailable_storages": ["local-zfs"]}}:
        problems.append(f"local-zfs VM: {zfs}")
    if wire.get("/nodes/pve-c/qemu/109/migrate")["local_resources"] != ["usb0"]:
        problems.append("109's USB device is not a local resource")
    report(problems)


def test_migrate_precondition_lxc(wire: Wire) -> None:
    """PVE 9's container precondition: dashed keys, HA blockers only."""
    example = ops_data("derived/migrate-precondition-lxc.derived.json")[0]
    ours = wire.get("/nodes/pve-b/lxc/201/migrate")
    problems = compare_object([example], ours, "lxc precondition")
    if ours["allowed-nodes"] != ["pve-a", "pve-c"] or ours["not-allowed-nodes"] != {}:
        problems.append(f"lxc precondition {ours}")
    report(problems)


def _nic_kind(item: Any) -> str:
    if item["name"] in ("lo", "Loopback Pseudo-Interface 1"):
        return "loopback"
    return "addressed" if "ip-addresses" in item else "bare"


def test_agent_network_get_interfaces(make_sim: MakeSim) -> None:
    """`{"result": [...]}` with lo and the NIC: MAC, typed addresses with prefixes, counters."""
    names = (
        "agent-network-get-interfaces.community-proxmox-inventory.json",
        "agent-network-get-interfaces-multi-nic.community-proxmox-inventory.json",
    )
    examples = [item for data in ops_data(*names) for item in data["result"]]
    _, wire = _migration_sim(make_sim)
    problems: list[str] = []
    for path in ("/nodes/pve-a/qemu/120", "/nodes/pve-a/qemu/101", "/nodes/pve-a/qemu/106"):
        body = wire.get(f"{path}/agent/network-get-interfaces")
        if set(body) != {"result"}:
            problems.append(f"{path}: {sorted(body)}")
        ours = body["result"]
        problems += compare_items(examples, ours, path, group=_nic_kind, groups_needed=False)
        real_addresses = [a for item in examples for a in item.get("ip-addresses", [])]
        our_addresses = [a for item in ours for a in item["ip-addresses"]]
        problems += compare_items(real_addresses, our_addresses, f"{path} ip-addresses")
        for address in our_addresses:
            if address["ip-address-type"] not in ("ipv4", "ipv6"):
                problems.append(f"{path}: {address}")
        if not any(_nic_kind(i) == "loopback" for i in ours):
            problems.append(f"{path}: no loopback interface")
    report(problems)


# Shapes of qmigrate log lines (after AbstractMigrate's time stamp): each line we write has
# one, and the real failed log's shapes appear in ours for the same failure.
_STAMP = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d )?"
MIGRATION_SHAPES = {
    "start": r"starting migration of VM \d+ to node '\S+' \([\d.]+\)",
    "found disk": r"found local disk '\S+' \((in current VM config|attached"
    r"|referenced by snapshot\(s\))\)",
    "disk problem": r"can't migrate local disk '\S+': .+",
    "scan failed": r"ERROR: (Failed to sync data|Problem found while scanning volumes)"
    r" - can't migrate VM - check log",
    "abort phase 1": r"aborting phase 1 - cleanup resources",
    "aborted": r"ERROR: migration aborted \(duration \d\d:\d\d:\d\d\): .+",
    "task error": r"TASK ERROR: migration (aborted|problems)",
    "task ok": r"TASK OK",
    "finished": r"migration finished successfully \(duration \d\d:\d\d:\d\d\)",
    "problems": r"ERROR: migration finished with problems \(duration \d\d:\d\d:\d\d\)",
    # written by PVE code the capture does not show (QemuMigrate phase 2, pve-storage)
    "conntrack": r"conntrack state migration not supported or disabled,"
    r" active connections might get dropped",
    "remote start": r"starting VM \d+ on remote node '\S+'",
    "tunnel": r"(start remote tunnel|ssh tunnel ver 1)",
    "live": r"starting online/live migration on unix:/run/qemu-server/\d+\.migrate",
    "caps": r"(set migration capabilities|set migration parameters)",
    "downtime": r"migration downtime limit: \d+ ms",
    "cache": r"migration cachesize: [\d.]+ (KiB|MiB|GiB)",
    "migrate command": r"start migrate command to unix:/run/qemu-server/\d+\.migrate",
    "progress": r"migration active, transferred [\d.]+ (B|KiB|MiB|GiB) of [\d.]+ (MiB|GiB|TiB)"
    r" VM-state, [\d.]+ (KiB|MiB|GiB)/s",
    "average": r"average migration speed: [\d.]+ (MiB|GiB)/s - downtime \d+ ms",
    "completed": r"migration completed, transferred [\d.]+ (MiB|GiB|TiB) VM-state",
    "status": r"migration status: completed",
    "volume map": r"volume '\S+' is '\S+' on the target",
    "storage migration": r"starting storage migration",
    "nbd": r"scsi0: start migration to nbd:unix:/run/qemu-server/\d+_nbd\.migrate"
    r":exportname=drive-scsi0",
    "mirror start": r"drive mirror is starting for drive-scsi0",
    "mirrors ready": r"all 'mirror' jobs are ready",
    "synced mode": r"switching mirror jobs to actively synced mode",
    "mirror progress": r"drive-scsi0: transferred [\d.]+ (B|KiB|MiB|GiB|TiB) of [\d.]+ (GiB|TiB)"
    r" \([\d.]+%\) in (\d+h )?(\d+m )?\d+s(, ready)?",
    "mirror job": r"drive-scsi0: (switching to actively synced mode"
    r"|successfully switched to actively synced mode|Completing block job\.\.\."
    r"|Completed successfully\.|mirror-job finished)",
    "nbd stop": r"stopping NBD storage migration server on target\.",
    "copying": r"copying local disk images",
    "lv created": r"  Logical volume \"\S+\" created\.",
    "copied": r"\d+ bytes \([\d.]+ GB, [\d.]+ GiB\) copied, \d+ s, \d+ MB/s",
    "new volume": r"new volume ID is '\S+'",
    "interrupted": r"ERROR: (online migrate failure - )?interrupted by signal",
    "abort phase 2": r"(aborting phase 2 - cleanup resources|migrate_cancel)",
}


def _migration_shapes(lines: Iterable[str]) -> set[str]:
    return {
        name
        for line in lines
        for name, pattern in MIGRATION_SHAPES.items()
        if re.fullmatch(_STAMP + pattern, line)
    }


def test_qmigrate_log_lines_have_pve_shapes(make_sim: MakeSim) -> None:
    """The real failed migration's lines, and every line of ours, have known shapes."""
    real = _real("task-log-qmigrate-failed.telmate-terraform-provider-proxmox-issue-303.json")
    sim, wire = _migration_sim(make_sim)

    def migrate(
        vmid: int, node: str = "pve-a", kill_after: float | None = None, **params: Any
    ) -> list[str]:
        target = "pve-a" if node == "pve-b" else "pve-b"
        path = f"/nodes/{node}/qemu/{vmid}/migrate"
        upid = wire.envelope("POST", path, target=target, **params)["data"]
        if kill_after is not None:
            sim.advance(kill_after)
            wire.envelope("DELETE", f"/nodes/{node}/tasks/{upid}")
        _until_done(sim, wire, upid)
        return _log(wire, upid)

    failed = migrate(120, online=1)
    runs = {
        "local disk, no with-local-disks": failed,
        "live with local disk": migrate(120, online=1, **{"with-local-disks": 1}),
        "offline, local disk": migrate(105, "pve-c"),
        "stopped while live": migrate(101, kill_after=4.0, online=1, **{"with-local-disks": 1}),
        "stopped while copying": migrate(110, "pve-b", kill_after=1.0),
    }
    problems: list[str] = []
    for label, ours in runs.items():
        for line in ours:
            if not any(re.fullmatch(_STAMP + p, line) for p in MIGRATION_SHAPES.values()):
                problems.append(f"{label}: unknown line shape {line!r}")
    missing = _migration_shapes(real) - _migration_shapes(failed)
    problems += [f"failed run: no {shape!r} line, PVE writes one" for shape in sorted(missing)]
    if not re.fullmatch(_STAMP + MIGRATION_SHAPES["start"], real[0]):
        problems.append(f"the real log's first line {real[0]!r} has no known shape")
    if failed[-1] != real[-1]:
        problems.append(f"failed run ends {failed[-1]!r}, PVE {real[-1]!r}")
    report(problems)


# -- bookkeeping -----------------------------------------------------------------------

NOT_COMPARED_YET = {
    "derived/agent-exec.derived.json": "agent exec is not simulated (issue #13: read commands)",
}


def test_every_ops_example_is_compared() -> None:
    """Each ops example is compared here or in the client's mapping tests, or has a reason."""
    folder: Path = require_shared("ops-responses")
    here = Path(__file__).parent
    sources = [*here.glob("test_shapes*.py"), here.parent / "pve" / "test_ops_mapping.py"]
    text = "\n".join(p.read_text("utf-8") for p in sources if p.exists())
    named = set(re.findall(r"[\"']((?:derived/)?[\w.-]+\.json)[\"']", text))
    files = {str(p.relative_to(folder)) for p in folder.rglob("*.json")}
    missing = sorted(files - named - set(NOT_COMPARED_YET))
    assert not missing, f"ops examples nobody compares: {missing}"
    stale = sorted(set(NOT_COMPARED_YET) - files)
    assert not stale, f"NOT_COMPARED_YET names files that do not exist: {stale}"
