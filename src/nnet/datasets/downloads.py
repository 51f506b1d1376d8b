"""Fetch a registered dataset's files into the cache, verified, or fail with a clear error.

For each file: if it is already in place and verified, it is reused with no network access.
Otherwise it is fetched with ``urllib.request`` in 64 KiB chunks into a temporary file beside
its destination while the digest is computed, and renamed into place only if the digest matches.
A failed, interrupted or wrong download never stands as a finished file.

Verified once: after a file is checked, a sidecar ``<file>.verified`` records its digest, size
and modification time. Later loads trust a file whose sidecar still matches all three and rehash
any other (a file placed by hand, say), so a replaced or damaged file is never taken on trust.

The library never prints; pass ``progress(filename, bytes_done, bytes_total)`` to watch: it is
called with 0 before the first chunk and after every chunk, with ``bytes_total`` from the
server's Content-Length (None if it sent none). Reused files make no calls.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .._atomic import atomic_file
from .._version import __version__
from .checksums import check_digest, file_digest, new_hash, read_sha256sums
from .errors import DatasetError, DownloadError
from .registry import DataFile, Dataset, info, path

__all__ = [
    "DownloadError",
    "Progress",
    "TIMEOUT_SECONDS",
    "download",
    "is_verified",
    "verify_shipped",
]

#: ``progress(filename, bytes_done, bytes_total_or_None)``
Progress = Callable[[str, int, "int | None"], None]
#: Seconds to wait for a connection or for the next chunk before giving up.
TIMEOUT_SECONDS = 30.0
_CHUNK = 1 << 16
_MARKER_SUFFIX = ".verified"


def download(name: str, *, progress: Progress | None = None, force: bool = False) -> Path:
    """Make sure dataset ``name``'s files are present and verified; return their folder.

    Parameters
    ----------
    name : str
        A registered name (see ``names()``).
    progress : callable, optional
        ``progress(filename: str, bytes_done: int, bytes_total: int | None)``, called as chunks
        arrive.
    force : bool
        Download again even if verified files are present (shipped datasets are only checked).

    Returns
    -------
    pathlib.Path, the folder holding the four files (``path(name)``).

    Raises
    ------
    UnknownDatasetError
        ``name`` is not registered.
    DownloadError
        A file could not be fetched or did not match its digest. The message names the URL and
        the exact path to place the file at by hand.
    DatasetError
        The cache folder cannot be created, or a shipped file fails its check.
    """
    entry = info(name)
    if entry.shipped:
        verify_shipped(entry)
        return path(entry.name)
    folder = path(entry.name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(
            f"cannot create the data folder {folder} for {entry.name!r}: {error}; set NNET_DATA "
            f"to a writable folder"
        ) from None
    for data_file in entry.files.values():
        destination = folder / data_file.name
        if not force and is_verified(destination, data_file.digest):
            continue
        _fetch(data_file, destination, progress)
        _write_marker(destination, data_file.digest)
    return folder


def verify_shipped(entry: Dataset) -> None:
    """Check a shipped dataset's files against its digests and its folder's ``SHA256SUMS``.

    Hashing MNIST's 11 MB takes a few tens of milliseconds; a folder that passed is remembered
    for the rest of the process (keyed by each file's size and modification time).

    Raises
    ------
    DatasetError
        A file is missing, or its SHA-256 differs from ``SHA256SUMS`` or from the registry.
    """
    folder = path(entry.name)
    files = [folder / data_file.name for data_file in entry.files.values()]
    try:
        key = (str(folder), *((f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    except FileNotFoundError as error:
        raise DatasetError(
            f"{entry.name}: shipped file {error.filename} is missing; reinstall nnet"
        ) from None
    if key in _VERIFIED_SHIPPED:
        return
    sums_file = folder / "SHA256SUMS"
    try:
        sums = read_sha256sums(sums_file)
    except (OSError, ValueError) as error:
        raise DatasetError(
            f"{entry.name}: cannot read {sums_file}: {error}; reinstall nnet"
        ) from None
    for data_file, file in zip(entry.files.values(), files, strict=True):
        listed = sums.get(data_file.name)
        if listed is None:
            raise DatasetError(f"{sums_file} lists no digest for {data_file.name}; reinstall nnet")
        sha256 = file_digest(file, "sha256")
        registered = _normal(data_file.digest)
        algorithm = registered.partition(":")[0]
        for expected, source in ((listed, sums_file.name), (registered, "the registry")):
            got = sha256 if expected.startswith("sha256:") else file_digest(file, algorithm)
            if got != expected:
                raise DatasetError(
                    f"shipped file {file} is damaged or was changed: expected {expected} "
                    f"(from {source}), got {got}; reinstall nnet"
                )
    _VERIFIED_SHIPPED.add(key)


_VERIFIED_SHIPPED: set[tuple] = set()


def is_verified(file: Path, digest: str) -> bool:
    """True if ``file`` exists and matches ``digest`` (trusting a still-valid sidecar marker)."""
    try:
        stat = file.stat()
    except FileNotFoundError:
        return False
    marker = file.with_name(file.name + _MARKER_SUFFIX)
    expected = {"digest": _normal(digest), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        if json.loads(marker.read_text(encoding="utf-8")) == expected:
            return True
    except (OSError, ValueError):
        pass
    algorithm, _ = check_digest(digest)
    if file_digest(file, algorithm) != _normal(digest):
        return False
    _write_marker(file, digest)
    return True


def _user_agent() -> str:
    return f"nnet/{__version__} (+Python urllib)"


def _normal(digest: str) -> str:
    algorithm, value = check_digest(digest)
    return f"{algorithm}:{value}"


def _write_marker(file: Path, digest: str) -> None:
    stat = file.stat()
    record = {"digest": _normal(digest), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        with atomic_file(file.with_name(file.name + _MARKER_SUFFIX)) as marker:
            marker.write(json.dumps(record).encode("utf-8"))
    except OSError:
        pass  # only an optimisation: without it the file is rehashed next time


def _fetch(data_file: DataFile, destination: Path, progress: Progress | None) -> None:
    """Stream ``data_file.url`` into ``destination`` via a temporary file, checking the digest."""
    url = data_file.url
    if url is None:
        raise DatasetError(f"{data_file.name} has no URL to download it from")

    def fail(reason: str) -> DownloadError:
        return DownloadError(
            f"could not download {data_file.name} from {url}: {reason}"
            f"{'' if reason.endswith(('.', '?', '!')) else '.'}\n"
            f"To place the file by hand, download that URL in a browser or with curl and save it "
            f"as {destination} (nnet checks its digest, {_normal(data_file.digest)}, before use).",
            url=url,
            destination=destination,
            reason=reason,
        )

    request = urllib.request.Request(url, headers={"User-Agent": _user_agent()})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        error.close()
        raise fail(f"the server answered HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise fail(f"could not connect ({error.reason}): are you offline?") from None
    except (TimeoutError, OSError, http.client.HTTPException) as error:
        raise fail(f"could not connect ({error or type(error).__name__})") from None

    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        hasher = new_hash(data_file.digest)
        done = 0
        with atomic_file(destination) as file:
            if progress is not None:
                progress(data_file.name, 0, total)
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (TimeoutError, OSError, http.client.HTTPException) as error:
                    of_total = "" if total is None else f" of {total}"
                    raise fail(
                        f"the connection dropped after {done}{of_total} bytes ({error!r})"
                    ) from None
                if not chunk:
                    break
                file.write(chunk)
                hasher.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(data_file.name, done, total)
            if total is not None and done != total:
                raise fail(f"the connection dropped after {done} of {total} bytes")
            algorithm, expected = check_digest(data_file.digest)
            got = hasher.hexdigest()
            if got != expected:
                raise fail(
                    f"digest mismatch: expected {algorithm}:{expected}, got {algorithm}:{got} "
                    f"({done} bytes); the file was not kept"
                )
