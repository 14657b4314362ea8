"""`varkit evaluate` at the edges (issue 14): seeds, ranges, and one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.results import ResultSet

LR = "lr=sklearn.linear_model.LogisticRegression"
RF = "rf=sklearn.ensemble.RandomForestClassifier"


def _run(*args):
    return CliRunner().invoke(cli, ["evaluate", *args])


def _check_error(result, words):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    assert words in lines[0], lines[0]


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 30)
    frame = pd.DataFrame(
        {"a": y + rng.normal(scale=0.8, size=60), "b": rng.normal(size=60), "y": y}
    )
    path = tmp_path_factory.mktemp("cv") / "data.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _without_time(text):
    doc = json.loads(text)
    doc["provenance"].pop("time_utc", None)
    return doc


def test_cv_same_seed_gives_identical_json_and_records_the_seed(data_csv):
    args = ["cv", data_csv, "--target", "y", "--model", RF, "--model", LR,
            "--param", "rf.n_estimators=5", "--cv", "kfold:5", "--seed", "11",
            "--format", "json"]  # fmt: skip
    first, second = _run(*args), _run(*args)
    assert first.exit_code == 0, first.output
    assert _without_time(first.stdout) == _without_time(second.stdout)
    assert json.loads(first.stdout)["provenance"]["seed"] == 11
    other = _run(*[a if a != "11" else "12" for a in args])
    assert _without_time(other.stdout) != _without_time(first.stdout)


def test_cv_without_seed_writes_the_drawn_seed(data_csv):
    result = _run("cv", data_csv, "--target", "y", "--model", "nb=sklearn.naive_bayes.GaussianNB",
                  "--model", LR, "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    seed = json.loads(result.stdout)["provenance"]["seed"]
    assert isinstance(seed, int) and seed >= 0


def test_cv_accuracy_intervals_of_a_perfect_model_stay_in_0_1(tmp_path):
    y = np.array([0, 1] * 20)
    path = tmp_path / "sep.csv"
    pd.DataFrame({"x": y * 10.0, "z": np.arange(40.0), "y": y}).to_csv(path, index=False)
    for scoring in ("accuracy", "balanced_accuracy"):
        result = _run("cv", str(path), "--target", "y", "--model",
                      "tree=sklearn.tree.DecisionTreeClassifier", "--model",
                      "dummy=sklearn.dummy.DummyClassifier", "--scoring", scoring,
                      "--cv", "kfold:10", "--seed", "0", "--format", "json")  # fmt: skip
        assert result.exit_code == 0, result.output
        for r in ResultSet.from_json(result.stdout).select(scoring):
            assert 0.0 <= r.ci_low <= r.estimate <= r.ci_high <= 1.0
        tree = ResultSet.from_json(result.stdout).select(scoring, model="tree")[0]
        assert tree.estimate == 1.0 and tree.ci_low < 1.0


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("x=builtins.dict", "--model x: 'builtins.dict' is not a scikit-learn estimator"),
        ("x=sys.exit", "--model x: 'sys.exit' is not a scikit-learn estimator"),
        ("x=os.system", "--model x: 'os.system' is not a scikit-learn estimator"),
        ("x=numpy.ndarray", "is not a scikit-learn estimator"),
        ("x=sklearn.nothing.Here", "--model x: cannot import"),
        ("x=", "--model must look like"),
        ("x=a..b", "--model must look like"),
    ],
)
def test_cv_model_must_be_an_estimator_class(data_csv, spec, words):
    _check_error(_run("cv", data_csv, "--target", "y", "--model", spec, "--model", LR), words)


@pytest.mark.parametrize(
    ("param", "words"),
    [
        ("dt.max_depth=12345678901234567", "more than 15 digits"),
        ("dt.max_depth=", "no value"),
        ("dt.max_depth=inf", "must be finite"),
        ("dt.=3", "--param must look like"),
        ("max_depth=3", "--param must look like"),
        ("dt.max-depth=3", "--param must look like"),
        ("dt.max_depth=-2", "dt failed to fit"),
        ("dt.no_such=1", "--model dt: bad parameters"),
        ("zz.max_depth=2", "--param names a model that is not given: zz"),
    ],
)
def test_cv_malformed_params_are_one_line(data_csv, param, words):
    tree = "dt=sklearn.tree.DecisionTreeClassifier"
    result = _run("cv", data_csv, "--target", "y", "--model", tree, "--model", LR, "--param", param)
    _check_error(result, words)


@pytest.mark.parametrize(
    ("cv", "words"),
    [("kfold:100", "100 folds need at least 100 rows, got 60"),
     ("kfold:31", "class '0' has 30")],
)  # fmt: skip
def test_cv_more_folds_than_rows_or_class_members(data_csv, cv, words):
    result = _run("cv", data_csv, "--target", "y", "--model",
                  "nb=sklearn.naive_bayes.GaussianNB", "--model", LR, "--cv", cv)  # fmt: skip
    _check_error(result, words)


def test_cv_model_given_twice_and_zero_jobs(data_csv):
    _check_error(_run("cv", data_csv, "--target", "y", "--model", LR, "--model", LR), "twice")
    result = _run("cv", data_csv, "--target", "y", "--model", RF, "--model", LR, "--n-jobs", "0")
    _check_error(result, "--n-jobs")


def test_cv_sklearn_warnings_are_warning_lines_and_in_details(data_csv):
    result = _run("cv", data_csv, "--target", "y", "--model",
                  "mlp=sklearn.neural_network.MLPClassifier", "--param", "mlp.max_iter=1",
                  "--model", LR, "--seed", "0", "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("warning: ") for line in lines)
    assert any("ConvergenceWarning: mlp:" in line for line in lines)
    mlp = ResultSet.from_json(result.stdout).select("accuracy", model="mlp")[0]
    assert any("ConvergenceWarning" in w for w in mlp.details["fit_warnings"])


@pytest.mark.slow
def test_cv_joblib_workers_print_no_raw_warnings(data_csv):
    # a real process: loky workers write to the process's stderr, which CliRunner misses
    proc = subprocess.run(
        [sys.executable, "-m", "varkit.cli.main", "evaluate", "cv", data_csv, "--target", "y",
         "--model", "mlp=sklearn.neural_network.MLPClassifier", "--param", "mlp.max_iter=1",
         "--model", LR, "--n-jobs", "2", "--seed", "0"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("warning: ") for line in lines), proc.stderr


def _scores_csv(tmp_path, rows):
    path = tmp_path / "scores.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def _score_rows(score=lambda m, f: 0.7 + 0.01 * f, **extra):
    return [{"model": m, "fold": f, "score": score(m, f), **extra} for m in "ab" for f in range(4)]


def test_scores_duplicate_split_is_an_error_naming_rows(tmp_path):
    rows = _score_rows()
    rows.append(dict(rows[2]))
    result = _run("scores", _scores_csv(tmp_path, rows))
    _check_error(result, "(model='a', fold=2): rows 3, 9")


@pytest.mark.parametrize("column", ["n_train", "n_test"])
def test_scores_zero_set_size_names_column_and_row(tmp_path, column):
    rows = _score_rows(n_train=80, n_test=20)
    rows[5][column] = 0
    _check_error(_run("scores", _scores_csv(tmp_path, rows)), f"'{column}'")
    result = _run("scores", _scores_csv(tmp_path, rows))
    assert "row 6" in result.output


def test_scores_all_equal_give_friedman_zero_without_raw_warning(tmp_path):
    rows = [{"model": m, "dataset": d, "fold": f, "score": 0.8}
            for m in "abc" for d in "xyz" for f in range(3)]  # fmt: skip
    result = _run("scores", _scores_csv(tmp_path, rows), "--format", "json")
    assert result.exit_code == 0, result.output
    assert "RuntimeWarning" not in result.stderr
    friedman = ResultSet.from_json(result.stdout).select("friedman")[0]
    assert (friedman.statistic, friedman.pvalue) == (0.0, 1.0)
    assert "tie" in friedman.details["note"]


def test_compare_wide_csv_refuses_in_one_line(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.integers(0, 2, size=(50, 400)), columns=[f"m{i}" for i in range(400)])
    frame.insert(0, "y_true", rng.integers(0, 2, size=50))
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    _check_error(_run("compare", str(path)), "400 prediction columns")
    many = ",".join(f"m{i}" for i in range(60))
    _check_error(_run("compare", str(path), "--models", many), "at most 50")
    _check_error(_run("compare", str(path), "--models", "m1,m1"), "twice")
    result = _run("compare", str(path), "--models", "m1,m2", "--resamples", "200", "--seed", "0")
    assert result.exit_code == 0, result.output
    assert "PerformanceWarning" not in result.output


def test_scores_with_a_score_range_keep_intervals_inside_it(tmp_path):
    fold_scores = {"a": [1.0] * 8 + [0.8, 0.9], "b": [0.9, 1.0] * 5}
    rows = [{"model": m, "fold": f, "score": fold_scores[m][f], "n_train": 90, "n_test": 10}
            for m in "ab" for f in range(10)]  # fmt: skip
    path = _scores_csv(tmp_path, rows)
    plain = ResultSet.from_json(_run("scores", path, "--format", "json").stdout)
    assert max(r.ci_high for r in plain.select("score")) > 1.0  # the unbounded t interval
    result = _run("scores", path, "--score-range", "0,1", "--format", "json")
    assert result.exit_code == 0, result.output
    for r in ResultSet.from_json(result.stdout).select("score"):
        assert 0.0 <= r.ci_low <= r.estimate <= r.ci_high <= 1.0
        assert r.details["interval"] == "logit-t"
    _check_error(_run("scores", path, "--score-range", "0"), "--score-range must look like")
    _check_error(_run("scores", path, "--score-range", "1,0"), "LOW < HIGH")
    _check_error(_run("scores", path, "--score-range", "0,0.99"), "outside the score range")
