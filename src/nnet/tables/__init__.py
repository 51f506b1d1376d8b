"""Tables: a CSV file (or arrays, or a pandas DataFrame) as typed columns.

A table is a list of :class:`Column`, all of the same length n (one row per sample)::

    number   values float64 (n,), NaN where the cell was missing
    text     codes int32 (n,) into ``categories`` (sorted str), -1 where the cell was missing

A column is a number column when every cell that is not missing reads as a number, otherwise a
text column (a category per distinct value). Missing cells are the empty ones and the usual
spellings of "not available" (``MISSING``). Infinite numbers are refused.

- ``columns``  Column, Table, and :func:`as_table`: arrays and DataFrames as tables
- ``csvfile``  :func:`read_csv`: a CSV file with a header line, in chunks
"""

from .columns import MISSING, Column, Table, as_table
from .csvfile import CHUNK_BYTES, read_csv

__all__ = ["CHUNK_BYTES", "MISSING", "Column", "Table", "as_table", "read_csv"]
