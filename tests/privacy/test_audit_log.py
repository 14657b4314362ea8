"""audit_epsilon as the front door: a DataFrame, a path or a glob give the same results."""

from __future__ import annotations

import pytest

from varkit.datasets import load_mia_example
from varkit.errors import VarkitError
from varkit.privacy import audit_epsilon

KWARGS = {"delta": [0.0, 1e-5], "method": "both", "random_state": 7}


def _numbers(results):
    return [r.to_dict() for r in results]


@pytest.fixture
def log():
    return load_mia_example()


@pytest.fixture
def files(tmp_path, log):
    whole = tmp_path / "mia.csv"
    log.to_csv(whole, index=False)
    for i, part in enumerate((log.iloc[:1000], log.iloc[1000:2500], log.iloc[2500:])):
        part.to_csv(tmp_path / f"part-{i}.csv", index=False)
    return whole, str(tmp_path / "part-*.csv")


@pytest.mark.parametrize("threshold", ["split", "bonferroni", 0.5])
def test_frame_path_glob_and_arrays_give_the_same_results(log, files, threshold) -> None:
    whole, pattern = files
    from_frame = audit_epsilon(log, threshold=threshold, **KWARGS)
    from_path = audit_epsilon(whole, threshold=threshold, **KWARGS)
    from_glob = audit_epsilon(pattern, threshold=threshold, **KWARGS)
    from_arrays = audit_epsilon(
        log["member"], log["score"], model_id=log["model_id"], threshold=threshold, **KWARGS
    )
    expected = _numbers(from_frame)
    assert any("model_id" in r.group for r in from_frame)
    for other in (from_path, from_glob, from_arrays):
        assert _numbers(other) == expected


def test_provenance_names_the_function_the_files_the_seed_and_the_device(log, files) -> None:
    whole, pattern = files
    prov = audit_epsilon(pattern, random_state=3).provenance
    assert prov["function"] == "varkit.privacy.audit_epsilon"
    assert [item["path"].rsplit("-", 1)[-1] for item in prov["inputs"]] == [
        "0.csv",
        "1.csv",
        "2.csv",
    ]
    assert prov["seed"] == 3 and prov["device"] == "cpu"
    assert audit_epsilon(log, random_state=3).provenance["inputs"] == []
    assert audit_epsilon(str(whole), random_state=3).provenance["inputs"][0]["sha256"]


def test_columns_are_named_with_the_col_options(log) -> None:
    renamed = log.rename(columns={"member": "in_train", "score": "lira", "model_id": "seed"})
    a = audit_epsilon(renamed, member_col="in_train", score_col="lira", model_col="seed",
                      random_state=1)  # fmt: skip
    b = audit_epsilon(log, random_state=1)
    assert [r.estimate for r in a] == [r.estimate for r in b]
    assert [r.group.get("model_id") for r in a] == [r.group.get("model_id") for r in b]


def test_a_guess_column_and_the_attack_summary(log) -> None:
    guessed = log.assign(guess=(log["score"] > 0.5).astype(int))
    rs = audit_epsilon(guessed, guess_col="guess", method="clopper-pearson")
    assert rs[0].details["threshold_strategy"] == "guess"
    summary = audit_epsilon(log, tpr_at_fpr=[0.01, 0.1], random_state=0)
    assert [r.metric for r in summary][-3:] == ["tpr_at_fpr", "tpr_at_fpr", "auc"]
    with pytest.raises(VarkitError, match="`tpr_at_fpr` needs a score column, not `guess_col`"):
        audit_epsilon(guessed, guess_col="guess", tpr_at_fpr=0.1)
    with pytest.raises(VarkitError, match="`threshold` applies to a score column"):
        audit_epsilon(guessed, guess_col="guess", threshold=0.5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda log: audit_epsilon(log, method="mc"), "`method` must be .* got 'mc'"),
        (lambda log: audit_epsilon(log, score_col="score", guess_col="member"), "not both"),
        (lambda log: audit_epsilon(log, score=log["score"]), "name its columns"),
        (lambda log: audit_epsilon(log["member"], log["score"], score_col="s"), "`score_col`"),
        (lambda log: audit_epsilon(log, score_col="nope"), "'nope' is missing"),
        (lambda log: audit_epsilon("no/such/*.csv"), "no file matches"),
    ],
)
def test_bad_input_raises_one_varkit_error(log, call, message) -> None:
    with pytest.raises(VarkitError, match=message):
        call(log)
