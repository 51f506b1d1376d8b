"""The exceptions of ``nnet.datasets``, in one family.

Everything this package raises on purpose derives from :class:`DatasetError`, so a caller (the
CLI, say) can catch one class and print the message, which always says what was expected, what
came, and where: a file name and byte offset, a line number, a URL.

    DatasetError(Exception)
    ├── UnknownDatasetError(DatasetError, LookupError)   a name not in the registry
    ├── DownloadError(DatasetError)                      offline, HTTP error, bad digest, dropped
    ├── IDXError(DatasetError, ValueError)               a malformed IDX file
    └── DataFormatError(DatasetError, ValueError)        a CSV / npz / image folder we cannot use
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DatasetError",
    "UnknownDatasetError",
    "DownloadError",
    "IDXError",
    "DataFormatError",
]


class DatasetError(Exception):
    """Base class of every error raised by ``nnet.datasets``."""


class UnknownDatasetError(DatasetError, LookupError):
    """A dataset name that the registry does not hold; the message lists the valid names."""


class DownloadError(DatasetError):
    """A dataset file could not be downloaded and verified.

    Attributes
    ----------
    url : str
        The address that was fetched.
    destination : pathlib.Path
        Where the finished file belongs; placing a correct copy there by hand also works.
    reason : str
        What went wrong, in words (offline, HTTP status, digest mismatch, dropped connection).
    """

    def __init__(self, message: str, *, url: str, destination: Path, reason: str) -> None:
        super().__init__(message)
        self.url = url
        self.destination = destination
        self.reason = reason


class IDXError(DatasetError, ValueError):
    """A malformed IDX file: the message names the file, the byte offset, expected and got."""


class DataFormatError(DatasetError, ValueError):
    """User data (CSV, npz, image folder) that cannot be turned into MNIST-style arrays."""
