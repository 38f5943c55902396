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


# -- bookkeeping -----------------------------------------------------------------------

NOT_COMPARED_YET = {
    "agent-network-get-interfaces.community-proxmox-inventory.json": "issue #13 (migration, agent)",
    "agent-network-get-interfaces-multi-nic.community-proxmox-inventory.json": (
        "issue #13 (migration, agent)"
    ),
    "derived/agent-exec.derived.json": "issue #13 (migration, agent)",
    "derived/migrate-precondition-qemu.derived.json": "issue #13 (migration, agent)",
    "derived/migrate-precondition-lxc.derived.json": "issue #13 (migration, agent)",
    "task-log-qmigrate-failed.telmate-terraform-provider-proxmox-issue-303.json": (
        "issue #13 (migration, agent)"
    ),
    "derived/console-session.derived.json": "issue #14 (console)",
    "derived/termproxy-post.derived.json": "issue #14 (console)",
    "task-log-vncproxy-termproxy-timeout.go-proxmox-issue-221.json": "issue #14 (console)",
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
