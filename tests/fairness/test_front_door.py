"""varkit.fairness.vrs: the same results from a DataFrame, a path or a glob, on every engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from varkit.datasets.fairness import load_eligible_example, load_impressions_example
from varkit.errors import VarkitError
from varkit.fairness import vrs, vrs_coverage, vrs_metrics
from varkit.fairness.logs import vrs_log
from varkit.results import ResultSet


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled log whole (CSV), split into a CSV and a Parquet file, and the eligible table."""
    folder = tmp_path_factory.mktemp("vrs")
    log = load_impressions_example()
    log.to_csv(folder / "whole.csv", index=False)
    half = len(log) // 2
    log.iloc[:half].to_csv(folder / "part-0.csv", index=False)
    log.iloc[half:].reset_index(drop=True).to_parquet(folder / "part-1.parquet")
    load_eligible_example().to_csv(folder / "eligible.csv", index=False)
    return folder


def per_ad(results: ResultSet) -> list:
    return [r for r in results if r.metric == "shuffle_distance"]


@pytest.mark.parametrize("attribute", ["sex", "race"])
def test_dataframe_path_and_glob_give_the_same_results(logs: Path, attribute: str) -> None:
    options = dict(n_resamples=30, random_state=5, min_impressions=50)
    frames = vrs(load_impressions_example(), load_eligible_example(), attribute, **options)
    path = vrs(logs / "whole.csv", logs / "eligible.csv", attribute, **options)
    pattern = vrs(str(logs / "part-*"), str(logs / "eligible.csv"), attribute, **options)
    listed = vrs(
        [str(logs / "part-0.csv"), str(logs / "part-1.parquet")],
        load_eligible_example(),
        attribute,
        **options,
    )
    assert frames.results == path.results == pattern.results == listed.results


def test_memory_equals_vrs_metrics_then_vrs_coverage() -> None:
    log, eligible = load_impressions_example(), load_eligible_example()
    got = vrs(log, eligible, "sex", n_resamples=40, random_state=2, min_impressions=100)
    metrics = vrs_metrics(log, eligible, "sex", n_resamples=40, random_state=2)
    cover = vrs_coverage(metrics, min_impressions=100, random_state=2)
    assert got.results == metrics.results + cover.results


@pytest.mark.parametrize("rows", [500, 1700])
def test_chunks_equal_memory_bit_for_bit(logs: Path, rows: int) -> None:
    options = dict(n_resamples=30, random_state=9, unit="reach")
    memory = vrs(logs / "whole.csv", logs / "eligible.csv", "sex", **options)
    chunks = vrs(
        logs / "whole.csv",
        logs / "eligible.csv",
        "sex",
        engine="chunks",
        rows_per_partition=rows,
        **options,
    )
    frame = vrs(
        load_impressions_example(),
        load_eligible_example(),
        "sex",
        engine="chunks",
        rows_per_partition=rows,
        **options,
    )
    assert chunks.results == memory.results == frame.results


def test_memory_with_rows_per_partition_reads_in_chunks(logs: Path) -> None:
    """The CLI's --engine memory --partition-rows N: the chunks engine, the same results."""
    args = (str(logs / "part-*"), logs / "eligible.csv", "sex")
    whole = vrs(*args, n_resamples=20, random_state=1)
    chunked = vrs(*args, rows_per_partition=600, n_resamples=20, random_state=1)
    assert chunked.results == whole.results


@pytest.mark.parametrize("attribute", ["sex", "race"])
def test_every_engine_gives_the_same_point_metrics(logs: Path, attribute: str) -> None:
    runs = [
        vrs(
            str(logs / "part-*"),
            logs / "eligible.csv",
            attribute,
            n_resamples=0,
            engine=engine,
            random_state=0,
        )
        for engine in ("memory", "chunks", "dask")
    ]
    estimates = np.array([[r.estimate for r in per_ad(run)] for run in runs])
    if attribute == "sex":  # hard labels, integer impressions: the same sums, bit for bit
        assert runs[0].results == runs[1].results
        assert (estimates == estimates[0]).all()
    else:  # soft memberships: sums added in another order
        np.testing.assert_allclose(estimates, np.broadcast_to(estimates[0], estimates.shape))


def test_dask_is_the_partitioned_method_and_partition_invariant(logs: Path) -> None:
    options = dict(n_resamples=40, random_state=4)
    runs = [
        vrs(str(logs / "part-*"), logs / "eligible.csv", "sex", engine="dask", **options),
        vrs(
            str(logs / "whole.csv"),
            logs / "eligible.csv",
            "sex",
            engine="dask",
            rows_per_partition=700,
            **options,
        ),
    ]
    want = vrs_log(str(logs / "part-*"), load_eligible_example(), "sex", engine="chunks", **options)
    for run in runs:
        got = per_ad(run)
        assert [r.details["scheme"] for r in got] == [r.details["scheme"] for r in want]
        np.testing.assert_allclose(
            [[r.estimate, r.ci_low, r.ci_high] for r in got],
            [[r.estimate, r.ci_low, r.ci_high] for r in want],
            rtol=1e-10,
        )


def test_dask_accepts_noisy_impressions_like_memory(tmp_path: Path) -> None:
    log = load_impressions_example()
    noise = np.random.default_rng(0).laplace(0, 0.5, len(log))
    log.assign(impressions=log["impressions"] + noise).to_csv(tmp_path / "noisy.csv", index=False)
    options = dict(n_resamples=0, delivered_noise_scale=0.5)
    memory = vrs(tmp_path / "noisy.csv", load_eligible_example(), "sex", **options)
    dask = vrs(
        str(tmp_path / "noisy.csv"), load_eligible_example(), "sex", engine="dask", **options
    )
    assert [r.estimate for r in per_ad(dask)] == [r.estimate for r in per_ad(memory)]


def test_provenance_names_the_function_inputs_seed_and_device(logs: Path) -> None:
    rs = vrs(str(logs / "part-*"), logs / "eligible.csv", "sex", n_resamples=0, random_state=11)
    provenance = rs.provenance
    assert provenance["function"] == "varkit.fairness.vrs"
    assert [Path(i["path"]).name for i in provenance["inputs"]] == [
        "part-0.csv",
        "part-1.parquet",
        "eligible.csv",
    ]
    assert provenance["seed"] == 11 and provenance["device"] == "cpu"
    drawn = vrs(load_impressions_example(), load_eligible_example(), "sex", n_resamples=0)
    assert drawn.provenance["inputs"] == [] and isinstance(drawn.provenance["seed"], int)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheduler": "local:1"}, "`scheduler` needs `engine` dask"),
        ({"engine": "spark"}, "`engine` must be one of memory, chunks, dask"),
        ({"engine": "dask", "scheme": "multinomial"}, "`engine` dask uses Poisson weights"),
        ({"engine": "dask", "unit": "reach"}, "`unit`='reach'"),
        ({"engine": "dask", "redraw_membership": True}, "`redraw_membership`"),
        ({"engine": "dask"}, "give a path or glob"),
        ({"min_impressions": -1.0}, "`min_impressions` must be non-negative"),
        ({"delivered_noise_scale": -1.0}, "`delivered_noise_scale` must be a finite"),
        ({"n_resamples": 5}, "`n_resamples` must be 0 (no interval) or at least 10"),
    ],
)
def test_bad_options_raise_one_error_naming_the_parameter(kwargs: dict, message: str) -> None:
    with pytest.raises(VarkitError) as info:
        vrs(load_impressions_example(), load_eligible_example(), "sex", **kwargs)
    assert message in str(info.value)
