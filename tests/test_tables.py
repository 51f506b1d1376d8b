"""Reading tables (nnet.tables): typed columns from CSV files, arrays and DataFrames, and the
one-line errors; checked against pandas.read_csv where pandas is installed."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnet import preprocessing, tables
from nnet.datasets import DataFormatError


def write(tmp_path, text: str, name="table.csv", mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


MIXED = "age,colour,income,label\n31,red,1000.5,yes\n,blue,NA,no\n\n45,,2000,yes\n50,\"red, dark\",3,no\n"


@pytest.mark.parametrize("chunk_bytes", [8, 64, 1 << 20])
def test_typed_columns_with_missing_cells_and_blank_lines(tmp_path, chunk_bytes):
    table = tables.read_csv(write(tmp_path, MIXED), chunk_bytes=chunk_bytes)
    assert table.names == ["age", "colour", "income", "label"]
    assert [column.kind for column in table.columns] == ["number", "text", "number", "text"]
    np.testing.assert_array_equal(table.column("age").values, [31, np.nan, 45, 50])
    np.testing.assert_array_equal(table.column("income").values, [1000.5, np.nan, 2000, 3])
    colour = table.column("colour")
    assert colour.categories == ["blue", "red", "red, dark"]
    np.testing.assert_array_equal(colour.values, [1, 0, -1, 2])
    np.testing.assert_array_equal(colour.missing, [False, False, True, False])
    np.testing.assert_array_equal(table.lines, [2, 3, 5, 6])
    assert table.where(2) == f"{table.source}, line 5"


def test_crlf_bom_and_spaces(tmp_path):
    path = write(tmp_path, "\ufeffa, b ,c\r\n 1 , x ,NaN\r\n2,y, 3\r\n".encode(), mode="wb")
    table = tables.read_csv(path)
    assert table.names == ["a", "b", "c"]
    np.testing.assert_array_equal(table.column("a").values, [1, 2])
    assert table.column("b").categories == ["x", "y"]
    np.testing.assert_array_equal(table.column("c").values, [np.nan, 3])


def test_a_column_forced_to_text_and_one_retyped_further_down(tmp_path):
    rows = "".join(f"{i},{i % 3}\n" for i in range(200)) + "oops,1\n"
    path = write(tmp_path, "id,zip\n" + rows)
    table = tables.read_csv(path, chunk_bytes=64, text=["zip"])
    assert [column.kind for column in table.columns] == ["text", "text"]  # id met text at the end
    assert table.column("zip").categories == ["0", "1", "2"]
    assert "oops" in table.column("id").categories and len(table) == 201


def test_last_line_without_newline_and_a_single_column(tmp_path):
    table = tables.read_csv(write(tmp_path, "x\n1\n2"))
    np.testing.assert_array_equal(table.column("x").values, [1, 2])


@pytest.mark.parametrize(("text", "message"), [
    ("", r"the file is empty; expected a header line"),
    ("a,b\n", r"a header but no rows"),
    ("a,b\n\n\n", r"a header but no rows"),
    ("a,b\n1,2\n3\n", r", line 3: expected 2 fields like the header, got 1"),
    ("a,b\n1,2\n3,4,5\n", r", line 3: expected 2 fields like the header, got 3"),
    ('a,b\n"1,2",3,4\n', r", line 2: expected 2 fields like the header, got 3"),
    ("a,a\n1,2\n", r"line 1: the column name 'a' appears twice"),
    ("a,\n1,2\n", r"line 1: column 2 has no name"),
    ("a,b\n1,inf\n", r", line 2, column 'b': inf is not a finite number"),
])
def test_bad_files_get_one_line(tmp_path, text, message):
    with pytest.raises(DataFormatError, match=message):
        tables.read_csv(write(tmp_path, text))


def test_bytes_that_are_not_utf8_are_named_by_line(tmp_path):
    path = write(tmp_path, b"a,b\n1,x\n2,\xff\xfe\n", mode="wb")
    with pytest.raises(DataFormatError, match=r"line 3: not UTF-8 text"):
        tables.read_csv(path)


def test_forcing_an_unknown_column_lists_the_columns(tmp_path):
    with pytest.raises(DataFormatError, match=r"no column named 'zip' \(asked to read as text\); its columns are a, b"):
        tables.read_csv(write(tmp_path, "a,b\n1,2\n"), text=["zip"])


# -- the target ------------------------------------------------------------------------------------


def test_a_target_column_that_does_not_exist_lists_the_columns(tmp_path):
    table = tables.read_csv(write(tmp_path, MIXED))
    with pytest.raises(DataFormatError, match=r"no column named 'price'; its columns are age, colour, income, label"):
        preprocessing.split_target(table, "price")


def test_a_regression_target_with_text_names_the_row(tmp_path):
    table = tables.read_csv(write(tmp_path, "x,y\n1,2.5\n2,3.5\n3,n/a\n4,lots\n"))
    with pytest.raises(DataFormatError, match=r"table.csv, line 5, column 'y': a regression target must hold numbers; got 'lots'"):
        preprocessing.split_target(table, "y", task="regression")


def test_targets_string_and_numeric_and_inferred_task(tmp_path):
    table = tables.read_csv(write(tmp_path, MIXED))
    features, y, classes, task, dropped = preprocessing.split_target(table, "label")
    assert (task, classes, dropped, features.names) == ("classification", ["no", "yes"], 0, ["age", "colour", "income"])
    np.testing.assert_array_equal(y, [1, 0, 1, 0])
    features, y, classes, task, dropped = preprocessing.split_target(table, "income")
    assert (task, classes, dropped, len(features)) == ("regression", None, 1, 3)
    np.testing.assert_array_equal(y, [1000.5, 2000, 3])
    numeric_labels = tables.read_csv(write(tmp_path, "x,y\n1,3\n2,1\n3,3\n", name="b.csv"))
    _, y, classes, task, _ = preprocessing.split_target(numeric_labels, "y")
    assert task == "classification" and classes == ["1", "3"]
    np.testing.assert_array_equal(y, [1, 0, 1])


# -- arrays and DataFrames ---------------------------------------------------------------------------


def test_arrays_become_tables():
    table = tables.as_table(np.arange(6.0).reshape(3, 2))
    assert table.names == ["x0", "x1"] and all(c.kind == "number" for c in table.columns)
    objects = np.array([[1, "a"], [None, "b"], [2.5, None]], dtype=object)
    table = tables.as_table(objects, names=["n", "t"])
    assert [c.kind for c in table.columns] == ["number", "text"]
    np.testing.assert_array_equal(table.column("n").values, [1, np.nan, 2.5])
    np.testing.assert_array_equal(table.column("t").values, [0, 1, -1])
    with pytest.raises(ValueError, match=r"X, row 1, column 'x0': inf is not a finite number"):
        tables.as_table(np.array([[1.0], [np.inf]]))


def test_dataframes_keep_names_and_categorical_dtypes():
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({
        "size": [1.0, None, 3.0],
        "count": pandas.array([1, None, 3], dtype="Int64"),
        "colour": pandas.Categorical(["red", None, "blue"]),
        "code": [10, 20, 10],
        "flag": [True, False, True],
    })
    frame["code"] = frame["code"].astype("category")
    table = tables.as_table(frame)
    assert table.names == ["size", "count", "colour", "code", "flag"]
    assert [c.kind for c in table.columns] == ["number", "number", "text", "text", "number"]
    np.testing.assert_array_equal(table.column("count").values, [1, np.nan, 3])
    assert table.column("code").categories == ["10", "20"]
    np.testing.assert_array_equal(table.column("colour").values, [1, -1, 0])


# -- against pandas, on random tables ------------------------------------------------------------------

cells = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.sampled_from(["", "NA", "nan", "null"]),
)
words = st.sampled_from(["red", "blue", "green", "", "NA", "a b", "x,y", "é"])


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n_rows=st.integers(1, 30), n_numbers=st.integers(0, 3), n_words=st.integers(0, 2),
       chunk=st.sampled_from([16, 128, 1 << 16]))
def test_random_tables_read_as_pandas_reads_them(tmp_path_factory, data, n_rows, n_numbers, n_words, chunk):
    pandas = pytest.importorskip("pandas")
    if n_numbers + n_words == 0:
        n_numbers = 1
    rows = [[data.draw(cells) for _ in range(n_numbers)] + [data.draw(words) for _ in range(n_words)] for _ in range(n_rows)]
    names = [f"n{j}" for j in range(n_numbers)] + [f"w{j}" for j in range(n_words)]
    path = tmp_path_factory.mktemp("random") / "t.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(names)
        writer.writerows(rows)
    if all(all(cell in ("", "NA", "nan", "null") for cell in row) for row in rows):
        return  # an all-empty table: pandas' single column of NaN vs blank lines; not a table
    table = tables.read_csv(path, chunk_bytes=chunk)
    frame = pandas.read_csv(path, keep_default_na=True, skip_blank_lines=True, dtype={n: str for n in names[n_numbers:]})
    assert len(table) == len(frame)
    for name in names:
        column, series = table.column(name), frame[name]
        if column.kind == "number":
            np.testing.assert_allclose(column.values, series.to_numpy(dtype=float), rtol=0, atol=0, equal_nan=True)
        else:
            expected = [None if pandas.isna(cell) else str(cell).strip() for cell in series]
            assert list(column.strings()) == expected
