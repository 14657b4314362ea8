"""``varkit demo``: runs on the bundled logs, writes schema-valid results."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from varkit.cli.main import cli
from varkit.results import ResultSet, load_json_schema


class Page(HTMLParser):
    """Section ids, module figures, link targets and gate badges of the demo's report."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.modules: list[str] = []
        self.links: list[str] = []
        self.n_badges = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if found.get("id"):
            self.ids.add(found["id"])
        if tag == "figure" and "data-module" in found:
            self.modules.append(found["data-module"])
        self.links.extend(found[k] for k in ("src", "href") if k in found)
        self.n_badges += "badge" in found.get("class", "")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """One ``varkit demo`` run (several seconds) shared by the tests that read its output."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(cli, ["demo", "--output", str(out), "--device", "cpu"])
    return result, out


def test_demo_writes_schema_valid_results_and_a_summary(demo_run: tuple[Result, Path]) -> None:
    result, out = demo_run
    assert result.exit_code == 0, result.output
    document = json.loads((out / "results.json").read_text())
    jsonschema.Draft202012Validator(load_json_schema()).validate(document)
    results = ResultSet.from_dict(document)
    assert {r.group["module"] for r in results} == {
        "engine",
        "evaluate",
        "privacy",
        "cav",
        "fairness",
    }
    # every estimate has its uncertainty; tests_required is a count derived from one
    assert all(
        r.ci_low is not None or r.pvalue is not None
        for r in results
        if r.metric != "tests_required"
    )
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# varkit demo")
    assert "## Gates" in summary
    assert "Gates (bundled rules" in result.output
    assert "0 failed" in result.output
    assert f"{len(results)} results" in result.output
    for name in ("results.json", "summary.md", "report.html"):
        assert str(out / name) in result.output


def test_demo_report_is_self_contained_with_every_module_figure(
    demo_run: tuple[Result, Path],
) -> None:
    result, out = demo_run
    assert result.exit_code == 0, result.output
    page = Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    assert {"provenance", "gates", "forest", "results"} <= page.ids
    assert page.modules == ["privacy", "cav", "fairness"]
    assert not any(v.startswith(("http:", "https:", "//")) for v in page.links)
    assert page.n_badges > 0  # the gate decisions are in the page


def test_demo_cav_gate_decides_on_the_whole_log_not_the_running_estimates() -> None:
    from varkit.demo import _cav_section, demo_rules
    from varkit.gates import check

    results = ResultSet(
        tuple(r.replace(group={"module": "cav", **r.group}) for r in _cav_section(0, "cpu"))
    )
    final = [r for r in results if not r.details.get("checkpoint")]
    running = [r for r in results if "tests" in r.group]
    assert [r.metric for r in final] == ["crash_rate", "tests_required"]
    assert len(final) + len(running) == len(results) and len(running) >= 20
    assert all(r.details["checkpoint"] is True for r in running)
    rules = [r for r in demo_rules() if r.metric == "crash_rate"]
    (decision,) = check(results, rules).decisions  # one decision: on the final estimate
    assert len(rules) == 1 and decision.status == "pass"
    assert decision.estimate == final[0].estimate and "tests=" not in decision.label
    # without `final` the rule would match every checkpoint, and `single` fails it
    loose = [type(rules[0])(**{**rules[0].__dict__, "final": False})]
    (decision,) = check(results, loose).decisions
    assert decision.status == "fail" and "wants one result" in decision.reason


# -- issue 14: where the demo writes, and its seed --------------------------------------
def _one_error_line(result: object, fragment: str) -> None:
    err = result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == 2, err  # type: ignore[attr-defined]
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], err


def test_demo_output_that_cannot_be_a_folder_is_one_line_before_any_work(tmp_path: Path) -> None:
    regular = tmp_path / "plain.txt"
    regular.write_text("x")
    for target, fragment in (
        (regular / "demo", "--output"),
        (Path("/dev/full"), "is not a folder"),
    ):
        if not target.parent.exists() and target != regular / "demo":
            continue
        result = CliRunner().invoke(cli, ["demo", "--output", str(target), "--device", "cpu"])
        _one_error_line(result, fragment)


def test_demo_file_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    from varkit.cli.options import write_text
    from varkit.demo import write_demo
    from varkit.errors import VarkitError
    from varkit.results import Result

    (tmp_path / "results.json").mkdir()  # a folder where the file goes
    rs = ResultSet((Result("mean", 1.0, 0.5, 1.5, 0.95),))
    try:
        write_demo(rs, tmp_path, lambda p, t: write_text(p, t, option="--output"))
    except VarkitError as exc:
        assert "--output" in str(exc) and "results.json" in str(exc)
    else:
        raise AssertionError("no error")


def test_demo_sections_are_reproducible_from_the_seed() -> None:
    from varkit.demo import SECTIONS

    for name in ("engine", "privacy"):
        first, again = SECTIONS[name](7, "cpu"), SECTIONS[name](7, "cpu")
        assert ResultSet(tuple(first)) == ResultSet(tuple(again)), name
    other = SECTIONS["engine"](8, "cpu")
    assert ResultSet(tuple(other)) != ResultSet(tuple(SECTIONS["engine"](7, "cpu")))
