"""plot_trajectory draws the simulated trajectory and writes a real PNG."""

from __future__ import annotations

import pytest

from varkit.fairness import plot_trajectory, simulate_delivery


def test_plot_trajectory_writes_a_png(tmp_path) -> None:
    matplotlib = pytest.importorskip("matplotlib")  # in the `test` extra
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sim = simulate_delivery(n_users=300, n_ads=4, n_rounds=3, random_state=3)
    ax = plot_trajectory(sim.trajectory, threshold=0.1)
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["race", "sex"]
    assert len(ax.get_lines()) == 3  # one line per attribute and the threshold
    path = tmp_path / "trajectory.png"
    ax.figure.savefig(path)
    plt.close(ax.figure)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
