"""The issue's bad-input list, each through every entry point: one clear error.

Members not 0/1, NaN scores, only one class, delta outside [0, 1), confidence outside
(0, 1): the API raises ``ValueError`` with one sentence naming the argument; the CLI exits
2 with one ``error:`` line naming the column or option.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli, main
from varkit.privacy import (
    EpsilonEstimator,
    EpsilonPosterior,
    attack_counts,
    audit_epsilon,
    bayesian_epsilon,
    clopper_pearson_epsilon,
)

MEMBER = np.array([1, 0, 1, 0, 1, 0])
SCORE = np.array([0.9, 0.2, 0.7, 0.4, 0.6, 0.1])
COUNTS = {"fp": 1, "fn": 2, "tn": 9, "tp": 8}

BAD_DATA = {
    "member not 0/1": (np.array([2, 0, 1, 0, 1, 0]), SCORE, r"`member` must hold only 0 and 1"),
    "member 0.5": (np.array([0.5, 0, 1, 0, 1, 0]), SCORE, r"`member` must hold only 0 and 1"),
    "NaN score": (MEMBER, np.r_[np.nan, SCORE[1:]], r"`score` has a missing value"),
    "one class": (np.ones(6, int), SCORE, r"`member` must contain both classes"),
}


def _one_sentence(exc: pytest.ExceptionInfo) -> None:
    text = str(exc.value)
    assert "\n" not in text and text.endswith(".") and text.count(". ") == 0, text


@pytest.mark.parametrize("case", sorted(BAD_DATA))
@pytest.mark.parametrize("entry", ["audit_epsilon", "attack_counts", "EpsilonEstimator"])
def test_bad_data_is_one_value_error(entry: str, case: str) -> None:
    member, score, message = BAD_DATA[case]
    call = {
        "audit_epsilon": lambda: audit_epsilon(member, score, threshold=0.5),
        "attack_counts": lambda: attack_counts(member, score, threshold=0.5),
        "EpsilonEstimator": lambda: EpsilonEstimator(threshold=0.5).fit(score, member),
    }[entry]
    with pytest.raises(ValueError, match=message) as exc:
        call()
    _one_sentence(exc)


BAD_LEVELS = [
    ({"delta": 1.0}, r"`delta` must be in \[0, 1\)"),
    ({"delta": -1e-9}, r"`delta` must be in \[0, 1\)"),
    ({"delta": float("nan")}, r"`delta` must be in \[0, 1\)"),
    ({"confidence": 0.0}, r"`confidence` must be between 0.5 and 0.999999999"),
    ({"confidence": 1.0}, r"`confidence` must be between 0.5 and 0.999999999"),
    ({"confidence": float("nan")}, r"`confidence` must be between 0.5 and 0.999999999"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_LEVELS)
@pytest.mark.parametrize(
    "entry", ["bayesian_epsilon", "clopper_pearson_epsilon", "audit_epsilon", "EpsilonEstimator"]
)
def test_bad_delta_or_confidence_is_one_value_error(entry: str, kwargs, message) -> None:
    call = {
        "bayesian_epsilon": lambda: bayesian_epsilon(**COUNTS, **kwargs),
        "clopper_pearson_epsilon": lambda: clopper_pearson_epsilon(**COUNTS, **kwargs),
        "audit_epsilon": lambda: audit_epsilon(MEMBER, SCORE, threshold=0.5, **kwargs),
        "EpsilonEstimator": lambda: EpsilonEstimator(threshold=0.5, **kwargs).fit(SCORE, MEMBER),
    }[entry]
    with pytest.raises(ValueError, match=message) as exc:
        call()
    _one_sentence(exc)


@pytest.mark.parametrize(
    "counts", [{"fp": 0, "fn": 0, "tn": 5, "tp": 0}, {"fp": 0, "fn": 1, "tn": 0, "tp": 3}]
)
def test_counts_with_one_class_are_one_value_error(counts) -> None:
    for call in (bayesian_epsilon, clopper_pearson_epsilon, EpsilonPosterior):
        with pytest.raises(ValueError, match=r"must be positive: the attack saw no"):
            call(**counts)


def _cli(tmp_path, text: str, *args: str):
    path = tmp_path / "mia.csv"
    path.write_text(text)
    return CliRunner().invoke(cli, ["privacy", "epsilon", str(path), "--threshold", "0.5", *args])


GOOD = "member,score\n1,0.9\n0,0.2\n1,0.7\n0,0.4\n"


@pytest.mark.parametrize(
    ("text", "args", "needle"),
    [
        ("member,score\n1,0.9\n0.5,0.2\n", (), "column 'member' must hold only 0 and 1"),
        ("member,score\n1,0.9\n2,0.2\n", (), "column 'member' must hold only 0 and 1"),
        ("member,guess\n1,1\n0,3\n", ("--guess-col", "guess"), "column 'guess' must hold only 0"),
        ("member,score\n1,0.9\n0,nan\n", (), "column 'score' has a missing value"),
        ("member,score\n0,0.9\n0,0.2\n", (), "both classes"),
        (GOOD, ("--delta", "1"), "--delta must be in [0, 1)"),
        (GOOD, ("--delta", "-0.1"), "--delta must be in [0, 1)"),
        (GOOD, ("--delta", "1e-5", "--delta", "2"), "--delta must be in [0, 1)"),
        (GOOD, ("--confidence", "nan"), "--confidence"),
    ],
)
def test_cli_bad_input_is_exit_2_and_one_error_line(tmp_path, text, args, needle) -> None:
    out = _cli(tmp_path, text, *args)
    assert out.exit_code == 2, out.output
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out.output
    assert needle in lines[0]


@pytest.mark.parametrize("value", ["1.5", "0", "1", "-0.2"])
def test_cli_confidence_out_of_range_is_one_error_line(tmp_path, capsys, value) -> None:
    """Rejected by click's range check: through the console entry point, one line."""
    path = tmp_path / "mia.csv"
    path.write_text(GOOD)
    with pytest.raises(SystemExit) as stop:
        main(["privacy", "epsilon", str(path), "--confidence", value])
    assert stop.value.code == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: Invalid value for '--confidence'")
    assert captured.out == ""
