"""The front door varkit.cav.crash_rate: one answer whatever the input and the engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from varkit.cav import (
    METHODS,
    OvertakingScenario,
    crash_rate,
    importance_sampling_estimate,
    nde_estimate,
    sparse_control_variates,
)
from varkit.datasets import load_cav_example
from varkit.errors import VarkitError
from varkit.results import Result, ResultSet

SEED = 7


def _log(method: str, n: int = 2000) -> pd.DataFrame:
    """The bundled log, or for nde tests drawn from the naturalistic distribution."""
    if method == "nde":
        return OvertakingScenario().simulate(n, "surrogate", testing="nde", random_state=4)
    return load_cav_example().iloc[:n].reset_index(drop=True)


def _with_ids(frame: pd.DataFrame) -> pd.DataFrame:
    # ids that are not the positions, so that a glob keys the same folds as the frame
    return frame.assign(test_id=np.arange(len(frame)) * 3 + 11)


def _write_csv(frame: pd.DataFrame, path: Path) -> str:
    frame.to_csv(path, index=False, float_format="%.17g")
    return str(path)


def _split(frame: pd.DataFrame, folder: Path) -> str:
    """The frame in two CSV files; the glob that reads them back in order."""
    cut = len(frame) * 2 // 3
    _write_csv(frame.iloc[:cut], folder / "log-0.csv")
    _write_csv(frame.iloc[cut:].reset_index(drop=True), folder / "log-1.csv")
    return str(folder / "log-*.csv")


def _numbers(r: Result) -> tuple[object, ...]:
    return (r.metric, r.method, r.n, r.estimate, r.stderr, r.ci_low, r.ci_high)


def _assert_close(a: ResultSet, b: ResultSet, rtol: float) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert (ra.metric, ra.method, ra.n, ra.group) == (rb.metric, rb.method, rb.n, rb.group)
        for name in ("estimate", "stderr", "ci_low", "ci_high"):
            x, y = getattr(ra, name), getattr(rb, name)
            assert (x is None) == (y is None), name
            if x is not None:
                assert x == pytest.approx(y, rel=rtol, abs=0), name


# the methods of sums (learned fits models on the rows: tests/cav/test_learned.py)
SUM_METHODS = [m for m in METHODS if m != "learned"]


@pytest.mark.parametrize("method", SUM_METHODS)
def test_frame_path_and_glob_give_the_same_result(tmp_path: Path, method: str) -> None:
    frame = _with_ids(_log(method))
    options = {"method": method, "random_state": SEED, "pool_above": 3, "row_id": "test_id"}
    from_frame = crash_rate(frame, **options)
    from_path = crash_rate(_write_csv(frame, tmp_path / "log.csv"), **options)
    from_path_like = crash_rate(tmp_path / "log.csv", **options)
    from_glob = crash_rate(_split(frame, tmp_path), **options)
    for other in (from_path, from_path_like, from_glob):
        assert [_numbers(r) for r in other] == [_numbers(r) for r in from_frame]
    assert len(from_glob.provenance["inputs"]) == 2 and from_frame.provenance["inputs"] == []


@pytest.mark.parametrize("method", SUM_METHODS)
def test_memory_and_dask_engines_agree(tmp_path: Path, method: str) -> None:
    pattern = _split(_log(method), tmp_path)
    options = {"method": method, "random_state": SEED, "pool_above": 3}
    memory = crash_rate(pattern, **options)
    dask = crash_rate(pattern, engine="dask", rows_per_partition=400, **options)
    chunks = crash_rate(pattern, engine="chunks", rows_per_partition=700, **options)
    _assert_close(dask, memory, rtol=1e-9)
    _assert_close(chunks, memory, rtol=1e-9)
    assert dask.results[0].details["partitions"] == 6  # 1333 rows: 4 pieces of <= 400; 667: 2
    assert dask.provenance["inputs"] == memory.provenance["inputs"]


def test_front_door_is_the_estimator_bit_for_bit() -> None:
    log = _log("scv")
    results = crash_rate(log, pool_above=3, random_state=SEED)
    direct = sparse_control_variates(
        log["crash"],
        log["weight"],
        log["n_critical"],
        log.filter(like="cv_"),
        pool_above=3,
        control_names=list(log.filter(like="cv_").columns),
        random_state=SEED,
    )
    assert results.results[0] == direct
    is_result = crash_rate(log, method="is", alternative="less", weight_bound=2.0).results[0]
    assert is_result == importance_sampling_estimate(
        log["crash"], log["weight"], alternative="less", weight_bound=2.0
    )
    nde = _log("nde")
    assert crash_rate(nde, method="nde").results[0] == nde_estimate(nde["crash"])


def test_provenance_names_the_function_the_inputs_and_the_seed(tmp_path: Path) -> None:
    path = _write_csv(_log("is"), tmp_path / "log.csv")
    results = crash_rate(path, method="cv")
    prov = results.provenance
    assert prov["function"] == "varkit.cav.crash_rate" and prov["device"] == "cpu"
    assert [i["path"] for i in prov["inputs"]] == [path]
    # the seed drawn once for the folds is the one the estimate used
    assert isinstance(prov["seed"], int) and results.results[0].details["seed"] == prov["seed"]
    assert "running_skipped_checkpoints" not in prov
    assert [r.metric for r in results] == ["crash_rate", "tests_required"]


def test_running_adds_checkpoints_and_lists_those_skipped() -> None:
    results = crash_rate(_log("scv"), running=8, pool_above=3, random_state=SEED)
    main, needed, *curve = results
    skipped = results.provenance["running_skipped_checkpoints"]
    assert needed.metric == "tests_required" and len(curve) + len(skipped) == 8 and skipped
    assert curve[-1].n == main.n and curve[-1].estimate == pytest.approx(main.estimate, rel=1e-12)
    plain = crash_rate(_log("is"), method="is", running=5)
    assert plain.provenance["running_skipped_checkpoints"] == [] and len(plain) == 7


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"method": "bogus"}, "`method`"),
        ({"engine": "gpu"}, "`engine`"),
        ({"scheduler": "local:2"}, "`scheduler`"),
        ({"rows_per_partition": 10}, "`rows_per_partition`"),
        ({"method": "cv", "alternative": "less"}, "`alternative`"),
        ({"method": "nde", "weight_bound": 2.0}, "`weight_bound`"),
        ({"engine": "dask", "running": 5}, "`running`"),
        ({"running": 0}, "`running`"),
        ({"engine": "dask", "fit": "ridge"}, "`fit`"),
        ({"engine": "dask"}, "`log`"),
        ({"method": "cv", "control_means": [0.0, 1.0]}, "`control_means`"),
    ],
)
def test_bad_options_raise_naming_the_parameter(options: dict[str, object], named: str) -> None:
    with pytest.raises(VarkitError, match=named):
        crash_rate(_log("is", 200), **options)  # type: ignore[arg-type]


def test_bad_method_lists_the_methods() -> None:
    with pytest.raises(
        VarkitError, match=r"`method` must be one of nde, is, cv, scv, learned, got 'x'"
    ):
        crash_rate(_log("is", 100), method="x")


def test_a_log_that_is_no_table_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="`log`"):
        crash_rate(42)  # type: ignore[arg-type]


def test_a_missing_column_names_the_frame() -> None:
    with pytest.raises(VarkitError, match="log: .*'crash'"):
        crash_rate(_log("is", 100).drop(columns="crash"), method="is")
