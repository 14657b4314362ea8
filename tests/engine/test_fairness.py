"""Per-ad shuffle distance over partitions: partition-invariant, and the in-memory metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.datasets.fairness import load_eligible_example, load_impressions_example
from varkit.engine import LogSource
from varkit.fairness import vrs_metrics
from varkit.fairness.logs import user_keys, vrs_log
from varkit.gpu import counter_rng as crng
from varkit.gpu.backend import resolve_device
from varkit.gpu.replicates import replicate_sums
from varkit.gpu.segments import (
    segment_poisson_kernel,
    segment_poisson_reference,
    segment_poisson_sums,
)
from varkit.gpu.statistics import LinearProblem
from varkit.results import ResultSet, load_json_schema


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """The bundled impressions log split into a CSV and a Parquet file."""
    log = load_impressions_example()
    half = len(log) // 2
    log.iloc[:half].to_csv(tmp_path / "imp-0.csv", index=False)
    log.iloc[half:].reset_index(drop=True).to_parquet(tmp_path / "imp-1.parquet")
    load_eligible_example().to_csv(tmp_path / "eligible.csv", index=False)
    return tmp_path


def endpoints(results: ResultSet) -> np.ndarray:
    return np.array([[r.estimate, r.ci_low, r.ci_high] for r in results], dtype=float)


def test_segment_kernel_equals_the_engine_per_segment() -> None:
    rng = np.random.default_rng(0)
    z = rng.random((300, 3))
    users = rng.integers(0, 10_000, size=300)
    segment = np.repeat([0, 1, 2], 100)
    offsets = crng.unit_offsets(user_keys(users))
    got = segment_poisson_kernel(z, offsets, crng.replicate_keys(7, 0, 50), segment, 3)
    for s in range(3):
        rows = segment == s
        problem = LinearProblem(
            "g",
            np.ascontiguousarray(z[rows]),
            np.array([0, 100]),
            user_keys(users[rows]),
            np.zeros(100, np.int64),
            lambda v: v,
            100,
        )
        want = replicate_sums(
            problem, scheme="poisson", seed=7, n_resamples=50, backend=resolve_device("cpu")
        )
        np.testing.assert_allclose(got[s], want, rtol=1e-12)


def test_segment_kernel_equals_its_numpy_reference_and_the_entry_point() -> None:
    rng = np.random.default_rng(1)
    z = rng.random((500, 4))
    keys = user_keys(rng.integers(0, 10**9, size=500))
    segment = np.sort(rng.integers(0, 7, size=500))
    offsets = crng.unit_offsets(keys)
    replicate_keys = crng.replicate_keys(11, 0, 30)
    want = segment_poisson_reference(z, offsets, replicate_keys, segment, 7)
    got = segment_poisson_kernel(z, offsets, replicate_keys, segment, 7)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    entry = segment_poisson_sums(z, keys, segment, 7, seed=11, n_resamples=30)
    np.testing.assert_array_equal(entry, got)


def test_same_intervals_for_any_partitioning_and_on_a_cluster(logs: Path, client: Any) -> None:
    eligible = load_eligible_example()
    runs = [
        vrs_log(
            LogSource(str(logs / "imp-*"), npartitions=n),
            eligible,
            "sex",
            n_resamples=200,
            random_state=3,
            engine=engine,
            client=c,
        )
        for engine, n, c in (
            ("chunks", 1, None),
            ("dask", 3, None),
            ("dask", 7, None),
            ("dask", 4, client),
        )
    ]
    for other in runs[1:]:
        np.testing.assert_allclose(endpoints(other), endpoints(runs[0]), rtol=1e-10)


def test_point_metrics_equal_the_in_memory_vrs_metrics(logs: Path) -> None:
    eligible = load_eligible_example()
    got = vrs_log(
        str(logs / "imp-*"), eligible, "race", n_resamples=300, random_state=1, engine="chunks"
    )
    want = vrs_metrics(
        load_impressions_example(),
        eligible,
        "race",
        n_resamples=300,
        scheme="poisson",
        redraw_membership=False,
        random_state=1,
    )
    np.testing.assert_allclose([r.estimate for r in got], [r.estimate for r in want], rtol=1e-12)
    # different random draws, the same user bootstrap: standard errors agree to MC error
    ratio = np.array([a.stderr / b.stderr for a, b in zip(got, want, strict=True) if b.stderr])
    assert 0.8 < np.median(ratio) < 1.25


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_dask_engine_is_schema_valid_and_partition_invariant(logs: Path) -> None:
    base = [
        "fairness",
        "vrs",
        str(logs / "imp-*"),
        "--eligible",
        str(logs / "eligible.csv"),
        "--attribute",
        "sex",
        "--resamples",
        "100",
        "--seed",
        "4",
        "--format",
        "json",
        "--engine",
        "dask",
    ]
    outs = []
    for rows in ("500", "1500"):
        code, out, err = invoke(*base, "--partition-rows", rows)
        assert code == 0, err
        jsonschema.validate(json.loads(out), load_json_schema())
        outs.append(ResultSet.from_json(out))
    np.testing.assert_allclose(endpoints(outs[0]), endpoints(outs[1]), rtol=1e-10)
    assert any(r.metric == "compliance_coverage" for r in outs[0])


def test_cli_bad_partition_gives_one_error_line(logs: Path) -> None:
    frame = pd.read_parquet(logs / "imp-1.parquet")
    frame.loc[len(frame) - 5, "impressions"] = np.nan
    frame.to_parquet(logs / "imp-1.parquet")
    code, _, err = invoke(
        "fairness",
        "vrs",
        str(logs / "imp-*"),
        "--eligible",
        str(logs / "eligible.csv"),
        "--attribute",
        "sex",
        "--engine",
        "dask",
        "--resamples",
        "20",
        "--partition-rows",
        "400",
    )
    assert code == 2 and err.count("\n") == 1 and err.startswith("error:")
    assert "imp-1.parquet" in err and "'impressions'" in err


def test_cli_dask_refuses_reach(logs: Path) -> None:
    code, _, err = invoke(
        "fairness",
        "vrs",
        str(logs / "imp-*"),
        "--eligible",
        str(logs / "eligible.csv"),
        "--attribute",
        "sex",
        "--engine",
        "dask",
        "--unit",
        "reach",
    )
    assert code == 2 and "reach" in err and err.startswith("error:")


@pytest.mark.parametrize(
    "values",
    [
        [12, 7, 3_000_000_000],
        ["a", "12", "é"],
        pd.Index(["x", "y"], dtype=object),
        pd.Index(["q", "r"], dtype="str"),
        np.array([1.5, 2.0]),
    ],
)
def test_user_keys_are_siphash_of_the_ids_text_whatever_the_container(values: Any) -> None:
    """The fast paths (pandas string arrays) give the keys of the definition: text, hashed."""
    text = np.asarray(values).astype(str).astype(object)
    want = np.asarray(pd.util.hash_array(text), dtype=np.uint64)
    np.testing.assert_array_equal(user_keys(values), want)


def test_merging_partials_with_different_ads_adds_ad_by_ad() -> None:
    from varkit.fairness.logs import AdPartial, merge_ad_partials

    info = {"n_rows": 1, "dropped_impressions": 0, "renormalised_rows": 0}
    info.update(soft=False, by_user=True)
    rng = np.random.default_rng(1)

    def part(ads: list[str]) -> AdPartial:
        n = len(ads)
        return AdPartial(
            np.array(ads, dtype=object),
            rng.random((n, 3)),
            rng.random((n, 4, 2)),
            rng.integers(1, 9, n),
            dict(info),
        )

    a, b = part(["1", "10", "3"]), part(["10", "2", "3", "4"])
    merged = merge_ad_partials(a, b)
    assert merged.ads.tolist() == ["1", "10", "2", "3", "4"]
    assert merged.info["n_rows"] == 2
    for j, ad in enumerate(merged.ads):
        for field in ("totals", "sums", "rows"):
            want = sum(getattr(p, field)[p.ads.tolist().index(ad)] for p in (a, b) if ad in p.ads)
            np.testing.assert_array_equal(getattr(merged, field)[j], want)
