"""Columns and tables, and the tables the Python API is given: arrays and pandas DataFrames."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..datasets.errors import DataFormatError

#: Cells that mean "missing" (pandas' usual spellings).
MISSING = frozenset({"", "NA", "N/A", "n/a", "na", "NaN", "nan", "-nan", "NULL", "null", "None", "<NA>", "#N/A"})


@dataclass
class Column:
    """One column of a table: a ``number`` column's ``values`` (float64, NaN missing), or a
    ``text`` column's ``codes`` (int32, -1 missing) into its sorted ``categories``."""

    name: str
    kind: str
    values: np.ndarray
    categories: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def missing(self) -> np.ndarray:
        """Where the cells are missing, bool (n,)."""
        return np.isnan(self.values) if self.kind == "number" else self.values < 0

    def take(self, rows) -> Column:
        return Column(self.name, self.kind, self.values[rows], self.categories)

    def strings(self) -> np.ndarray:
        """The cells as text, object (n,), None where missing."""
        if self.kind == "number":
            cells = np.array([number_text(value) for value in self.values], dtype=object)
            cells[np.isnan(self.values)] = None
            return cells
        table = np.array([*self.categories, None], dtype=object)
        return table[self.values]  # code -1 picks the None at the end


@dataclass
class Table:
    """Columns of equal length; ``lines[i]`` is the file line of row i (for error messages)."""

    columns: list[Column]
    source: str = "the table"
    lines: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def where(self, row: int) -> str:
        """Where row ``row`` came from: ``FILE, line N`` or ``the table, row N``."""
        if self.lines is not None:
            return f"{self.source}, line {int(self.lines[row])}"
        return f"{self.source}, row {row}"

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise DataFormatError(f"{self.source}: no column named {name!r}; its columns are {listed(self.names)}")

    def without(self, name: str) -> Table:
        """The table less the column ``name`` (which must exist)."""
        self.column(name)
        return Table([c for c in self.columns if c.name != name], self.source, self.lines)

    def take(self, rows) -> Table:
        lines = None if self.lines is None else self.lines[rows]
        return Table([column.take(rows) for column in self.columns], self.source, lines)


# -- arrays and DataFrames ------------------------------------------------------------------------


def as_table(x, names=None, *, source: str = "X") -> Table:
    """A table from what the Python API is given: a pandas DataFrame (its column names; numeric
    dtypes are numbers, anything else, categoricals included, is text), a 2-D array (numbers,
    or an object/str array whose columns are numbers where they all read as numbers), or a Table.
    ``names`` names an array's columns (default ``x0``, ``x1``, ...)."""
    if isinstance(x, Table):
        return x
    if _is_dataframe(x):
        return Table([_series(str(name), x[name]) for name in x.columns], source)
    array = np.asarray(x)
    if array.ndim != 2:
        raise ValueError(f"{source} must be a table of shape (n_samples, n_features); got shape {array.shape}")
    names = [f"x{j}" for j in range(array.shape[1])] if names is None else [str(name) for name in names]
    if len(names) != array.shape[1]:
        raise ValueError(f"{len(names)} column names for {array.shape[1]} columns")
    if array.dtype.kind in "fiub":
        values = array.astype(np.float64, copy=False)
        columns = [Column(name, "number", np.ascontiguousarray(values[:, j])) for j, name in enumerate(names)]
    else:
        columns = [_cells(name, array[:, j]) for j, name in enumerate(names)]
    for column in columns:
        if column.kind == "number" and np.isinf(column.values).any():
            row = int(np.flatnonzero(np.isinf(column.values))[0])
            raise ValueError(f"{source}, row {row}, column {column.name!r}: {column.values[row]} is not a finite number")
    return Table(columns, source)


def _is_dataframe(x) -> bool:
    return type(x).__name__ == "DataFrame" and hasattr(x, "columns") and hasattr(x, "dtypes")


def _series(name: str, series) -> Column:
    import pandas

    if pandas.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
        return Column(name, "number", series.to_numpy(dtype=np.float64))
    if pandas.api.types.is_numeric_dtype(series.dtype) and not pandas.api.types.is_bool_dtype(series.dtype):
        return Column(name, "number", series.to_numpy(dtype=np.float64, na_value=np.nan))
    return _cells(name, series.to_numpy(dtype=object), number=False)


def _cells(name: str, cells: np.ndarray, number: bool = True) -> Column:
    """A column from Python objects: numbers if every present cell is one (and ``number``)."""
    present = np.array([not _is_missing(cell) for cell in cells], dtype=bool)
    if number:
        try:
            values = np.full(len(cells), np.nan)
            values[present] = np.asarray(cells[present], dtype=np.float64)
            return Column(name, "number", values)
        except (TypeError, ValueError):
            pass
    texts = np.array([_cell_text(cell) if ok else "" for cell, ok in zip(cells, present)], dtype=object)
    categories = sorted(set(texts[present]))
    index = {value: code for code, value in enumerate(categories)}
    codes = np.array([index[text] if ok else -1 for text, ok in zip(texts, present)], dtype=np.int32)
    return Column(name, "text", codes, categories)


def _is_missing(cell) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float) and cell != cell:
        return True
    if isinstance(cell, str):
        return cell.strip() in MISSING
    return type(cell).__name__ in ("NAType", "NaTType")


def _cell_text(cell) -> str:
    return number_text(cell) if isinstance(cell, (float, np.floating)) else str(cell).strip()


def number_text(value: float) -> str:
    """17.0 as "17", 0.5 as "0.5": how a number reads as a category name."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def listed(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
