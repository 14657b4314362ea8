"""The front doors of ``varkit evaluate``: one answer whatever form the log takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from varkit.errors import VarkitError
from varkit.evaluate import compare_models, compare_predictions, compare_scores

KW: dict[str, Any] = {"n_resamples": 300, "random_state": 6, "device": "cpu"}
FIELDS = ("metric", "estimate", "ci_low", "ci_high", "stderr", "statistic", "pvalue", "group")


def rows(results: Any) -> list[tuple[Any, ...]]:
    return [tuple(getattr(r, f) for f in FIELDS) for r in results]


@pytest.fixture
def predictions(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    frame = pd.DataFrame({"id": np.arange(500), "y_true": y})
    for name, accuracy in (("a", 0.85), ("b", 0.75), ("c", 0.7)):
        frame[name] = np.where(rng.random(500) < accuracy, y, 1 - y)
    frame.to_csv(tmp_path / "preds.csv", index=False)
    frame.iloc[:200].to_csv(tmp_path / "part-0.csv", index=False)
    frame.iloc[200:].to_parquet(tmp_path / "part-1.parquet")
    return frame


@pytest.mark.parametrize("scheme", [None, "poisson"])
def test_compare_dataframe_path_and_glob_agree(
    tmp_path: Path, predictions: pd.DataFrame, scheme: str | None
) -> None:
    sources = (predictions, str(tmp_path / "preds.csv"), str(tmp_path / "pred*.csv"))
    got = [rows(compare_predictions(s, scheme=scheme, **KW)) for s in sources]
    assert got[0] == got[1] == got[2]
    assert [g for *_, g in got[0][:3]] == [{"model": m} for m in "abc"]


def test_compare_log_equals_the_arrays(predictions: pd.DataFrame) -> None:
    text = predictions.astype(str)
    arrays = compare_predictions(text["y_true"], {m: text[m] for m in "abc"}, **KW)
    assert rows(compare_predictions(predictions, **KW)) == rows(arrays)


def test_compare_memory_poisson_equals_chunks_and_dask(
    tmp_path: Path, predictions: pd.DataFrame
) -> None:
    glob = str(tmp_path / "part-*")
    want = compare_predictions(glob, models="a,b,c", scheme="poisson", **KW)
    for engine, rows_per in (("chunks", None), ("dask", 90)):
        got = compare_predictions(
            glob, models=["a", "b", "c"], engine=engine, rows_per_partition=rows_per, **KW
        )
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert (g.metric, g.group, g.pvalue, g.n) == (w.metric, w.group, w.pvalue, w.n)
            ends = [(g.estimate, w.estimate), (g.ci_low, w.ci_low), (g.ci_high, w.ci_high)]
            for got_end, want_end in ends:
                assert got_end == want_end or np.isclose(got_end, want_end, rtol=1e-12)


def test_compare_provenance(tmp_path: Path, predictions: pd.DataFrame) -> None:
    prov = compare_predictions(str(tmp_path / "part-*"), models="a,b", **KW).provenance
    assert prov["function"] == "varkit.evaluate.compare_predictions" and prov["seed"] == 6
    assert [Path(i["path"]).name for i in prov["inputs"]] == ["part-0.csv", "part-1.parquet"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"models": "a"}, "`models` must name at least 2 prediction columns, separated"),
        ({"models": ["a", "a"]}, "`models` lists column 'a' twice"),
        ({"models": "a,y_true"}, "`models` lists the truth column"),
        ({"engine": "dask", "scheme": "multinomial"}, "uses Poisson weights"),
        ({"row_id": "id"}, "`row_id` keys Poisson weights"),
        ({"scheduler": "local:1"}, "`scheduler` needs `engine` dask"),
    ],
)
def test_compare_bad_settings_name_the_parameter(
    tmp_path: Path, predictions: pd.DataFrame, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(VarkitError, match=message.replace("`", ".")):
        compare_predictions(str(tmp_path / "preds.csv"), **{**KW, **options})


def test_compare_a_dataframe_needs_the_memory_engine(predictions: pd.DataFrame) -> None:
    with pytest.raises(VarkitError, match="give `log` as a path or glob"):
        compare_predictions(predictions, engine="dask", **KW)


def test_scores_dataframe_and_path_agree(tmp_path: Path) -> None:
    log = pd.DataFrame(
        {
            "model": ["a"] * 5 + ["b"] * 5,
            "score": [0.80, 0.82, 0.79, 0.81, 0.83, 0.75, 0.78, 0.74, 0.77, 0.76],
            "n_train": 80,
            "n_test": 20,
        }
    )
    log.to_csv(tmp_path / "scores.csv", index=False)
    from_frame = compare_scores(log)
    from_file = compare_scores(str(tmp_path / "scores.csv"))
    assert rows(from_frame) == rows(from_file) == rows(compare_scores(str(tmp_path / "sc*.csv")))
    assert from_file.provenance["function"] == "varkit.evaluate.compare_scores"
    assert [Path(i["path"]).name for i in from_file.provenance["inputs"]] == ["scores.csv"]


def test_models_dataframe_and_path_agree(tmp_path: Path) -> None:
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = rng.normal(size=80).round(6)
    log = pd.DataFrame({"x": x, "g": rng.choice(["u", "v"], 80), "y": (x > 0).astype(int)})
    log.to_csv(tmp_path / "data.csv", index=False)
    models = {"lr": LogisticRegression(), "dummy": DummyClassifier()}
    a = compare_models(log, "y", models, cv="kfold:4", random_state=2)
    b = compare_models(str(tmp_path / "data.csv"), "y", models, cv="kfold:4", random_state=2)
    assert rows(a) == rows(b) and b.provenance["seed"] == 2
    with pytest.raises(VarkitError, match="`cv` must be 5x2"):
        compare_models(log, "y", models, cv="bad")
