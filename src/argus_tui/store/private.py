"""Argus's own folders, and files only their owner may read.

The data folder holds guest names, the journal and the assistant's questions, and a jump
host is shared: everything Argus writes there is created 0600 in a 0700 folder, whatever
the umask (modes given to `os.open` and `mkdir` are only ever narrowed by it). A file or
folder found looser (an older Argus, a copy, a umask of 002) is tightened, and a one-line
`Notice` says so. One Argus cannot tighten (another user's) is used as it is, and said.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "argus"
FILE_MODE = 0o600
FOLDER_MODE = 0o700
_OTHERS = 0o077  # the group and other bits

#: Paths whose mode could not be fixed, said once per process (every open would repeat it).
_said: set[str] = set()


@dataclass(frozen=True, slots=True)
class Notice:
    """One line for the user: a mode tightened, or one that could not be (`problem`)."""

    text: str
    problem: bool = False

    def __str__(self) -> str:
        return self.text


def data_dir() -> Path:
    """Where Argus keeps its data: the platform's user data folder (~/.local/share/argus)."""
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def cache_dir() -> Path:
    """The platform's user cache folder for Argus (~/.cache/argus)."""
    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def tighten(path: Path, *, follow: bool = True) -> Notice | None:
    """Take the group and other bits off `path`; what to say, or None when it was private
    already or is absent. `follow=False` leaves a symbolic link (and what it points at)
    alone."""
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return None
    old = stat.S_IMODE(info.st_mode)
    if not old & _OTHERS:
        return None
    new = old & ~_OTHERS
    try:
        os.chmod(path, new)
    except OSError as exc:
        if str(path) in _said:
            return None
        _said.add(str(path))
        return Notice(
            f"cannot make {path} private (mode {old:04o}, owned by {_owner(info.st_uid)}):"
            f" {exc.strerror or exc}; other users may read it. Argus goes on using it; its"
            f" owner can run chmod {new:o} '{path}'",
            problem=True,
        )
    return Notice(f"made {path} private to its owner: mode {old:04o} -> {new:04o}")


def private_folder(folder: Path) -> list[Notice]:
    """`folder`, created 0700 when missing (its parents as `mkdir -p` makes them), or
    tightened when others could read it. Raises OSError when it cannot be created."""
    try:
        folder.mkdir(mode=FOLDER_MODE, parents=True)
    except FileExistsError:
        if not folder.is_dir():
            raise
        notice = tighten(folder)
        return [notice] if notice else []
    return []


def create_private(path: Path) -> bool:
    """Create `path` empty with mode 0600 unless it exists; whether it was created.

    For SQLite: it gives the -wal and -shm it creates the database file's mode.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically by a 0600 file holding `text`. Raises OSError."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def tighten_all(folders: Iterable[Path]) -> list[Notice]:
    """Each of `folders` that exists, and everything inside it, made private (links are
    not followed); one notice per change."""
    out: list[Notice] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        out += private_folder(folder)
        for path in _inside(folder):
            notice = tighten(path, follow=False)
            if notice:
                out.append(notice)
    return out


def secure_own_folders() -> list[Notice]:
    """The data folder and the cache folder made private, before this run writes there."""
    return tighten_all([data_dir(), cache_dir()])


def _inside(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder, onerror=None):
        for name in (*dirs, *files):
            yield Path(root, name)


def _owner(uid: int) -> str:
    try:
        import pwd  # POSIX only; absent elsewhere

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"
