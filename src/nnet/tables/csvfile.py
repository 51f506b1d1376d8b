"""Reading a CSV file with a header line into a :class:`~nnet.tables.Table`.

The file is read in chunks of about ``CHUNK_BYTES``: memory grows with the columns kept (8 bytes
a number, 4 a text cell), not with the text. Each chunk is cut into fields with whole-array NumPy
operations (the positions of the delimiters and newlines), and the number columns are parsed by
NumPy's own float parser; a chunk holding a quote character is read by Python's ``csv`` module
instead, which handles quoted fields. A column is a number column when every cell of the first
chunk that is not missing reads as a number; one that meets text further down is read again as
text. Errors name the file, the line and the column: ragged rows, a file without rows, a header
with a repeated name, an infinite number, bytes that are not UTF-8.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..datasets.errors import DataFormatError
from .columns import MISSING, Column, Table, listed

_MISSING_BYTES = np.array(sorted(value.encode() for value in MISSING), dtype="S")
#: How many bytes of the file one chunk reads (then on to the end of its line).
CHUNK_BYTES = 1 << 24
_NEWLINE = ord("\n")


def read_csv(path, *, delimiter: str = ",", text=(), chunk_bytes: int = CHUNK_BYTES) -> Table:
    """Read a CSV file with a header line into a :class:`Table`.

    Parameters
    ----------
    path : str or PathLike
        A UTF-8 text file (a byte-order mark is skipped), lines ending in LF or CRLF; blank
        lines are skipped.
    delimiter : str
        One character.
    text : iterable of str
        Columns to read as text even if they hold numbers.

    Raises
    ------
    DataFormatError
        One line naming the file (and line, column): no header, a repeated column name, a row
        with the wrong number of fields, no rows, an infinite number, bytes that are not UTF-8.
    """
    path = Path(path)
    if len(delimiter) != 1 or delimiter in "\"\n\r":
        raise ValueError(f"delimiter must be one character other than a quote or newline; got {delimiter!r}")
    forced = set(text)
    while True:
        try:
            return _read(path, delimiter, forced, chunk_bytes)
        except _Retype as retype:  # a number column met text further down: read it again as text
            forced.add(retype.name)


class _Retype(Exception):
    def __init__(self, name: str):
        self.name = name


def _read(path: Path, delimiter: str, forced: set, chunk_bytes: int) -> Table:
    with open(path, "rb") as file:
        header = file.readline()
        line = 1
        while header and not header.strip():
            header, line = file.readline(), line + 1
        if not header.strip():
            raise DataFormatError(f"{path}: the file is empty; expected a header line naming the columns, then rows")
        names = _header(path, _decode(path, header.removeprefix(b"\xef\xbb\xbf"), line), delimiter)
        unknown = forced - set(names)
        if unknown:
            raise DataFormatError(f"{path}: no column named {sorted(unknown)[0]!r} (asked to read as text); "
                                  f"its columns are {listed(names)}")
        kinds = {name: "text" for name in forced}
        parts: list[list[np.ndarray]] = [[] for _ in names]
        categories: list[dict[str, int]] = [{} for _ in names]
        lines = []
        while True:
            chunk = file.read(chunk_bytes)
            if not chunk:
                break
            chunk += file.readline()  # on to the end of the line
            fields, numbers = _fields(path, chunk, line, names, delimiter)
            lines.append(numbers)
            line += chunk.count(b"\n") + (not chunk.endswith(b"\n"))
            for index, (name, cells) in enumerate(zip(names, fields)):
                values = None if kinds.get(name) == "text" else _numbers(cells)
                kind = kinds.setdefault(name, "text" if values is None else "number")
                if kind == "number":
                    if values is None:
                        raise _Retype(name)
                    _check_finite(path, name, values, numbers)
                    parts[index].append(values)
                else:
                    parts[index].append(_codes(cells, categories[index]))
    lines = np.concatenate(lines) if lines else np.zeros(0, np.int64)
    if len(lines) == 0:
        raise DataFormatError(f"{path}: a header but no rows; expected one row per sample after the header")
    columns = []
    for index, name in enumerate(names):
        values = np.concatenate(parts[index])
        parts[index] = []  # one column at a time: peak memory is the table and one column
        if kinds[name] == "number":
            columns.append(Column(name, "number", values))
        else:
            columns.append(_sorted_text(name, values, categories[index]))
    return Table(columns, str(path), lines)


def _header(path: Path, text: str, delimiter: str) -> list[str]:
    names = [name.strip() for name in next(csv.reader([text], delimiter=delimiter))]
    seen = set()
    for position, name in enumerate(names, 1):
        if not name:
            raise DataFormatError(f"{path}, line 1: column {position} has no name; expected a header naming every column")
        if name in seen:
            raise DataFormatError(f"{path}, line 1: the column name {name!r} appears twice; expected distinct names")
        seen.add(name)
    return names


def _fields(path: Path, chunk: bytes, first_line: int, names: list[str], delimiter: str):
    """The cells of each column of a chunk of whole lines, and each row's line number."""
    if b"\r" in chunk:
        chunk = chunk.replace(b"\r\n", b"\n")
    if not chunk.endswith(b"\n"):
        chunk += b"\n"
    if b'"' in chunk:
        return _fields_by_csv(path, chunk, first_line, names, delimiter)
    buffer = np.frombuffer(chunk, np.uint8)
    ends = np.flatnonzero(buffer == _NEWLINE)
    longest = int(np.diff(ends, prepend=-1).max())
    buffer = np.concatenate([buffer, np.zeros(longest, np.uint8)])  # spare bytes for _cut
    starts = np.r_[0, ends[:-1] + 1]
    numbers = first_line + 1 + np.arange(len(ends))
    filled = ends > starts  # blank lines are skipped
    if not filled.all():
        filled &= _not_blank(buffer, starts, ends)
        starts, ends, numbers = starts[filled], ends[filled], numbers[filled]
    delimiters = np.flatnonzero(buffer == ord(delimiter))
    counts = np.searchsorted(delimiters, ends) - np.searchsorted(delimiters, starts)
    width = len(names)
    ragged = np.flatnonzero(counts != width - 1)
    if ragged.size:
        row = ragged[0]
        raise DataFormatError(f"{path}, line {numbers[row]}: expected {width} fields like the header, got {counts[row] + 1}")
    inner = delimiters.reshape(len(starts), width - 1) if width > 1 else np.zeros((len(starts), 0), np.int64)
    field_starts = np.column_stack([starts, inner + 1])
    field_ends = np.column_stack([inner, ends])
    fields = [_cut(buffer, field_starts[:, j], field_ends[:, j]) for j in range(width)]
    _check_utf8(path, fields, numbers)
    return fields, numbers


def _cut(buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The bytes buffer[starts[i]:ends[i]] for every i, as a fixed-width bytes array (n,).
    ``buffer`` ends in at least as many spare bytes as the longest cell."""
    lengths = (ends - starts).astype(np.int32)
    width = max(int(lengths.max()) if len(lengths) else 0, 1)
    # no copy: record i is the `width` bytes from buffer[i] on (records overlap)
    records = np.ndarray(shape=(len(buffer) - width + 1,), dtype=f"V{width}", buffer=buffer, strides=(1,))
    cells = records[starts].view(np.uint8).reshape(len(starts), width)  # the cell, and what follows it ...
    cells *= np.arange(width, dtype=np.int32) < lengths[:, None]  # ... cut off with zeros
    return cells.view(f"S{width}").reshape(len(starts))


def _not_blank(buffer, starts, ends) -> np.ndarray:
    return np.array([bool(bytes(buffer[s:e]).strip()) for s, e in zip(starts, ends)], dtype=bool)


def _fields_by_csv(path: Path, chunk: bytes, first_line: int, names: list[str], delimiter: str):
    """The slow, general way: Python's csv module, for chunks with quoted fields."""
    text = _decode(path, chunk, first_line + 1)
    rows, numbers = [], []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for row in reader:
        number = first_line + reader.line_num
        if not row or (len(row) == 1 and row[0] and not row[0].strip()):  # blank ('""' is an empty cell)
            continue
        if len(row) != len(names):
            raise DataFormatError(f"{path}, line {number}: expected {len(names)} fields like the header, got {len(row)}")
        rows.append(row)
        numbers.append(number)
    columns = list(zip(*rows)) if rows else [() for _ in names]
    fields = [np.array([cell.encode() for cell in column] or [b""][:0], dtype="S") for column in columns]
    return fields, np.array(numbers, dtype=np.int64)


def _check_utf8(path: Path, fields, numbers) -> None:
    for cells in fields:
        if cells.dtype.itemsize and (cells.view(np.uint8) >= 0x80).any():
            for value in np.unique(cells):  # each distinct cell once
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError:
                    row = int(np.flatnonzero(cells == value)[0])
                    _decode(path, bytes(value), int(numbers[row]))


def _decode(path: Path, data: bytes, line: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}, line {line}: not UTF-8 text (byte {error.start} of the line: {error.reason})") from None


# -- the cells of one column ---------------------------------------------------------------------


def _numbers(cells: np.ndarray) -> np.ndarray | None:
    """The cells as float64 (missing ones NaN), or None if one of them is not a number."""
    missing = np.isin(cells, _MISSING_BYTES)
    try:
        if missing.any():
            cells = np.where(missing, b"nan", cells)
        return cells.astype(np.float64)
    except ValueError:
        pass
    cells = np.char.strip(cells)  # " NA " is missing too
    try:
        return np.where(np.isin(cells, _MISSING_BYTES), b"nan", cells).astype(np.float64)
    except ValueError:
        return None


def _check_finite(path, name: str, values: np.ndarray, numbers: np.ndarray) -> None:
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        row = infinite[0]
        raise DataFormatError(f"{path}, line {numbers[row]}, column {name!r}: {values[row]} is not a finite number")


def _codes(cells: np.ndarray, categories: dict[str, int]) -> np.ndarray:
    """Codes (int32) of a chunk's text cells into ``categories`` (grown in order of
    appearance), -1 for missing cells."""
    cells = np.char.strip(cells)
    distinct, inverse = np.unique(cells, return_inverse=True)
    lookup = np.empty(len(distinct), np.int32)
    for position, value in enumerate(distinct):
        text = value.decode("utf-8")
        lookup[position] = -1 if text in MISSING else categories.setdefault(text, len(categories))
    return lookup[inverse.reshape(-1)]


def _sorted_text(name: str, codes: np.ndarray, categories: dict[str, int]) -> Column:
    ordered = sorted(categories)
    remap = np.empty(len(ordered) + 1, np.int32)
    remap[-1] = -1
    for position, value in enumerate(ordered):
        remap[categories[value]] = position
    return Column(name, "text", remap[codes], ordered)
