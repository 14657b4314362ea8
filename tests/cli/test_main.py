"""The installed entry point: exit codes and one-line errors as a user sees them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from varkit.datasets.sessions import sessions_example_path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "varkit", *args], capture_output=True, text=True, timeout=120
    )


def test_version_prints_and_exits_zero() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert "varkit, version" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("bootstrap", "missing.csv", "--column", "x"),
        ("bootstrap", "SESSIONS", "--column", "nope"),
        ("bootstrap", "SESSIONS", "--column", "variant"),
        ("bootstrap", "SESSIONS", "--column", "revenue", "--statistic", "ratio"),
        ("bootstrap", "SESSIONS", "--column", "revenue", "--resamples", "1"),
        ("no-such-command",),
    ],
)
def test_bad_input_exits_2_with_one_error_line(args: tuple[str, ...]) -> None:
    args = tuple(sessions_example_path() if a == "SESSIONS" else a for a in args)
    proc = run(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr


def test_success_exits_zero(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = run(
        "bootstrap",
        sessions_example_path(),
        "-c",
        "revenue",
        "--resamples",
        "200",
        "--seed",
        "1",
        "--format",
        "json",
        "--output",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().startswith("{")


def test_help_lists_every_command_without_importing_any():
    """`varkit --help` answers from one line per command: no command module is imported."""
    import subprocess
    import sys

    from varkit.cli.main import _COMMANDS, _SHORT_HELP

    assert set(_SHORT_HELP) == set(_COMMANDS)
    code = (
        "import sys; from varkit.cli.main import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('varkit.cli.') and "
        "m not in ('varkit.cli.main', 'varkit.cli.options')))\n"
        "print('scipy' in sys.modules, 'pandas' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    *listing, imported, heavy = run.stdout.strip().splitlines()
    assert imported == "[]"
    assert heavy == "False False"  # neither scipy's nor pandas' import cost is paid
    for name, line in _SHORT_HELP.items():
        assert any(row.split()[:1] == [name] for row in listing), name
        assert line.split()[0] in " ".join(listing)
