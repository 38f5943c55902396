"""What Argus writes under its data folder is 0600 in a 0700 folder whatever the umask;
looser files and folders are tightened with a notice; one Argus cannot tighten is said
and left as it was. Real files, real SQLite, a permissive umask set on purpose."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from argus_tui.services.console import ConsoleMemo
from argus_tui.store import ActionRecord, open_history, secure_own_folders
from argus_tui.store.private import tighten_all
from argus_tui.store.sqlite import SqliteHistory
from tests.store.helpers import T0, guest, snapshot

CLOSED = "postgresql://argus@127.0.0.1:9/argus"  # nothing listens on the discard port


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes(folder: Path) -> dict[str, int]:
    """Every path under `folder` (itself as "."), with its mode."""
    out = {".": mode(folder)}
    for root, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            path = Path(root, name)
            out[str(path.relative_to(folder))] = mode(path)
    return out


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """002: what many distributions give users; files would be 0664, folders 0775."""
    old = os.umask(0o002)
    yield
    os.umask(old)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data folder of this test (XDG_DATA_HOME under tmp_path), not created yet."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "share" / "argus"


def action(vmid: int) -> ActionRecord:
    return ActionRecord(
        ts=T0, profile="p", token_id="argus@pve!tui", vmid=vmid, guest=f"g{vmid}",
        node="pve1", action="stop", upid=f"UPID:pve1:{vmid:08X}:x", result="OK", duration=1.5,
    )  # fmt: skip


@pytest.mark.usefixtures("permissive_umask")
def test_everything_a_session_writes_is_private_whatever_the_umask(data: Path) -> None:
    history = open_history(auto_prune=False)
    history.record_snapshot(snapshot([guest(101), guest(102)]), "p", ts=T0)
    history.record_action(action(101))
    history.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 60)
    # While it is open the history has its write-ahead log and shared memory beside it.
    assert {"history.db", "history.db-wal", "history.db-shm"} <= set(modes(data))
    ConsoleMemo().remember("10.0.0.1:8006", "8.2.4", shell=False, refused=True)
    team = open_history(url=CLOSED, timeout=1)  # away: the action is kept in the spool
    team.record_action(action(102))
    team.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    team.close()  # the refresh it could not record is kept too
    found = modes(data)
    expected = {
        "history.db",
        "history.db-wal",
        "history.db-shm",
        "console.json",
        "history-spool.jsonl",
        "history-spool-snapshots.json",
        "history-spool.lock",
    }
    assert set(found) - {"."} == expected
    assert found == {".": 0o700} | dict.fromkeys(expected, 0o600)
    assert ConsoleMemo().refused("10.0.0.1:8006", "8.2.4", shell=False)
    assert team.take_warnings() == []  # created private: nothing to say
    history.close()


@pytest.mark.usefixtures("permissive_umask")
def test_a_loose_database_and_its_side_files_are_tightened_once_with_a_notice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.db"
    first = SqliteHistory(path, auto_prune=False)
    first.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    for side in ("", "-wal", "-shm"):
        Path(f"{path}{side}").chmod(0o644)  # as an older Argus left them under umask 022
    first.close()  # closing removes the -wal and -shm (and keeps the database's mode)
    assert mode(path) == 0o644
    store = SqliteHistory(path, auto_prune=False)
    assert store.guest_series("p", 101, "cpu", 0) == [(T0, 0.5)]  # its rows are all there
    assert store.take_warnings() == [f"made {path} private to its owner: mode 0644 -> 0600"]
    store.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 60)
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == {
        "history.db": 0o600,
        "history.db-wal": 0o600,
        "history.db-shm": 0o600,
    }
    assert store.take_warnings() == []
    store.close()
    again = SqliteHistory(path, auto_prune=False)
    again.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 120)
    assert again.take_warnings() == []  # said once: the file is private now
    again.close()


def test_a_loose_spool_is_tightened_and_said_with_the_team_history_warnings(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "spool"
    folder.mkdir()
    folder.chmod(0o755)
    spool = folder / "history-spool.jsonl"
    spool.write_text(
        json.dumps({"kind": "action", "record": dataclasses.asdict(action(101))}) + "\n"
    )
    spool.chmod(0o644)
    team = open_history(url=CLOSED, spool_dir=folder, timeout=1)
    team.record_action(action(102))  # away: kept, after the line already there
    assert team.take_warnings() == [
        f"made {folder} private to its owner: mode 0755 -> 0700",
        f"made {spool} private to its owner: mode 0644 -> 0600",
    ]
    kept = [json.loads(line)["record"]["vmid"] for line in spool.read_text().splitlines()]
    assert kept == [101, 102] and mode(spool) == 0o600
    team.record_action(action(103))
    assert team.take_warnings() == []
    team.close()


def test_the_data_and_cache_folders_are_tightened_with_one_line_each(data: Path) -> None:
    data.mkdir(parents=True, mode=0o755)
    data.chmod(0o755)
    (data / "history.db").write_bytes(b"")
    (data / "history.db").chmod(0o644)
    (data / "console.json").write_text("{}")
    (data / "console.json").chmod(0o664)
    (data / "nested").mkdir(mode=0o775)
    (data / "nested").chmod(0o775)
    (data / "nested" / "old.db").write_bytes(b"x")
    (data / "nested" / "old.db").chmod(0o640)
    (data / "private.json").write_text("{}")
    (data / "private.json").chmod(0o600)
    outside = data.parent / "elsewhere.txt"
    outside.write_text("not Argus's")
    outside.chmod(0o644)
    (data / "link").symlink_to(outside)  # a link is not followed
    cache = data.parent.parent / "cache" / "argus"
    cache.mkdir(parents=True)
    cache.chmod(0o755)
    notices = secure_own_folders()
    texts = [n.text for n in notices]
    assert texts[0] == f"made {data} private to its owner: mode 0755 -> 0700"
    assert sorted(texts) == sorted(
        [
            f"made {data} private to its owner: mode 0755 -> 0700",
            f"made {data / 'console.json'} private to its owner: mode 0664 -> 0600",
            f"made {data / 'history.db'} private to its owner: mode 0644 -> 0600",
            f"made {data / 'nested'} private to its owner: mode 0775 -> 0700",
            f"made {data / 'nested' / 'old.db'} private to its owner: mode 0640 -> 0600",
            f"made {cache} private to its owner: mode 0755 -> 0700",
        ]
    )
    assert not any(n.problem for n in notices)
    assert mode(outside) == 0o644 and mode(data / "private.json") == 0o600
    assert secure_own_folders() == []  # the next run has nothing to say


def test_folders_that_do_not_exist_are_not_created_by_the_check(data: Path) -> None:
    assert secure_own_folders() == []
    assert not data.exists() and not (data.parent.parent / "cache" / "argus").exists()


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can enter (tmp_path's parents are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="argus-private-"))
    path.chmod(0o755)
    yield path
    for root, dirs, files in os.walk(path, topdown=False):
        for name in files:
            Path(root, name).unlink()
        for name in dirs:
            Path(root, name).rmdir()
    path.rmdir()


NOBODY = 65534


def as_nobody(fn: Callable[[], object]) -> object:
    """fn's JSON-able result, run in a forked child as nobody: file modes then apply."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = {"ok": fn()}
        except BaseException as exc:
            result = {"error": f"{type(exc).__name__}: {exc}"}
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        out = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert "ok" in out, out
    return out["ok"]


@pytest.mark.skipif(os.geteuid() != 0, reason="handing a file to another user needs root")
def test_a_file_argus_cannot_tighten_is_said_once_and_left_as_it_was(shared_dir: Path) -> None:
    data = shared_dir / "argus"
    data.mkdir(mode=0o700)
    os.chown(data, NOBODY, NOBODY)
    memo = data / "console.json"
    text = json.dumps({"10.0.0.1:8006": {"version": "8.2.4", "guests": True}})
    memo.write_text(text)
    memo.chmod(0o644)  # root's file in the user's folder: the user cannot chmod it

    def sweep() -> object:
        first = [(n.text, n.problem) for n in tighten_all([data])]
        second = [n.text for n in tighten_all([data])]
        refused = ConsoleMemo(memo).refused("10.0.0.1:8006", "8.2.4", shell=False)
        return {"first": first, "second": second, "refused": refused}

    result = as_nobody(sweep)
    assert isinstance(result, dict)
    [(line, problem)] = result["first"]
    assert problem is True
    assert line.startswith(f"cannot make {memo} private (mode 0644, owned by root (uid 0)): ")
    assert "other users may read it. Argus goes on using it" in line
    assert line.endswith(f"its owner can run chmod 600 '{memo}'")
    assert result["second"] == []  # said once per run
    assert result["refused"] is True  # still read: nothing is lost
    assert memo.read_text() == text and mode(memo) == 0o644 and memo.stat().st_uid == 0
