"""Write a file so that it is either complete or absent: never half-written.

The bytes go to a temporary file in the destination's own folder (so the final rename stays on one
file system), are flushed to disk, and only then renamed over the destination with ``os.replace``,
which is atomic on POSIX and Windows; the folder is then flushed too, so the rename itself survives
a power cut. Any exception on the way deletes the temporary file and leaves the old file as it was.

A process killed outright (``kill -9``, a power cut) cannot delete its temporary file, so one may be
left behind: ``.<name>.<8 random characters>.part`` beside the destination. Each write removes the
ones left by earlier writes of the same destination, and only those that are surely abandoned:

- the name is exactly the pattern of this module's temporary files for that destination;
- it is a regular file (never a link) owned by this user;
- no live process holds it: a writer holds an exclusive ``flock`` on its temporary file from just
  after creating it until after the rename, and the kernel drops the lock when the process dies,
  however it dies (a lock, unlike a process id, cannot be mistaken for a new process that got the
  same id, and works across machines on NFS);
- and it was last written ``STALE_SECONDS`` ago or more, which covers the instant between creating
  the file and locking it. Where there are no such locks (Windows, a file system without them),
  only files untouched for ``STALE_SECONDS_WITHOUT_LOCKS`` are removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["atomic_file", "remove_stale_parts"]

#: A temporary file younger than this is never removed by another write (the time between creating
#: it and locking it is microseconds; a writer holding its lock is never removed at any age).
STALE_SECONDS = 60.0
#: Where files cannot be locked, only a temporary file untouched this long counts as abandoned.
STALE_SECONDS_WITHOUT_LOCKS = 24 * 3600.0
_SUFFIX = ".part"


def _read_umask() -> int:
    """The process's umask. Linux tells it in /proc without changing it; elsewhere the only way
    is to set one and put the old one back (done once, at import)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: A new file gets what a plain ``open()`` would give it: 0o666 less the umask.
_NEW_FILE_MODE = 0o666 & ~_read_umask()


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file to write: a clean exit puts it at ``path``, an exception deletes it.

    The destination folder must exist. The finished file keeps the permission bits of the file it
    replaces, or, when new, gets 0o666 less the umask, as ``open()`` would (``mkstemp`` alone
    would leave 0o600). Afterwards, temporary files abandoned by earlier writes of ``path`` are
    removed (:func:`remove_stale_parts`).
    """
    destination = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=_SUFFIX)
    locked = _lock(descriptor)
    try:
        with os.fdopen(descriptor, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
            try:
                mode = destination.stat().st_mode & 0o777
            except FileNotFoundError:
                mode = _NEW_FILE_MODE
            os.chmod(temporary, mode)
            if locked:  # POSIX renames an open file; the lock is held until the name is gone
                os.replace(temporary, destination)
        if not locked:  # Windows cannot rename a file that is open
            os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_folder(destination.parent)
    remove_stale_parts(destination)


def remove_stale_parts(path: str | os.PathLike[str], *, now: float | None = None) -> list[Path]:
    """Remove the temporary files that writes of ``path`` abandoned (see the module docstring);
    return those removed. Never raises for a file it cannot inspect or remove: it leaves it."""
    destination = Path(path)
    pattern = re.compile(rf"\.{re.escape(destination.name)}\.[a-z0-9_]{{8}}{re.escape(_SUFFIX)}")
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(destination.parent))
    except OSError:
        return removed
    for entry in entries:
        if pattern.fullmatch(entry.name) and _remove_if_abandoned(Path(entry.path), now):
            removed.append(Path(entry.path))
    return removed


def _remove_if_abandoned(part: Path, now: float) -> bool:
    try:
        info = part.lstat()
        if not stat.S_ISREG(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            return False
        age = now - info.st_mtime
        if fcntl is None:
            if age < STALE_SECONDS_WITHOUT_LOCKS:
                return False
            part.unlink()
            return True
        if age < STALE_SECONDS:
            return False
        descriptor = os.open(part, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        same = os.fstat(descriptor)
        if (same.st_ino, same.st_dev) != (info.st_ino, info.st_dev):
            return False  # replaced since we looked
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        except OSError:  # no locks on this file system: fall back on age alone
            if age < STALE_SECONDS_WITHOUT_LOCKS:
                return False
        part.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)


def _lock(descriptor: int) -> bool:
    """Hold an exclusive lock on a temporary file while it is written: it says "in use" to
    :func:`remove_stale_parts` in other processes. False where locks are not available."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk; a no-op where folders cannot be opened."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
