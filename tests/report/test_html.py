"""``varkit.report``: a self-contained page, its sections and figures, escaping."""

from __future__ import annotations

import base64
import math
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from varkit.cav import running_estimate
from varkit.gates import Rule, check, is_checkpoint
from varkit.privacy import bayesian_epsilon
from varkit.report import figures, render_report, write_report
from varkit.report.figures import MAX_ROWS, row_labels
from varkit.results import Result, ResultSet

EVIL = '<script>alert("x")</script>'


class Page(HTMLParser):
    """Tags, attributes and text of an HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]

    @property
    def ids(self) -> set[str]:
        return {str(a["id"]) for _, a in self.tags if a.get("id")}


def svg_of(img: dict[str, str | None]) -> str:
    src = str(img["src"])
    prefix = "data:image/svg+xml;base64,"
    assert src.startswith(prefix)
    return base64.b64decode(src[len(prefix) :]).decode("utf-8")


def module_results() -> list[Result]:
    """Results of every kind the report draws a module figure for."""
    results: list[Result] = [
        Result("accuracy", 0.86, 0.83, 0.88, 0.95, "wilson", n=600, group={"model": "forest"}),
        Result("accuracy", 0.83, 0.80, 0.86, 0.95, "wilson", n=600, group={"model": "logistic"}),
        Result("mcnemar", 3.1, pvalue=0.04, method="mcnemar-exact", group={"comparison": "a-b"}),
        Result("epsilon_lower", 1.0, 0.5, math.inf, 0.95, "one-sided"),
    ]
    results.append(bayesian_epsilon(fp=10, fn=400, tn=990, tp=600, delta=1e-5))
    rng = np.random.default_rng(1)
    crash = rng.random(400) < 0.05
    results.extend(running_estimate(crash, np.ones(400), method="is", checkpoints=12))
    for attribute in ("sex", "race"):
        for ad, distance in enumerate((0.02, 0.05, 0.08, 0.12, 0.2)):
            results.append(
                Result(
                    "shuffle_distance",
                    distance,
                    max(0.0, distance - 0.04),
                    distance + 0.04,
                    0.95,
                    "bootstrap",
                    group={"ad_id": f"ad_{ad}", "attribute": attribute},
                    details={"threshold": 0.1},
                )
            )
        results.append(
            Result(
                "compliance_coverage",
                0.6,
                0.23,
                0.88,
                0.95,
                "wilson",
                n=5,
                group={"attribute": attribute, "weighting": "ads"},
            )
        )
    return results


RULES = [
    Rule("forest holds up", "accuracy", {"model": "forest"}, min=0.80),
    Rule("audit", "epsilon", max=8.0, mode="assured"),
    Rule("differ", "mcnemar", max_pvalue=0.05),
]


@pytest.fixture(scope="module")
def page() -> Page:
    results = ResultSet(tuple(module_results()), {"command": "pytest", "seed": 1})
    return Page(render_report(results, check(results, RULES), rules=RULES, title="test"))


def test_page_loads_nothing_from_outside(page: Page) -> None:
    assert not page.find("script") and not page.find("link") and not page.find("iframe")
    for _, attrs in page.tags:
        for name in ("src", "href", "action", "srcset"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "file:")), value
    assert all(str(img["src"]).startswith("data:image/svg+xml;base64,") for img in page.find("img"))
    assert all(str(a["href"]).startswith("#") for a in page.find("a"))


def test_page_has_every_section(page: Page) -> None:
    expected = {"provenance", "gates", "forest", "results"}
    expected |= {"module-privacy", "module-cav", "module-fairness"}
    assert expected <= page.ids


@pytest.mark.parametrize("module", ["privacy", "cav", "fairness"])
def test_one_figure_per_module(page: Page, module: str) -> None:
    (figure,) = page.find("figure", **{"data-module": module})
    assert figure["class"] == "module-figure"


def test_module_figures_draw_what_the_results_hold(page: Page) -> None:
    images = {str(a["alt"]): svg_of(a) for a in page.find("img")}
    cav = images["CAV convergence curve"]
    assert "relative half-width" in cav and "target 0.3" in cav
    fairness = images["per-ad shuffle distance histogram"]
    assert "coverage 0.6 [0.23, 0.88] (95%)" in fairness and "threshold 0.1" in fairness
    # per attribute: intervals [0, 0.06], [0.01, 0.09] wholly below 0.1, [0.16, 0.24] above
    assert fairness.count("intervals below / straddling / above 0.1: 2 / 2 / 1") == 2
    assert "posterior density" in images["posterior density of epsilon"]


def test_forest_plot_per_metric_with_gate_colours(page: Page) -> None:
    metrics = [a["data-metric"] for a in page.find("figure", **{"class": "forest"})]
    # running crash-rate estimates go to the CAV figure; mcnemar has no interval
    assert metrics == [
        "accuracy",
        "epsilon_lower",
        "epsilon",
        "shuffle_distance",
        "compliance_coverage",
    ]
    accuracy = svg_of(page.find("img", alt="forest plot of accuracy")[0])
    assert "model=forest" in accuracy and "model=logistic" in accuracy
    assert "#1a7f37" in accuracy  # the forest row passed its rule: green
    assert "bound 0.8: forest holds up" in accuracy
    text = " ".join(page.text)
    assert "mcnemar (1)" in text and "12 running crash-rate estimates" in text


def test_gate_table_and_results_table(page: Page) -> None:
    text = " ".join(page.text)
    assert "3 passed 0 failed 0 inconclusive" in " ".join(text.split())
    badges = [a for a in page.find("span") if "badge" in str(a.get("class"))]
    # three decisions in the gates table, and the same three in the results table
    assert len(badges) == 6
    assert text.count("forest holds up") == 1
    # the table lists the final results; the 12 running checkpoints are the CAV curve
    n_final = len([r for r in module_results() if not is_checkpoint(r)])
    assert f"All results ({n_final})" in text
    assert "Not listed: 12 running checkpoint(s)" in " ".join(text.split())


def test_malicious_text_is_escaped_everywhere() -> None:
    result = Result(
        EVIL,
        1.0,
        0.5,
        1.5,
        0.95,
        EVIL,
        group={EVIL: EVIL, "$x": "a $ sign"},
        details={"note": EVIL},
    )
    rules = [Rule(EVIL, EVIL, min=0.0)]
    inputs = [{"path": EVIL, "sha256": EVIL}, EVIL]
    results = ResultSet((result,), {EVIL: EVIL, "command": EVIL, "inputs": inputs})
    text = render_report(results, check(results, rules), rules=rules, title=EVIL)
    assert "<script" not in text.lower()
    parsed = Page(text)
    assert not parsed.find("script")
    assert EVIL in " ".join(parsed.text)  # shown as text, not run
    # title, command, provenance key and value, two inputs, metric, method, label, details,
    # rule, decision label (twice in the gates table), ...: every one comes out as text
    assert " ".join(parsed.text).count(EVIL) >= 10
    svg = svg_of(parsed.find("img")[0])
    assert "<script" not in svg  # matplotlib escaped it inside the SVG too


def test_many_results_are_capped_with_a_note() -> None:
    results = ResultSet(
        tuple(Result("m", float(i), i - 1.0, i + 1.0, 0.95, group={"i": str(i)}) for i in range(60))
    )
    parsed = Page(render_report(results))
    text = " ".join(parsed.text)
    assert f"The first {MAX_ROWS} of 60 intervals are drawn" in text
    svg = svg_of(parsed.find("img")[0])
    assert f"i={MAX_ROWS - 1}" in svg and f"i={MAX_ROWS}<" not in svg
    assert "All results (60)" in text


def test_infinite_and_nan_bounds_render() -> None:
    results = ResultSet(
        (
            Result("e", 1.0, 0.5, math.inf, 0.95, group={"k": "a"}),
            Result("e", 1.0, -math.inf, 2.0, 0.95, group={"k": "b"}),
            Result("e", math.nan, math.nan, math.nan, 0.95, group={"k": "c"}),
        )
    )
    parsed = Page(render_report(results))
    (img,) = parsed.find("img")
    assert "interval is NaN" in svg_of(img)


def test_crash_rate_without_running_estimate_says_so() -> None:
    results = ResultSet((Result("crash_rate", 1e-4, 5e-5, 2e-4, 0.95, "importance-sampling"),))
    parsed = Page(render_report(results))
    assert "module-cav" in parsed.ids
    assert not parsed.find("figure", **{"data-module": "cav"})
    assert "no running estimate" in " ".join(parsed.text)


def test_no_module_sections_without_module_results() -> None:
    parsed = Page(render_report(ResultSet((Result("m", 1.0, 0.0, 2.0, 0.95),))))
    assert not {i for i in parsed.ids if i.startswith("module-")}
    assert "gates" not in parsed.ids


def test_row_labels_show_only_what_tells_rows_apart() -> None:
    pair = [
        Result("d", 0.0, group={"comparison": "a-b", "model_1": "a", "model_2": "b"}),
        Result("d", 0.0, group={"comparison": "a-c", "model_1": "a", "model_2": "c"}),
    ]
    assert row_labels(pair) == ["comparison=a-b", "comparison=a-c"]
    methods = [Result("e", 1.0, method="bayes"), Result("e", 1.0, method="cp")]
    assert row_labels(methods) == ["bayes", "cp"]


def test_write_report_and_validation(tmp_path: Path) -> None:
    path = write_report(ResultSet((Result("m", 1.0, 0.0, 2.0, 0.95),)), tmp_path / "r.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    bad: list[Any] = [[Result("m", 1.0)], "x"]
    with pytest.raises(TypeError, match="`resultset` must be a ResultSet"):
        render_report(bad[0])
    with pytest.raises(TypeError, match="`gate_report`"):
        render_report(ResultSet(), bad[1])
    with pytest.raises(TypeError, match="`rules`"):
        render_report(ResultSet(), rules=bad[1:])


def test_metrics_beyond_the_panel_cap_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(figures, "MAX_PANELS", 1)
    results = ResultSet(
        (Result("first", 1.0, 0.0, 2.0, 0.95), Result("second", 1.0, 0.0, 2.0, 0.95))
    )
    parsed = Page(render_report(results))
    assert len(parsed.find("img")) == 1
    assert "Only the first 1 metrics get a panel; not drawn: second" in " ".join(parsed.text)


def test_empty_result_set_renders() -> None:
    parsed = Page(render_report(ResultSet()))
    assert "No result has an interval." in " ".join(parsed.text)
    assert not parsed.find("img")


def test_a_details_field_rule_draws_no_bound_on_the_interval() -> None:
    diff = Result(
        "score_difference",
        0.01,
        -0.01,
        0.03,
        0.95,
        "bayesian-correlated-t",
        group={"comparison": "a-b"},
        details={"p_not_worse": 0.97},
    )
    rules = [Rule("not worse", "score_difference", field="p_not_worse", min=0.95)]
    results = ResultSet((diff,), {"command": "pytest"})
    page = Page(render_report(results, check(results, rules), rules=rules, title="t"))
    forest = svg_of(page.find("img", alt="forest plot of score_difference")[0])
    assert "not worse" not in forest  # 0.95 is a probability, not a score difference
    assert "not worse" in " ".join(page.text)  # the gate table shows the rule


def test_model_comparisons_get_the_critical_difference_diagram_and_posteriors() -> None:
    from varkit.evaluate import bayesian_correlated_ttest, bayesian_signed_rank, friedman_nemenyi

    scores = [[0.9, 0.8, 0.7], [0.85, 0.8, 0.6], [0.95, 0.9, 0.8], [0.7, 0.75, 0.5]]
    results = ResultSet(
        (
            *friedman_nemenyi(scores, models=["a", "b", "c"]),
            bayesian_correlated_ttest([0.02, 0.01, 0.03, 0.0, 0.02], rope=0.01),
            bayesian_signed_rank([0.9, 0.8, 0.7, 0.6], [0.8, 0.8, 0.6, 0.5], random_state=0),
        )
    )
    page = render_report(results)
    assert 'id="module-evaluate"' in page and page.count('data-module="evaluate"') == 3
    assert "Critical-difference diagram" in page and "Nemenyi, CD = " in page
    # nothing to compare: no section
    assert 'id="module-evaluate"' not in render_report(ResultSet((Result("m", 1.0),)))
