"""Tests of varkit.io: every error sentence, the row it names, and the converted dtypes."""

from __future__ import annotations

import builtins
import gzip
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from varkit.errors import VarkitError
from varkit.io import Column, check_array, read_table, validate_frame


def raised(exc_type: type[BaseException], func: Any, *args: Any, **kwargs: Any) -> str:
    """The message of the exception that ``func(*args, **kwargs)`` must raise."""
    with pytest.raises(exc_type) as info:
        func(*args, **kwargs)
    return str(info.value)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in tmp_path so that files can be named relatively, as a user would."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(name: str, text: str) -> str:
    Path(name).write_text(text, encoding="utf-8")
    return name


# -- Column ----------------------------------------------------------------------------


def test_column_defaults() -> None:
    col = Column("score")
    assert (col.kind, col.required, col.allow_nan, col.prefix) == ("float", True, False, False)


def test_column_rejects_unknown_kind() -> None:
    message = raised(ValueError, Column, "score", "real")
    assert message == (
        "`kind` must be one of float, int, binary, count, probability, label, got 'real'."
    )


def test_column_rejects_empty_name() -> None:
    assert "non-empty string" in raised(TypeError, Column, "")


def test_input_error_is_a_value_error() -> None:
    assert issubclass(VarkitError, ValueError)


# -- read_table: file-level errors ------------------------------------------------------


def test_missing_file_names_the_path_as_given(in_tmp: Path) -> None:
    message = raised(VarkitError, read_table, "nope.csv", [Column("score")])
    assert message == "file 'nope.csv' does not exist."


def test_missing_file_with_what(in_tmp: Path) -> None:
    message = raised(VarkitError, read_table, "e.csv", [Column("x")], what="eligibility table")
    assert message == "eligibility table 'e.csv' does not exist."


def test_directory_is_not_a_file(in_tmp: Path) -> None:
    Path("logs").mkdir()
    assert raised(VarkitError, read_table, "logs", []) == "file 'logs' is a directory, not a file."


@pytest.mark.parametrize("content", ["", "   \n\n  \n"])
def test_empty_file(in_tmp: Path, content: str) -> None:
    write("x.csv", content)
    assert raised(VarkitError, read_table, "x.csv", [Column("score")]) == "file 'x.csv' is empty."


def test_header_without_rows(in_tmp: Path) -> None:
    write("x.csv", "member,score\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("score")])
    assert message == "file 'x.csv' has a header but no rows."


def test_ragged_csv_is_reported_as_invalid(in_tmp: Path) -> None:
    write("x.csv", "a,b\n1,2\n1,2,3\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("a")])
    assert message.startswith("file 'x.csv' is not a valid CSV file (")
    assert "Expected 2 fields in line 3, saw 3" in message
    assert message.endswith(").")


def test_non_utf8_file(in_tmp: Path) -> None:
    Path("x.csv").write_bytes(b"a,b\n1,\xff\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("a")])
    assert message.startswith("file 'x.csv' is not UTF-8 text")


def test_unreadable_file(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write("x.csv", "score\n1\n")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pd, "read_csv", refuse)
    message = raised(VarkitError, read_table, "x.csv", [Column("score")])
    assert message == "file 'x.csv' cannot be read (Permission denied)."


def test_path_object_is_named_as_given(write_file: Any) -> None:
    path = write_file("sub/x.csv", "score\n1\nq\n")
    message = raised(VarkitError, read_table, path, [Column("score")])
    assert message == f"{path}: column 'score' must be numeric, but row 2 holds 'q'."
    missing = path.with_name("y.csv")
    message = raised(VarkitError, read_table, missing, [Column("score")])
    assert message == f"file '{missing}' does not exist."


# -- read_table: column errors -----------------------------------------------------------


def test_missing_column_lists_the_found_columns(in_tmp: Path) -> None:
    write("x.csv", "a,b,c\n1,2,3\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("a"), Column("score")])
    assert message == "x.csv: required column 'score' is missing (found: a, b, c)."


def test_missing_column_list_is_truncated(in_tmp: Path) -> None:
    names = [f"c{i}" for i in range(25)]
    write("x.csv", ",".join(names) + "\n" + ",".join("1" * 25) + "\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("score")])
    assert message == (
        "x.csv: required column 'score' is missing "
        "(found: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 15 more)."
    )


def test_missing_column_suggests_a_near_name(in_tmp: Path) -> None:
    write("x.csv", "a, Score\n1,2\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("score")])
    assert message == (
        "x.csv: required column 'score' is missing (found: a,  Score; did you mean ' Score'?)."
    )


def test_missing_column_with_what(in_tmp: Path) -> None:
    write("e.csv", "a\n1\n")
    message = raised(
        VarkitError, read_table, "e.csv", [Column("eligible")], what="eligibility table"
    )
    assert message.startswith("eligibility table 'e.csv': required column 'eligible' is missing")


def test_non_numeric_reports_the_first_bad_data_row(in_tmp: Path) -> None:
    rows = ["0.5"] * 16 + ["abc", "xyz"] + ["0.1"] * 3
    write("x.csv", "score\n" + "\n".join(rows) + "\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("score")])
    # Row 17 is the 17th line under the header (line 18 of the file).
    assert message == "x.csv: column 'score' must be numeric, but row 17 holds 'abc'."


def test_non_numeric_row_skips_blank_lines(in_tmp: Path) -> None:
    write("x.csv", "score\n1\n\n2\nabc\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("score")])
    assert message == "x.csv: column 'score' must be numeric, but row 3 holds 'abc'."


def test_non_numeric_is_reported_before_missing(in_tmp: Path) -> None:
    write("y.csv", "id,score\n1,\n2,abc\n")
    message = raised(VarkitError, read_table, "y.csv", [Column("score")])
    assert message == "y.csv: column 'score' must be numeric, but row 2 holds 'abc'."


def test_long_bad_value_is_shortened(in_tmp: Path) -> None:
    write("x.csv", "score\n" + "z" * 100 + "\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("score")])
    assert message == f"x.csv: column 'score' must be numeric, but row 1 holds '{'z' * 37}...'."


@pytest.mark.parametrize("token", ["", "NA", "nan", "NaN", "null", "None", " "])
def test_missing_value_counts_all_missing(in_tmp: Path, token: str) -> None:
    write("x.csv", f"id,score\n1,0.5\n2,0.1\n3,0.2\n4,{token}\n5,1\n6,{token}\n7,{token}\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("score")])
    assert message == "x.csv: column 'score' has a missing value in row 4 (3 missing in all)."


def test_allow_nan_turns_missing_into_nan(in_tmp: Path) -> None:
    write("x.csv", "id,score,count\n1,,\n2,0.5,3\n")
    df = read_table(
        "x.csv", [Column("score", allow_nan=True), Column("count", "count", allow_nan=True)]
    )
    assert df["score"].dtype == np.float64
    assert np.isnan(df["score"].iloc[0]) and df["score"].iloc[1] == 0.5
    # Integer kinds become float64 when they may hold NaN.
    assert df["count"].dtype == np.float64
    assert np.isnan(df["count"].iloc[0]) and df["count"].iloc[1] == 3.0


@pytest.mark.parametrize("cell", ["inf", "-inf", "Infinity"])
def test_infinite_values_are_rejected(in_tmp: Path, cell: str) -> None:
    write("x.csv", f"score\n1\n{cell}\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("score", allow_nan=True)])
    assert message == f"x.csv: column 'score' must be finite, but row 2 holds {cell}."


def test_binary_rejects_other_values(in_tmp: Path) -> None:
    write("x.csv", "member\n" + "1\n0\n" * 4 + "2\n3\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("member", "binary")])
    assert message == "x.csv: column 'member' must hold only 0 and 1, but row 9 holds 2."


def test_binary_rejects_true_false_text(in_tmp: Path) -> None:
    write("x.csv", "member\n1\ntrue\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("member", "binary")])
    assert message == "x.csv: column 'member' must be numeric, but row 2 holds 'true'."


def test_binary_accepts_float_spellings(in_tmp: Path) -> None:
    write("x.csv", "member\n1.0\n0.0\n1\n")
    df = read_table("x.csv", [Column("member", "binary")])
    assert df["member"].dtype == np.int64
    assert df["member"].tolist() == [1, 0, 1]


@pytest.mark.parametrize(("cell", "row"), [("-1", 3), ("2.5", 3)])
def test_count_rejects_negative_and_fractional(in_tmp: Path, cell: str, row: int) -> None:
    write("x.csv", f"impressions\n10\n0\n{cell}\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("impressions", "count")])
    assert message == (
        f"x.csv: column 'impressions' must be a non-negative integer count, "
        f"but row {row} holds {cell}."
    )


def test_count_accepts_integer_valued_floats(in_tmp: Path) -> None:
    write("x.csv", "impressions\n10\n3.0\n0\n")
    df = read_table("x.csv", [Column("impressions", "count")])
    assert df["impressions"].dtype == np.int64
    assert df["impressions"].tolist() == [10, 3, 0]


def test_count_keeps_large_integers_exact(in_tmp: Path) -> None:
    big = 2**62 + 1  # not representable in float64
    write("x.csv", f"n\n{big}\n1\n")
    assert read_table("x.csv", [Column("n", "count")])["n"].tolist() == [big, 1]


def test_count_beyond_int64_is_rejected(in_tmp: Path) -> None:
    write("x.csv", "n\n1\n1e20\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("n", "count")])
    assert message == "x.csv: column 'n' must fit in a 64-bit integer, but row 2 holds 1e20."


def test_int_rejects_fractions(in_tmp: Path) -> None:
    write("x.csv", "fold\n-1\n0.5\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("fold", "int")])
    assert message == "x.csv: column 'fold' must be integer-valued, but row 2 holds 0.5."


@pytest.mark.parametrize("cell", ["1.2", "-0.1"])
def test_probability_outside_unit_interval(in_tmp: Path, cell: str) -> None:
    write("x.csv", f"p_female\n0\n1\n0.5\n{cell}\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("p_female", "probability")])
    assert message == (
        f"x.csv: column 'p_female' must be a probability in [0, 1], but row 4 holds {cell}."
    )


def test_required_prefix_without_match(in_tmp: Path) -> None:
    write("x.csv", "crash,weight\n0,1\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("cv_", prefix=True)])
    assert message == "x.csv: no column starts with 'cv_'."


def test_prefix_columns_are_all_checked(in_tmp: Path) -> None:
    write("x.csv", "crash,cv_speed,cv_gap\n0,0.5,1\n1,-0.5,x\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("cv_", prefix=True)])
    assert message == "x.csv: column 'cv_gap' must be numeric, but row 2 holds 'x'."


def test_label_missing(in_tmp: Path) -> None:
    write("x.csv", "ad_id,impressions\na1,3\n,4\n  ,5\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("ad_id", "label")])
    assert message == "x.csv: column 'ad_id' has a missing value in row 2 (2 missing in all)."


def test_label_allow_nan_and_text_like_na_kept(in_tmp: Path) -> None:
    # 'NA' is a legitimate label (Namibia); only empty cells are missing in a label.
    write("x.csv", "country,model\nNA,\nUS,rf\n")
    df = read_table("x.csv", [Column("country", "label"), Column("model", "label", allow_nan=True)])
    assert df["country"].tolist() == ["NA", "US"]
    assert pd.isna(df["model"].iloc[0]) and df["model"].iloc[1] == "rf"


# -- read_table: success ------------------------------------------------------------------


def test_success_converts_declared_columns_and_keeps_the_rest(in_tmp: Path) -> None:
    write(
        "mia.csv",
        "member,score,model_id,note,cv_a,cv_b\n1,0.9,m1,x,1,2\n0,-0.25,m2,y,3.5,4\n",
    )
    df = read_table(
        "mia.csv",
        [
            Column("member", "binary"),
            Column("score"),
            Column("model_id", "label", required=False),
            Column("absent", required=False),
            Column("cv_", prefix=True),
            Column("w_", prefix=True, required=False),
        ],
    )
    assert list(df.columns) == ["member", "score", "model_id", "note", "cv_a", "cv_b"]
    assert df["member"].dtype == np.int64 and df["member"].tolist() == [1, 0]
    assert df["score"].dtype == np.float64 and df["score"].tolist() == [0.9, -0.25]
    assert pd.api.types.is_string_dtype(df["model_id"]) and df["model_id"].tolist() == [
        "m1",
        "m2",
    ]
    assert pd.api.types.is_string_dtype(df["note"])  # undeclared: left as read
    assert df["cv_a"].dtype == np.float64 and df["cv_b"].tolist() == [2.0, 4.0]
    assert isinstance(df.index, pd.RangeIndex)


def test_labels_keep_leading_zeros_and_undeclared_columns_are_parsed(in_tmp: Path) -> None:
    write("x.csv", "ad_id,score,age,city\n007,1,31,Oslo\n010,0,,Rome\n")
    df = read_table("x.csv", [Column("ad_id", "label"), Column("score")])
    assert df["ad_id"].tolist() == ["007", "010"]
    assert df["age"].dtype == np.float64 and np.isnan(df["age"].iloc[1])
    assert df["city"].tolist() == ["Oslo", "Rome"]


def test_binary_rejects_a_column_of_true_false(in_tmp: Path) -> None:
    write("x.csv", "member\ntrue\nfalse\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("member", "binary")])
    assert message == "x.csv: column 'member' must be numeric, but row 1 holds 'true'."


def test_fault_quotes_the_cell_as_written(in_tmp: Path) -> None:
    write("x.csv", "member\n1\n0\n2.0\n")
    message = raised(VarkitError, read_table, "x.csv", [Column("member", "binary")])
    assert message == "x.csv: column 'member' must hold only 0 and 1, but row 3 holds 2.0."


@pytest.mark.filterwarnings("error")
def test_text_deep_in_a_large_numeric_column(in_tmp: Path) -> None:
    # pandas reads large files in chunks; a chunk with text must not leak a DtypeWarning.
    rows = ["0.5"] * 1_000_000 + [" ", "x"]
    write("x.csv", "score\n" + "\n".join(rows) + "\n")
    with pytest.raises(VarkitError) as info:
        read_table("x.csv", [Column("score")])
    assert str(info.value) == "x.csv: column 'score' must be numeric, but row 1000001 holds 'x'."


def test_numbers_with_spaces_parse(in_tmp: Path) -> None:
    write("x.csv", "score\n 1.5 \n2\n")
    assert read_table("x.csv", [Column("score")])["score"].tolist() == [1.5, 2.0]


def test_gzipped_csv(in_tmp: Path) -> None:
    with gzip.open("x.csv.gz", "wt") as handle:
        handle.write("score\n1\n2\n")
    assert read_table("x.csv.gz", [Column("score")])["score"].tolist() == [1.0, 2.0]


def test_columns_argument_is_checked(in_tmp: Path) -> None:
    write("x.csv", "score\n1\n")
    assert "sequence of Column" in raised(TypeError, read_table, "x.csv", Column("score"))
    assert "hold Column objects, got str" in raised(TypeError, read_table, "x.csv", ["score"])


# -- Parquet -----------------------------------------------------------------------------


def test_parquet_round_trip(in_tmp: Path) -> None:
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {
            "member": [1, 0, 1],
            "score": [0.9, 0.1, 0.5],
            "impressions": [3.0, 0.0, 7.0],
            "model_id": ["a", "b", "c"],
        }
    )
    frame.to_parquet("x.parquet")
    df = read_table(
        "x.parquet",
        [
            Column("member", "binary"),
            Column("score"),
            Column("impressions", "count"),
            Column("model_id", "label"),
        ],
    )
    assert df["member"].dtype == np.int64 and df["member"].tolist() == [1, 0, 1]
    assert df["score"].tolist() == [0.9, 0.1, 0.5]
    assert df["impressions"].dtype == np.int64 and df["impressions"].tolist() == [3, 0, 7]
    assert df["model_id"].tolist() == ["a", "b", "c"]


def test_parquet_errors_name_the_file_and_row(in_tmp: Path) -> None:
    pytest.importorskip("pyarrow")
    pd.DataFrame({"score": [0.5, np.nan, np.nan]}).to_parquet("x.pq")
    message = raised(VarkitError, read_table, "x.pq", [Column("score")])
    assert message == "x.pq: column 'score' has a missing value in row 2 (2 missing in all)."
    pd.DataFrame({"score": pd.Series([], dtype=float)}).to_parquet("empty.parquet")
    message = raised(VarkitError, read_table, "empty.parquet", [Column("score")])
    assert message == "file 'empty.parquet' has no rows."


def test_corrupt_parquet(in_tmp: Path) -> None:
    pytest.importorskip("pyarrow")
    write("x.parquet", "member,score\n1,2\n")
    message = raised(VarkitError, read_table, "x.parquet", [Column("score")])
    assert message.startswith("file 'x.parquet' is not a valid Parquet file (")


def test_parquet_without_pyarrow(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    write("x.parquet", "not really parquet")
    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    message = raised(VarkitError, read_table, "x.parquet", [Column("score")])
    assert message == (
        "reading the Parquet file 'x.parquet' needs pyarrow (pip install 'varkit[parquet]')."
    )


# -- validate_frame -----------------------------------------------------------------------


def test_validate_frame_uses_source_and_position_rows() -> None:
    df = pd.DataFrame({"score": [0.1, 0.2, np.nan]}, index=[10, 20, 30])
    message = raised(VarkitError, validate_frame, df, [Column("score")], source="scores")
    assert message == "scores: column 'score' has a missing value in row 3 (1 missing in all)."


def test_validate_frame_default_source() -> None:
    df = pd.DataFrame({"member": [0, 1, 2]})
    message = raised(VarkitError, validate_frame, df, [Column("member", "binary")])
    assert message == "data: column 'member' must hold only 0 and 1, but row 3 holds 2."


def test_validate_frame_does_not_modify_its_input() -> None:
    df = pd.DataFrame({"n": ["1", "2"], "other": [1, 2]}, index=[5, 6])
    out = validate_frame(df, [Column("n", "count")])
    assert df["n"].tolist() == ["1", "2"]
    assert out["n"].tolist() == [1, 2] and out["n"].dtype == np.int64
    assert list(out.index) == [5, 6]


def test_validate_frame_typed_columns() -> None:
    df = pd.DataFrame(
        {
            "member": [True, False],
            "clicks": pd.array([3, 4], dtype="Int64"),
            "score": pd.array([0.5, None], dtype="Float64"),
            "model": [1, 2],
        }
    )
    out = validate_frame(
        df,
        [
            Column("member", "binary"),
            Column("clicks", "count"),
            Column("score", allow_nan=True),
            Column("model", "label"),
        ],
    )
    assert out["member"].tolist() == [1, 0] and out["member"].dtype == np.int64
    assert out["clicks"].tolist() == [3, 4] and out["clicks"].dtype == np.int64
    assert out["score"].dtype == np.float64 and np.isnan(out["score"].iloc[1])
    assert out["model"].tolist() == ["1", "2"]


def test_validate_frame_rejects_booleans_in_numeric_kinds() -> None:
    df = pd.DataFrame({"crash": [True, False]})
    message = raised(VarkitError, validate_frame, df, [Column("crash")])
    assert message == "data: column 'crash' must be numeric, but it holds booleans (True/False)."


def test_validate_frame_rejects_dates_and_complex() -> None:
    dates = pd.DataFrame({"t": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    assert "holds dates or times" in raised(VarkitError, validate_frame, dates, [Column("t")])
    numbers = pd.DataFrame({"z": np.array([1 + 1j, 2])})
    assert "complex numbers" in raised(VarkitError, validate_frame, numbers, [Column("z")])


def test_validate_frame_object_column_with_none_and_text() -> None:
    df = pd.DataFrame({"score": [1.0, None, "bad"]}, dtype=object)
    message = raised(VarkitError, validate_frame, df, [Column("score", allow_nan=True)])
    assert message == "data: column 'score' must be numeric, but row 3 holds 'bad'."


def test_validate_frame_empty_frame() -> None:
    df = pd.DataFrame({"score": pd.Series([], dtype=float)})
    assert raised(VarkitError, validate_frame, df, [Column("score")]) == "data has no rows."


def test_validate_frame_duplicate_columns() -> None:
    df = pd.DataFrame([[1, 2]], columns=["score", "score"])
    message = raised(VarkitError, validate_frame, df, [Column("score")])
    assert message == "data: column 'score' appears 2 times."


def test_validate_frame_needs_a_dataframe() -> None:
    message = raised(TypeError, validate_frame, {"score": [1]}, [Column("score")])
    assert message == "`df` must be a pandas DataFrame, got dict."


def test_validate_frame_many_rows_reports_the_right_row() -> None:
    values = np.zeros(300_000)
    values[265_432] = 1.5
    df = pd.DataFrame({"member": values.astype(str)})
    message = raised(VarkitError, validate_frame, df, [Column("member", "binary")])
    assert message == "data: column 'member' must hold only 0 and 1, but row 265433 holds 1.5."


# -- check_array --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "kind", "expected"),
    [
        ([1, 2, 3], "float", np.array([1.0, 2.0, 3.0])),
        (np.array([1, 0], dtype=np.int8), "binary", np.array([1, 0])),
        ([True, False], "binary", np.array([1, 0])),
        ([3.0, 0.0], "count", np.array([3, 0])),
        ([-2, 4], "int", np.array([-2, 4])),
        (pd.Series([0.0, 0.5, 1.0]), "probability", np.array([0.0, 0.5, 1.0])),
        ((1.5, 2.5), "float", np.array([1.5, 2.5])),
    ],
)
def test_check_array_converts(values: Any, kind: str, expected: np.ndarray) -> None:
    out = check_array(values, "x", kind=kind)
    expected_dtype = np.int64 if kind in ("binary", "count", "int") else np.float64
    assert out.dtype == expected_dtype
    np.testing.assert_array_equal(out, expected)


def test_check_array_object_list_with_none_allowed() -> None:
    out = check_array([1, None, 2.5], "score", allow_nan=True)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, np.nan, 2.5])


def test_check_array_nullable_series() -> None:
    series = pd.Series([1, None, 3], dtype="Int64")
    message = raised(VarkitError, check_array, series, "clicks", kind="count")
    assert message == "`clicks` has a missing value at index 1 (1 missing in all)."
    out = check_array(series, "clicks", kind="count", allow_nan=True)
    assert out.dtype == np.float64 and np.isnan(out[1])


@pytest.mark.parametrize(
    ("values", "kind", "message"),
    [
        (["a", "b"], "float", "`score` must be numeric, got strings."),
        ([True, False], "float", "`score` must be numeric, got booleans."),
        ([1 + 2j], "float", "`score` must hold real numbers, got complex numbers."),
        (np.array(["2024-01-01"], dtype="datetime64[D]"), "float", "got dates or times"),
        ([1.0, "x"], "float", "`score` must be numeric, got strings."),
        (np.array([1.0, "x"], dtype=object), "float", "but index 1 holds 'x'."),
        (None, "float", "`score` must be array-like, got NoneType."),
        ("0.5", "float", "`score` must be array-like, got str."),
        ({"a": 1}, "float", "`score` must be array-like, got dict."),
    ],
)
def test_check_array_type_errors(values: Any, kind: str, message: str) -> None:
    assert message in raised(TypeError, check_array, values, "score", kind=kind)


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        (0.5, {}, "`score` must be 1-dimensional, got a scalar."),
        ([[1.0, 2.0]], {}, "`score` must be 1-dimensional, got 2 dimensions."),
        ([], {}, "`score` is empty; it needs at least 1 value(s)."),
        ([1.0], {"min_size": 2}, "`score` must hold at least 2 values, got 1."),
        ([[1.0], [1.0, 2.0]], {}, "`score` must be a rectangular array, not ragged lists."),
        (
            [1.0, np.nan, np.nan],
            {},
            "`score` has a missing value at index 1 (2 missing in all).",
        ),
        ([1.0, -np.inf], {"allow_nan": True}, "`score` must be finite, but index 1 holds -inf."),
        (
            [0, 1, 2],
            {"kind": "binary"},
            "`score` must hold only 0 and 1, but index 2 holds 2.",
        ),
        (
            [3, -1],
            {"kind": "count"},
            "`score` must be a non-negative integer count, but index 1 holds -1.",
        ),
        (
            [0.5, 1.25],
            {"kind": "probability"},
            "`score` must be a probability in [0, 1], but index 1 holds 1.25.",
        ),
        ([1.0, 2.5], {"kind": "int"}, "`score` must be integer-valued, but index 1 holds 2.5."),
        (
            np.array([[1.0, 2.0], [3.0, np.nan]]),
            {"ndim": 2},
            "`score` has a missing value at index (1, 1) (1 missing in all).",
        ),
        (
            np.array([1, 2**64 - 1], dtype=np.uint64),
            {"kind": "count"},
            "`score` must fit in a 64-bit integer, but index 1 holds",
        ),
    ],
)
def test_check_array_value_errors(values: Any, kwargs: dict[str, Any], message: str) -> None:
    assert message in raised(VarkitError, check_array, values, "score", **kwargs)


def test_check_array_two_dimensional_frame() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    out = check_array(frame, "X", ndim=2)
    assert out.shape == (2, 2) and out.dtype == np.float64


def test_check_array_labels() -> None:
    out = check_array(["rf", 3], "model", kind="label")
    assert out.tolist() == ["rf", "3"]
    message = raised(VarkitError, check_array, ["rf", ""], "model", kind="label")
    assert message == "`model` has a missing value at index 1 (1 missing in all)."
    assert pd.isna(check_array(["rf", None], "model", kind="label", allow_nan=True)[1])


def test_check_array_bad_arguments() -> None:
    assert "`kind` must be one of" in raised(ValueError, check_array, [1], "x", kind="real")
    assert "`ndim` must be" in raised(ValueError, check_array, [1], "x", ndim=-1)
    assert "`min_size` must be" in raised(ValueError, check_array, [1], "x", min_size=1.5)


def test_check_array_first_bad_index_in_a_large_array() -> None:
    values = np.ones(2_000_000)
    values[1_234_567] = -3.0
    values[1_500_000] = -4.0
    message = raised(VarkitError, check_array, values, "weight", kind="count")
    assert message == "`weight` must be a non-negative integer count, but index 1234567 holds -3."


# -- issue 14: repeated names, numbers past float's range, wide files ---------------------
@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("x,x,y", "column name 'x' twice (columns 1 and 2)"),
        ("x,y,y", "column name 'y' twice (columns 2 and 3)"),
    ],
)
def test_repeated_column_name_is_an_error_naming_it(
    tmp_path: Path, header: str, fragment: str
) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(f"{header}\n1,2,3\n")
    # pandas would read the second one as `x.1`/`y.1`, silently
    with pytest.raises(VarkitError, match=re.escape(fragment)):
        read_table(path, [Column("x")])


@pytest.mark.parametrize("kind", ["float", "count", "int"])
@pytest.mark.parametrize("sign", ["", "-"])
def test_integer_of_400_digits_in_a_cell_is_one_line_naming_row(
    tmp_path: Path, kind: str, sign: str
) -> None:
    path = tmp_path / "big.csv"
    path.write_text(f"x,y\n2,1\n{sign}1{'0' * 400},1\n")
    with pytest.raises(
        VarkitError, match=r"column 'x' must be finite, but row 2 holds .*too large"
    ):
        read_table(path, [Column("x", kind)])


def test_integer_past_float_range_in_memory_and_in_arrays() -> None:
    frame = pd.DataFrame({"x": [1, 10**5000]}, dtype=object)
    with pytest.raises(VarkitError, match="row 2 holds an integer of about 5001 digits"):
        validate_frame(frame, [Column("x")])
    with pytest.raises(VarkitError, match=r"index 1 holds 1000.*too large"):
        check_array([1, 10**400], "x")


def test_wide_csv_reads_without_performance_warning(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(3000)]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = read_table(path, [Column("c", prefix=True)])
        frame["extra"] = 1.0  # the next insert used to warn of a fragmented frame
    assert frame.shape == (1, 3001) and list(frame.columns[:3]) == ["c0", "c1", "c2"]


def test_first_row_numbers_rows_of_a_piece_as_in_the_file() -> None:
    frame = pd.DataFrame({"x": [1.0, float("nan")]})
    with pytest.raises(VarkitError, match="missing value in row 1002"):
        validate_frame(frame, [Column("x")], first_row=1001)
