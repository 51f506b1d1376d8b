"""Write a file so that it is either complete or absent: never half-written.

The bytes go to a temporary file in the destination's own folder (so the final rename stays on one
file system), are flushed to disk, and only then renamed over the destination with ``os.replace``,
which is atomic on POSIX and Windows; the folder is then flushed too, so the rename itself survives
a power cut. Any exception on the way deletes the temporary file and leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_file"]


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
    would leave 0o600).
    """
    destination = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
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
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_folder(destination.parent)


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
