"""Concurrent processes, SIGKILL mid-write, corrupt, read-only and locked files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from argus_tui.errors import StoreError
from argus_tui.store.sqlite import SqliteHistory

from ..helpers import T0, guest, snapshot

WRITER = Path(__file__).with_name("writer.py")


def _writer(db: Path, profile: str, count: int, guests: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), "batches", str(db), profile, str(count), str(guests)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _samples_at(db: Path, profile: str) -> dict[int, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.ts, count(*) FROM samples s JOIN entities e ON e.id = s.entity"
            " WHERE e.profile = ? GROUP BY s.ts",
            [profile],
        ).fetchall()
    return {int(ts): n for ts, n in rows}


def test_two_writer_processes_lose_nothing(db_path: Path) -> None:
    """Both start at once on a file that does not exist yet (the migration races too)."""
    count, guests = 60, 300
    procs = [_writer(db_path, name, count, guests) for name in ("a", "b")]
    Path(f"{db_path}.go").touch()
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.count("committed") == count
    for name in ("a", "b"):
        per_ts = _samples_at(db_path, name)
        assert per_ts == {int(T0) + 60 * k: guests + 5 for k in range(count)}
    store = SqliteHistory(db_path, auto_prune=False)
    actions = store.actions(0)
    assert len(actions) == 2 * count
    assert sorted((a["profile"], a["vmid"]) for a in actions) == sorted(
        (p, 1000 + k) for p in ("a", "b") for k in range(count)
    )
    store.close()
    assert _integrity(db_path) == "ok"


@pytest.mark.parametrize("delay", [0.0, 0.012])
def test_sigkill_mid_write_loses_no_committed_row(db_path: Path, delay: float) -> None:
    """Killed while batch 3 is being built (0 s) or while its pages go into the WAL."""
    guests = 4000
    proc = _writer(db_path, "p", 1000, guests)
    Path(f"{db_path}.go").touch()
    assert proc.stdout is not None
    committed: list[int] = []
    for line in proc.stdout:
        word, k = line.split()
        if word == "committed":
            committed.append(int(k))
        elif int(k) >= 3:  # "begin 3": the fourth batch is being written right now
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            break
    rest, _ = proc.communicate(timeout=30)
    committed += [int(line.split()[1]) for line in rest.splitlines() if "committed" in line]
    assert proc.returncode == -signal.SIGKILL
    assert committed[:3] == [0, 1, 2]
    assert _integrity(db_path) == "ok"
    per_ts = _samples_at(db_path, "p")
    for batch in committed:
        assert per_ts[int(T0) + 60 * batch] == guests + 5
    # nothing half-written: a batch is all there or not at all
    assert set(per_ts.values()) == {guests + 5}
    store = SqliteHistory(db_path, auto_prune=False)
    assert {a["vmid"] for a in store.actions(0)} >= {1000 + k for k in committed}
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 86_000)  # and it goes on
    assert store.take_warnings() == []
    store.close()


def _corrupt_files(db: Path) -> list[Path]:
    """Files moved aside (their -wal and -shm, if any, travel with them)."""
    return sorted(
        p for p in db.parent.iterdir() if ".corrupt-" in p.name and not p.name.endswith("-shm")
        and not p.name.endswith("-wal")
    )  # fmt: skip


def test_random_bytes_are_moved_aside_and_a_fresh_file_started(db_path: Path) -> None:
    junk = os.urandom(16384)
    db_path.write_bytes(junk)
    db_path.chmod(0o600)  # private, as Argus keeps it: the one warning is the corruption
    store = SqliteHistory(db_path, auto_prune=False)
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    assert store.guest_series("p", 101, "cpu", 0) == [(T0, 0.5)]
    [moved] = _corrupt_files(db_path)
    assert moved.name.startswith("history.db.corrupt-")
    assert moved.read_bytes() == junk  # kept, byte for byte
    [warning] = store.take_warnings()
    assert "corrupt" in warning and moved.name in warning and "\n" not in warning
    assert store.take_warnings() == []
    store.close()


def test_a_truncated_file_is_moved_aside(db_path: Path) -> None:
    store = SqliteHistory(db_path, auto_prune=False)
    for k in range(20):
        store.record_snapshot(snapshot([guest(100 + i) for i in range(100)]), "p", ts=T0 + 60 * k)
    store.close()
    size = db_path.stat().st_size
    assert size > 16 * 4096
    with db_path.open("r+b") as f:
        f.truncate(size // 2)
    reopened = SqliteHistory(db_path, auto_prune=False)
    reopened.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    assert len(_corrupt_files(db_path)) == 1
    assert reopened.stats().tables["samples"].rows == 3
    assert len(reopened.take_warnings()) == 1
    reopened.close()


def test_corruption_found_while_running_moves_the_file_aside(db_path: Path) -> None:
    store = SqliteHistory(db_path, auto_prune=False)
    store.record_snapshot(snapshot([guest(100 + i) for i in range(300)]), "p", ts=T0)
    with sqlite3.connect(db_path) as other:  # everything into the file, while the store is open
        assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    assert Path(f"{db_path}-wal").stat().st_size == 0
    with db_path.open("r+b") as f:  # keep the header and schema, scribble over the rest
        f.seek(4096)
        f.write(os.urandom(db_path.stat().st_size - 4096))
    with pytest.raises(StoreError, match="corrupt"):
        store.guest_series("p", 101, "cpu", 0)
    assert len(_corrupt_files(db_path)) == 1
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 60)  # starts afresh
    assert store.guest_series("p", 101, "cpu", 0) == [(T0 + 60, 0.5)]
    assert len(store.take_warnings()) == 1
    store.close()


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can enter (tmp_path's parents are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="argus-store-"))
    path.chmod(0o755)
    yield path
    path.chmod(0o755)
    for p in path.iterdir():
        p.unlink()
    path.rmdir()


def _as_unprivileged(fn: Callable[[], str]) -> str:
    """Run fn where file permissions apply: in a forked child as nobody when we are root."""
    if os.geteuid() != 0:
        return fn()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            message = fn()
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        out = pipe.read()
    os.waitpid(pid, 0)
    return out


def _try_record(path: Path) -> str:
    store = SqliteHistory(path, auto_prune=False)
    try:
        store.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 60)
    except StoreError as exc:
        return f"StoreError: {exc}"
    return "recorded"


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_database_gives_a_clear_store_error(shared_dir: Path, what: str) -> None:
    path = shared_dir / "history.db"
    store = SqliteHistory(path, auto_prune=False)
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    store.close()
    if what == "file":
        path.chmod(0o444)
    else:
        path.chmod(0o666)
        shared_dir.chmod(0o555)
    try:
        message = _as_unprivileged(lambda: _try_record(path))
    finally:
        shared_dir.chmod(0o755)
    assert message.startswith("StoreError: ") and "is read-only" in message, message
    assert "runs on without history" in message and "\n" not in message
    assert [p.name for p in shared_dir.iterdir()] == ["history.db"]  # nothing moved aside


def _one_sample(db_path: Path) -> None:
    first = SqliteHistory(db_path, auto_prune=False)
    first.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    first.close()


def test_a_locked_database_gives_a_clear_store_error(db_path: Path) -> None:
    _one_sample(db_path)
    holder = sqlite3.connect(db_path)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = SqliteHistory(db_path, auto_prune=False, timeout=0.2)
        with pytest.raises(StoreError, match="locked by another process"):
            store.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 60)
        assert _corrupt_files(db_path) == []
    finally:
        holder.close()
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 60)  # recovers once free
    assert len(store.guest_series("p", 101, "cpu", 0)) == 2
    store.close()


def test_a_busy_writer_does_not_stop_reads(db_path: Path) -> None:
    _one_sample(db_path)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        store = SqliteHistory(db_path, auto_prune=False, timeout=0.2)
        with pytest.raises(StoreError, match="locked"):
            store.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 60)
        assert store.guest_series("p", 101, "cpu", 0) == [(T0, 0.5)]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.close()
