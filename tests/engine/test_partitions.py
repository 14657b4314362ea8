"""Row ids that do not depend on the partitioning; per-partition checks of the columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.engine.conftest import make_log
from varkit.errors import VarkitError
from varkit.io import Column
from varkit.io.partitions import (
    FILE_SHIFT,
    ROW_ID,
    expand_paths,
    iter_frames,
    plan_pieces,
    read_all,
    read_partitioned,
)


def test_row_ids_are_file_index_and_row_offset_whatever_the_partitioning(
    tmp_path: Path,
) -> None:
    frame = make_log(tmp_path, n=1000)
    expected = np.r_[np.arange(500), (1 << FILE_SHIFT) + np.arange(500)].astype(np.uint64)
    for n_parts in (1, 3, 7):
        parts = list(
            iter_frames(str(tmp_path / "part-*"), [Column("revenue")], npartitions=n_parts)
        )
        ids = np.concatenate([p[ROW_ID].to_numpy() for p in parts])
        np.testing.assert_array_equal(ids, expected)
        values = np.concatenate([p["revenue"].to_numpy() for p in parts])
        np.testing.assert_array_equal(values, frame["revenue"].to_numpy())
    whole = read_all(str(tmp_path / "part-*"), [Column("revenue")])
    np.testing.assert_array_equal(whole[ROW_ID].to_numpy(), expected)


def test_parquet_pieces_follow_row_groups_by_default(tmp_path: Path) -> None:
    make_log(tmp_path, n=1000)
    pieces = plan_pieces([str(tmp_path / "part-1.parquet")])
    assert [(p.start, p.stop) for p in pieces] == [(0, 251), (251, 500)]


def test_dask_dataframe_holds_the_same_rows_and_ids(tmp_path: Path) -> None:
    make_log(tmp_path, n=600)
    ddf = read_partitioned(str(tmp_path / "part-*"), [Column("revenue")], npartitions=4)
    assert ddf.npartitions == 4
    got = ddf.compute(scheduler="sync")
    want = read_all(str(tmp_path / "part-*"), [Column("revenue")])
    np.testing.assert_array_equal(got[ROW_ID].to_numpy(), want[ROW_ID].to_numpy())


def test_a_user_row_id_column_keys_the_rows(tmp_path: Path) -> None:
    pd.DataFrame({"id": [7, 3, 9], "x": [1.0, 2.0, 3.0]}).to_csv(tmp_path / "a.csv", index=False)
    frame = read_all(str(tmp_path / "a.csv"), [Column("x")], row_id="id")
    assert frame[ROW_ID].tolist() == [7, 3, 9]


def test_a_missing_column_in_one_file_is_reported_before_any_work(tmp_path: Path) -> None:
    make_log(tmp_path, n=100)
    pd.DataFrame({"cost": [1.0]}).to_csv(tmp_path / "part-2.csv", index=False)
    with pytest.raises(VarkitError, match=r"part-2.csv: required column 'revenue' is missing"):
        read_partitioned(str(tmp_path / "part-*"), [Column("revenue")])


def test_a_bad_value_in_a_later_partition_names_file_rows_and_column(tmp_path: Path) -> None:
    text = "x\n" + "1.0\n" * 50 + "nan\n" + "2.0\n" * 10
    (tmp_path / "a.csv").write_text(text)
    parts = iter_frames(str(tmp_path / "a.csv"), [Column("x")], rows_per_partition=20)
    with pytest.raises(VarkitError, match=r"a.csv \(data rows 41-60\): column 'x'"):
        list(parts)


def test_a_glob_matching_nothing_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(VarkitError, match="no file matches"):
        expand_paths(str(tmp_path / "*.parquet"))


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_only_the_declared_columns_are_read(tmp_path: Path, suffix: str) -> None:
    """An undeclared column is never read: its bad values raise nothing, it is not returned."""
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "junk": ["a", None, "c"], "id": [7, 8, 9]})
    path = tmp_path / f"log.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    (got,) = iter_frames(str(path), [Column("x")], row_id="id")
    assert list(got.columns) == ["x", "id", ROW_ID]
    assert got[ROW_ID].tolist() == [7, 8, 9]


# -- issue 14: names that read as globs, rows numbered in the file, repeated names --------
def test_a_file_whose_name_reads_as_a_glob_is_that_file(tmp_path: Path) -> None:
    (tmp_path / "log1.csv").write_text("x\n1\n")
    (tmp_path / "log[1].csv").write_text("x\n2\n3\n")
    assert expand_paths(str(tmp_path / "log[1].csv")) == [str(tmp_path / "log[1].csv")]
    frame = read_all(str(tmp_path / "log[1].csv"), [Column("x")])
    assert frame["x"].tolist() == [2.0, 3.0]
    frames = list(iter_frames(str(tmp_path / "log[1].csv"), [Column("x")]))
    assert frames[0]["x"].tolist() == [2.0, 3.0]


def test_a_bad_value_names_its_row_in_the_file_not_in_the_piece(tmp_path: Path) -> None:
    text = "x\n" + "1.0\n" * 50 + "abc\n" + "2.0\n" * 10
    (tmp_path / "a.csv").write_text(text)
    parts = iter_frames(str(tmp_path / "a.csv"), [Column("x")], rows_per_partition=20)
    with pytest.raises(VarkitError, match=r"data rows 41-60\): column 'x' .* row 51 holds 'abc'"):
        list(parts)


def test_a_repeated_column_name_in_a_glob_member_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "p1.csv").write_text("x,y\n1,2\n")
    (tmp_path / "p2.csv").write_text("x,x\n1,2\n")
    with pytest.raises(VarkitError, match=r"p2.csv' has the column name 'x' twice"):
        list(iter_frames(str(tmp_path / "p*.csv"), [Column("x")]))
