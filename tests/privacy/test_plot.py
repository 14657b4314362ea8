"""``plot_epsilon`` and ``--plot``: a real PNG, and a clear error without matplotlib."""

from __future__ import annotations

import sys

import matplotlib
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.datasets.privacy import mia_example_path
from varkit.privacy import (
    bayesian_epsilon,
    clopper_pearson_epsilon,
    plot_epsilon,
)
from varkit.results import Result

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _legend(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_legend_states_both_intervals_at_the_same_level() -> None:
    counts = {"fp": 10, "fn": 400, "tn": 990, "tp": 600}
    bayes = bayesian_epsilon(**counts, delta=1e-5)
    cp = clopper_pearson_epsilon(**counts, delta=1e-5)
    fig, ax = plt.subplots()
    try:
        labels = _legend(plot_epsilon(bayes, ax=ax))
    finally:
        plt.close(fig)
    assert f"Bayesian 95% interval [{bayes.ci_low:.3g}, {bayes.ci_high:.3g}]" in labels
    assert f"Clopper-Pearson 95% interval [{cp.ci_low:.3g}, {cp.ci_high:.3g}]" in labels
    assert ax.get_xlim()[0] < bayes.ci_low and ax.get_xlim()[1] > cp.ci_high


def test_infinite_end_and_point_mass_are_labelled() -> None:
    fig, ax = plt.subplots()
    try:
        labels = _legend(plot_epsilon(clopper_pearson_epsilon(fp=0, fn=0, tn=100, tp=100), ax=ax))
    finally:
        plt.close(fig)
    assert any(label.startswith("Clopper-Pearson") and label.endswith("inf]") for label in labels)
    fig, ax = plt.subplots()
    try:
        labels = _legend(
            plot_epsilon(bayesian_epsilon(fp=48, fn=52, tn=52, tp=48, delta=1e-2), ax=ax)
        )
    finally:
        plt.close(fig)
    assert any(label.startswith("P(epsilon = 0) = 0.1") for label in labels)


def test_plot_rejects_other_results() -> None:
    with pytest.raises(TypeError, match="`result`"):
        plot_epsilon(Result(metric="accuracy", estimate=0.5))


def _run(*args: str):
    return CliRunner().invoke(cli, ["privacy", "epsilon", *args])


def test_cli_plot_writes_a_png(tmp_path) -> None:
    png = tmp_path / "eps.png"
    out = _run(mia_example_path(), "--delta", "1e-5", "--method", "both", "--seed", "1",
               "--plot", str(png))  # fmt: skip
    assert out.exit_code == 0, out.output
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
    height, width, _ = mpimg.imread(str(png)).shape
    assert (width, height) == (840, 480)


def test_cli_plot_creates_a_missing_folder_and_a_blocked_path_is_one_error_line(
    tmp_path,
) -> None:
    # like every output since issue 14 (write_text), --plot creates its folder
    target = tmp_path / "no" / "p.png"
    out = _run(mia_example_path(), "--plot", str(target), "--seed", "1")
    assert out.exit_code == 0 and target.stat().st_size > 0
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = _run(mia_example_path(), "--plot", str(blocker / "p.png"), "--seed", "1")
    assert out.exit_code == 2
    assert out.output.count("\n") == 1 and out.output.startswith("error: --plot could not write")


def test_cli_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    png = tmp_path / "p.png"
    out = _run(mia_example_path(), "--plot", str(png), "--seed", "1")
    assert out.exit_code == 2
    assert out.output.count("\n") == 1
    assert out.output.startswith("error: --plot needs matplotlib, from the plot extra")
    assert not png.exists()
