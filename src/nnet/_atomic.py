"""Write a file so that it is either complete or absent: never half-written.

The bytes go to a temporary file in the destination's own folder (so the final rename stays on one
file system), are flushed to disk, and only then renamed over the destination with ``os.replace``,
which is atomic on POSIX and Windows. Any exception on the way deletes the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_file"]

_NEW_FILE_MODE = 0o644  # what a plain open() gives under the usual umask 022


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file to write: a clean exit puts it at ``path``, an exception deletes it.

    The destination folder must exist. The finished file keeps the permission bits of the file it
    replaces, or gets 0o644 when new (``mkstemp`` alone would leave 0o600).
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
