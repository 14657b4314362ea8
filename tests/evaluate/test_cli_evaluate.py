import json

import jsonschema
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.datasets.evaluate import load_predictions_example, predictions_example_path
from varkit.evaluate import mcnemar, mcnemar_table
from varkit.results import ResultSet, load_json_schema


def _run(*args):
    return CliRunner().invoke(cli, ["evaluate", *args])


def _check_error(result, words):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert words in lines[0]


def test_compare_on_bundled_example_validates_and_matches_api():
    result = _run(
        "compare",
        predictions_example_path(),
        "--format",
        "json",
        "--seed",
        "0",
        "--resamples",
        "999",
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    jsonschema.validate(doc, load_json_schema())
    rs = ResultSet.from_json(result.output)
    log = load_predictions_example()
    accuracies = {r.group["model"]: r.estimate for r in rs.select("accuracy")}
    assert accuracies["forest"] == pytest.approx(np.mean(log["forest"] == log["y_true"]))
    pair = rs.select("mcnemar", comparison="forest-logistic")[0]
    raw = mcnemar(mcnemar_table(log["y_true"], log["forest"], log["logistic"])).pvalue
    assert pair.details["pvalue_raw"] == pytest.approx(raw)
    assert pair.pvalue == pytest.approx(min(1.0, 3 * raw)) or pair.pvalue >= raw
    assert len(rs.select("cochrans_q")) == 1
    assert len(rs.select("accuracy_difference")) == 3


def test_compare_with_two_models_has_no_cochran(tmp_path):
    result = _run(
        "compare",
        predictions_example_path(),
        "--models",
        "forest,baseline",
        "--resamples",
        "200",
        "--seed",
        "1",
        "--device",
        "cpu",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    assert "cochrans_q" not in result.output


@pytest.mark.parametrize(
    ("content", "args", "words"),
    [
        ("y_true,a,b\n0,0,1\n1,1,1\n", ["--truth", "label"], "label"),
        ("y_true,a,b\n0,0,1\n1,,1\n", [], "a"),
        ("", [], "empty"),
        ("y_true,a\n0,0\n1,1\n", [], "at least 2"),
        ("y_true,a,b\n0,0,1\n1,1,1\n", ["--models", "a"], "at least 2"),
    ],
)
def test_compare_bad_input_exit_2_one_line(tmp_path, content, args, words):
    path = tmp_path / "preds.csv"
    path.write_text(content)
    _check_error(_run("compare", str(path), "--resamples", "100", *args), words)


def test_compare_impossible_confidence_is_usage_error():
    result = _run("compare", predictions_example_path(), "--confidence", "1.5")
    assert result.exit_code == 2


def _score_log(tmp_path, with_dataset=False):
    rng = np.random.default_rng(0)
    rows = []
    for dataset in ["d1", "d2", "d3", "d4"] if with_dataset else ["d1"]:
        base = rng.uniform(0.6, 0.9)
        for repeat in range(2):
            for fold in range(5):
                for model, shift in (("a", 0.03), ("b", 0.0), ("c", -0.05)):
                    rows.append(
                        {
                            "dataset": dataset,
                            "model": model,
                            "repeat": repeat,
                            "fold": fold,
                            "score": base + shift + rng.normal(scale=0.01),
                            "n_train": 80,
                            "n_test": 20,
                        }
                    )
    frame = pd.DataFrame(rows)
    if not with_dataset:
        frame = frame.drop(columns="dataset")
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_scores_corrected_t_matches_formula(tmp_path):
    path, frame = _score_log(tmp_path)
    result = _run("scores", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(result.output), load_json_schema())
    rs = ResultSet.from_json(result.output)
    pair = rs.select("score_difference", comparison="a-b")[0]
    wide = frame.pivot_table(index=["repeat", "fold"], columns="model", values="score")
    d = (wide["a"] - wide["b"]).to_numpy()
    se = np.sqrt((1 / 10 + 20 / 80) * d.var(ddof=1))
    assert pair.statistic == pytest.approx(d.mean() / se)
    assert pair.method == "corrected-resampled-t"


def test_scores_across_datasets_runs_friedman(tmp_path):
    path, _ = _score_log(tmp_path, with_dataset=True)
    result = _run("scores", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    rs = ResultSet.from_json(result.output)
    assert len(rs.select("friedman")) == 1
    ranks = {r.group["model"]: r.estimate for r in rs.select("average_rank")}
    assert ranks == {"a": 1.0, "b": 2.0, "c": 3.0}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("model,score\na,0.8\nb,nan\n", "score"),
        ("model,value\na,0.8\nb,0.7\n", "score"),
        ("model,score\na,0.8\na,0.7\n", "fewer than 2 models"),
        ("model,score\na,x\nb,0.7\n", "score"),
    ],
)
def test_scores_bad_input(tmp_path, content, words):
    path = tmp_path / "s.csv"
    path.write_text(content)
    _check_error(_run("scores", str(path)), words)


def test_cv_command_fits_and_compares(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    frame = pd.DataFrame(
        {
            "x1": x[:, 0],
            "x2": x[:, 1],
            "colour": rng.choice(["red", "blue"], 120),
            "y": (x[:, 0] > 0).astype(int),
        }
    )
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    result = _run(
        "cv",
        str(path),
        "--target",
        "y",
        "--model",
        "nb=sklearn.naive_bayes.GaussianNB",
        "--model",
        "tree=sklearn.tree.DecisionTreeClassifier",
        "--param",
        "tree.max_depth=2",
        "--param",
        "tree.random_state=0",
        "--cv",
        "kfold:5",
        "--seed",
        "0",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(result.output), load_json_schema())
    rs = ResultSet.from_json(result.output)
    assert rs.select("accuracy_difference")[0].method == "corrected-resampled-t"
    bad = _run(
        "cv",
        str(path),
        "--target",
        "y",
        "--model",
        "nb=sklearn.nope.X",
        "--model",
        "b=sklearn.naive_bayes.GaussianNB",
    )
    _check_error(bad, "cannot import")
    _check_error(
        _run(
            "cv",
            str(path),
            "--target",
            "y",
            "--model",
            "nb",
            "--model",
            "b=sklearn.naive_bayes.GaussianNB",
        ),
        "NAME=",
    )
    _check_error(
        _run(
            "cv",
            str(path),
            "--target",
            "y",
            "--cv",
            "7x3",
            "--model",
            "a=sklearn.naive_bayes.GaussianNB",
            "--model",
            "b=sklearn.naive_bayes.GaussianNB",
        ),
        "--cv",
    )


def test_compare_poisson_scheme_equals_the_api_and_keeps_the_point_results():
    args = ["compare", predictions_example_path(), "--resamples", "300", "--seed", "4"]
    args += ["--device", "cpu", "--format", "json"]
    poisson = _run(*args, "--scheme", "poisson")
    multinomial = _run(*args)
    assert poisson.exit_code == 0 and multinomial.exit_code == 0, poisson.output
    got = ResultSet.from_json(poisson.output)
    other = ResultSet.from_json(multinomial.output)
    for a, b in zip(got, other, strict=True):
        if a.metric != "accuracy_difference":
            assert (a.estimate, a.pvalue, a.ci_low) == (b.estimate, b.pvalue, b.ci_low)
    log = load_predictions_example().astype(str)
    from varkit.evaluate import paired_bootstrap_difference

    want = paired_bootstrap_difference(
        log["y_true"],
        log["forest"],
        log["logistic"],
        n_resamples=300,
        random_state=4,
        device="cpu",
        scheme="poisson",
    )
    diff = got.select("accuracy_difference", comparison="forest-logistic")[0]
    assert diff.details["scheme"] == "poisson"
    assert (diff.ci_low, diff.ci_high) == pytest.approx((want.ci_low, want.ci_high), rel=1e-12)


def test_compare_row_id_needs_poisson_and_scheduler_needs_dask():
    path = predictions_example_path()
    _check_error(_run("compare", path, "--row-id", "id"), "--scheme poisson")
    _check_error(_run("compare", path, "--scheduler", "tcp://x:1"), "--engine dask")


def test_scores_bayesian_then_gate_on_p_not_worse(tmp_path):
    path, _ = _score_log(tmp_path)
    out = tmp_path / "results.json"
    args = ["--bayesian", "--rope", "0.01", "--format", "json", "--output", str(out)]
    result = _run("scores", str(path), *args)
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(out.read_text()), load_json_schema())
    rs = ResultSet.from_json(out.read_text())
    bayes = [r for r in rs if r.method == "bayesian-correlated-t"]
    assert [r.group["comparison"] for r in bayes] == ["a-b", "a-c", "b-c"]
    assert bayes[0].details["p_right"] > 0.95 and bayes[0].details["rope"] == 0.01
    rules = tmp_path / "gates.toml"
    # a is 0.03 above b: not worse (pass); a worse than b (p_left) fails
    for field, code in (("p_not_worse", 0), ("p_left", 1)):
        rules.write_text(
            '[[rule]]\nname = "a vs b"\nmetric = "score_difference"\n'
            'group = { model_1 = "a", model_2 = "b" }\n'
            f'field = "{field}"\nmin = 0.95\n'
        )
        gate = CliRunner().invoke(cli, ["gate", str(out), "--rules", str(rules)])
        assert gate.exit_code == code, gate.output


def test_scores_rope_needs_bayesian(tmp_path):
    path, _ = _score_log(tmp_path)
    _check_error(_run("scores", str(path), "--rope", "0.01"), "--rope")


def test_compare_one_sided_mcnemar_asks_whether_the_first_model_is_more_accurate():
    args = [
        predictions_example_path(),
        "--models",
        "forest,baseline",
        "--resamples",
        "200",
        "--seed",
        "0",
        "--format",
        "json",
    ]
    tests = {}
    for alternative in ("two-sided", "greater", "less"):
        out = _run("compare", *args, "--alternative", alternative)
        assert out.exit_code == 0, out.output
        rs = ResultSet.from_json(out.output)
        (test,) = rs.select("mcnemar")
        assert test.alternative == alternative
        tests[alternative] = test
    table = mcnemar_table(
        *(load_predictions_example()[c] for c in ("y_true", "forest", "baseline"))
    )
    assert tests["greater"].pvalue == pytest.approx(mcnemar(table, alternative="greater").pvalue)
    assert tests["greater"].pvalue < tests["two-sided"].pvalue and tests["less"].pvalue > 0.99
