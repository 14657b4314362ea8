"""Progress bars (varkit.progress): on a terminal only, never piped or under --quiet."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import varkit.progress as vp
from varkit.gpu import bootstrap, permutation_test


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@contextlib.contextmanager
def _on_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Terminal]:
    """Standard error as a terminal, inside the test body (pytest's output capture sets
    ``sys.stderr`` again between a fixture's setup and the test's call)."""
    stream = _Terminal()
    with monkeypatch.context() as patch:
        patch.setattr(vp, "_DELAY_SECONDS", 0.0)  # draw at once, not after 2 s
        patch.setattr(sys, "stderr", stream)
        yield stream


def test_library_calls_draw_nothing_outside_show_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    with _on_terminal(monkeypatch) as terminal:
        bootstrap(np.arange(50.0), "mean", n_resamples=300, random_state=0, device="cpu")
    assert terminal.getvalue() == ""


def test_jobs_inside_show_progress_draw_a_bar_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = np.random.default_rng(0).normal(size=40)
    with _on_terminal(monkeypatch) as terminal, vp.show_progress():
        assert vp.bars_shown()
        shown = bootstrap(x, "mean", n_resamples=300, random_state=0, device="cpu")
        permutation_test(x, x + 0.1, paired=True, n_resamples=300, random_state=0, device="cpu")
    assert "bootstrap" in terminal.getvalue() and "permutations" in terminal.getvalue()
    # drawing the bar does not change the result
    assert shown == bootstrap(x, "mean", n_resamples=300, random_state=0, device="cpu")


def test_quiet_or_a_pipe_draws_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    with _on_terminal(monkeypatch) as terminal:
        with vp.show_progress(enabled=False), vp.progress(10, "x") as step:
            step(10)
        assert not vp.bars_shown()
        monkeypatch.setattr(_Terminal, "isatty", lambda self: False)
        with vp.show_progress(), vp.progress(10, "x") as step:
            step(10)
    assert terminal.getvalue() == ""


def test_the_callers_progress_callback_is_still_told(monkeypatch: pytest.MonkeyPatch) -> None:
    done: list[int] = []
    with _on_terminal(monkeypatch) as terminal, vp.show_progress():
        bootstrap(
            np.arange(50.0),
            "mean",
            n_resamples=300,
            random_state=0,
            device="cpu",
            progress=done.append,
        )
    assert sum(done) == 300 and "bootstrap" in terminal.getvalue()


def test_commands_take_quiet(tmp_path: Path) -> None:
    from varkit.cli.main import cli

    data = tmp_path / "x.csv"
    data.write_text("x\n" + "\n".join(str(v) for v in range(30)) + "\n")
    result = CliRunner().invoke(
        cli, ["bootstrap", str(data), "-c", "x", "--resamples", "200", "--seed", "1", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "--quiet" in CliRunner().invoke(cli, ["bootstrap", "--help"]).output
