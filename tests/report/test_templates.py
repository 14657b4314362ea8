"""``varkit.report`` templates and the demo's page (issue 20): package data, escaping, final
results in the table with the running checkpoints as a plot, real inputs and device."""

from __future__ import annotations

import hashlib
import re
import sys
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest

from varkit.demo import demo_results, write_demo
from varkit.gates import is_checkpoint
from varkit.gpu import resolve_device
from varkit.report import render_report
from varkit.results import Result, ResultSet

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def section(page: str, name: str) -> str:
    """The HTML of one ``<section id=name>``."""
    start = page.index(f'<section id="{name}">')
    return page[start : page.index("</section>", start)]


def table_rows(page: str) -> list[str]:
    """The results table's body rows."""
    body = section(page, "results").split("<tbody>", 1)[1]
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


def test_templates_are_package_data_the_wheel_ships() -> None:
    folder = resources.files("varkit.report").joinpath("templates")
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert {"report.html.j2", "sections.html.j2", "report.css"} <= set(names)
    # setuptools ships what [tool.setuptools.package-data] names (paths under varkit/)
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["package-data"]["varkit"]
    assert all(any(fnmatch(f"report/templates/{n}", g) for g in globs) for n in names)


def test_script_in_a_label_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    page = render_report(
        ResultSet(
            (Result("accuracy", 0.9, 0.8, 0.95, 0.95, group={"model": evil}),),
            {"inputs": [{"path": evil, "sha256": "0" * 64}], "device": evil},
        )
    )
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # label, input, device


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[ResultSet, str]:
    results = demo_results(sections=["cav"])  # 'auto': the report must say what ran
    out = tmp_path_factory.mktemp("demo")
    write_demo(results, out, lambda path, text: path.write_text(text, encoding="utf-8"))
    return results, (out / "report.html").read_text(encoding="utf-8")


def test_demo_table_lists_final_results_and_the_checkpoints_are_a_plot(
    demo: tuple[ResultSet, str],
) -> None:
    results, page = demo
    checkpoints = [r for r in results if is_checkpoint(r)]
    final = [r for r in results if not is_checkpoint(r)]
    assert len(checkpoints) >= 20 and [r.metric for r in final] == ["crash_rate", "tests_required"]
    rows = table_rows(page)
    assert len(rows) == len(final) and not any("tests=" in row for row in rows)
    assert f"All results ({len(final)})" in page
    cav = section(page, "module-cav")
    assert 'data-module="cav"' in cav and 'alt="CAV convergence curve"' in cav
    assert f"{len(checkpoints)} running checkpoint(s) of 1 sequential" in " ".join(cav.split())
    forest = section(page, "forest")
    # one crash-rate row: the final estimate, not the checkpoints
    assert 'data-metric="crash_rate"' in forest and "<figcaption>1 interval(s)." in forest


def test_demo_provenance_shows_input_hashes_and_the_device_that_ran(
    demo: tuple[ResultSet, str],
) -> None:
    _, page = demo
    data = resources.files("varkit.datasets").joinpath("data", "cav_example.csv")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    provenance = section(page, "provenance")
    assert f"cav_example.csv</code> sha256 <code>{digest}</code>" in provenance
    device = resolve_device("auto").device
    assert f"<th>device</th><td>{device}</td>" in provenance and ">auto<" not in provenance
