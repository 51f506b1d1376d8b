"""Digests that say a data file is the one its publisher released.

A digest is written with its algorithm, ``"sha256:<64 hex>"`` or ``"md5:<32 hex>"``. SHA-256 is
preferred; MD5 is accepted because it is what some publishers (Fashion-MNIST, KMNIST) print, and
here it guards against damaged or wrong files, not against an attacker.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

__all__ = ["ALGORITHMS", "check_digest", "new_hash", "file_digest", "read_sha256sums"]

#: algorithm -> length of its hex digest
ALGORITHMS = {"sha256": 64, "md5": 32}
_CHUNK = 1 << 20


def check_digest(digest: str) -> tuple[str, str]:
    """Split ``"algorithm:hex"`` into (algorithm, lowercase hex), or raise ValueError saying why."""
    algorithm, separator, value = digest.partition(":")
    if not separator or algorithm not in ALGORITHMS:
        raise ValueError(
            f"digest {digest!r} must start with one of {', '.join(a + ':' for a in ALGORITHMS)}"
        )
    value = value.lower()
    if not re.fullmatch(f"[0-9a-f]{{{ALGORITHMS[algorithm]}}}", value):
        raise ValueError(
            f"digest {digest!r}: expected {ALGORITHMS[algorithm]} hex digits after "
            f"'{algorithm}:', got {len(value)} characters"
        )
    return algorithm, value


def new_hash(digest: str) -> hashlib._Hash:
    """A fresh hashlib object of the algorithm named in ``digest``."""
    algorithm, _ = check_digest(digest)
    if algorithm == "md5":
        return hashlib.md5(usedforsecurity=False)
    return hashlib.new(algorithm)


def file_digest(path: str | os.PathLike[str], algorithm: str) -> str:
    """The digest of a file's bytes as ``"algorithm:hex"``, read in 1 MiB chunks."""
    hasher = new_hash(f"{algorithm}:{'0' * ALGORITHMS[algorithm]}")
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            hasher.update(chunk)
    return f"{algorithm}:{hasher.hexdigest()}"


def read_sha256sums(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse a ``sha256sum``-style file (``<hex>  <name>`` per line) into {name: "sha256:<hex>"}."""
    digests = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        value, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        try:
            digests[name] = "sha256:" + check_digest(f"sha256:{value}")[1]
        except ValueError as error:
            raise ValueError(f"{path}, line {number}: {error}") from None
        if not name:
            raise ValueError(f"{path}, line {number}: expected '<sha256 hex>  <file name>'")
    return digests
