"""The demo: every module on the bundled example logs, gated by the bundled rules.

:func:`run_demo` (``varkit demo`` on the command line) runs one section per domain
(:data:`SECTIONS`), writes ``results.json``, ``summary.md`` and ``report.html``, and
returns the results; :func:`gate_demo` decides the bundled gates on them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import pandas as pd

from varkit.datasets import load_sessions_example
from varkit.errors import VarkitError
from varkit.gates import GateReport, Rule, check, load_rules
from varkit.gpu import bootstrap, permutation_test, resolve_device
from varkit.report import render_report
from varkit.results import Result, ResultSet, make_provenance

__all__ = ["SECTIONS", "demo_results", "demo_rules", "gate_demo", "run_demo", "write_demo"]

Section = Callable[[int, str], list[Result]]


def _engine_section(seed: int, device: str) -> list[Result]:
    """The resampling engine on the sessions log: sessions cluster within users."""
    log = load_sessions_example()
    results = []
    for variant, rows in log.groupby("variant", sort=True):
        conversion = bootstrap(
            rows["converted"].to_numpy(),
            "proportion",
            clusters=rows["user_id"].to_numpy(),
            n_resamples=4999,
            random_state=seed,
            device=device,
        )
        results.append(conversion.replace(group={"variant": str(variant), "unit": "session"}))
    treatment = log[log["variant"] == "treatment"]
    control = log[log["variant"] == "control"]
    both = pd.concat([treatment, control])
    lift = bootstrap(
        (treatment["revenue"].to_numpy(), control["revenue"].to_numpy()),
        "mean_difference",
        clusters=both["user_id"].to_numpy(),
        n_resamples=4999,
        random_state=seed,
        device=device,
    )
    results.append(
        lift.replace(metric="revenue_difference", group={"comparison": "treatment-control"})
    )
    per_user = log.groupby(["user_id", "variant"], as_index=False)["latency_ms"].mean()
    test = permutation_test(
        per_user.loc[per_user["variant"] == "treatment", "latency_ms"].to_numpy(),
        per_user.loc[per_user["variant"] == "control", "latency_ms"].to_numpy(),
        n_resamples=9999,
        random_state=seed,
        device=device,
    )
    results.append(
        test.replace(
            metric="latency_difference", group={"comparison": "treatment-control", "unit": "user"}
        )
    )
    return results


def _evaluate_section(seed: int, device: str) -> list[Result]:
    """Three models on one test set: accuracy, McNemar, paired bootstrap, Cochran's Q."""
    from varkit.datasets import load_predictions_example
    from varkit.evaluate import compare_predictions

    log = load_predictions_example()
    models = [c for c in log.columns if c not in ("id", "y_true")]
    # one-sided McNemar tests: the demo's rule asks whether the forest *beats* the
    # baseline model (each pair's first model more accurate), not whether they differ
    results = compare_predictions(
        log["y_true"],
        {m: log[m] for m in models},
        alternative="greater",
        n_resamples=4999,
        random_state=seed,
        device=device,
    )
    return list(results)


def _privacy_section(seed: int, device: str) -> list[Result]:
    """Epsilon that a membership-inference attack demonstrates: Bayes beside Clopper-Pearson,
    and the Gaussian-DP audit.

    The bundled log is not from DP-SGD: it simulates a Gaussian mechanism (member scores
    N(mu_m, 1) against N(0, 1), mu_m in [0.8, 1.2] per model; varkit.datasets.privacy), so
    there are no DP-SGD parameters to give an accountant. What stands beside the audited
    epsilon instead is the Gaussian-DP audit: its mu interval (to set against the
    simulation's mu of at most 1.2) and the epsilon at delta = 1e-5 that mu implies.
    """
    from varkit.datasets import load_mia_example
    from varkit.privacy import audit_epsilon

    log = load_mia_example()
    results = audit_epsilon(
        log["member"].to_numpy(),
        log["score"].to_numpy(),
        model_id=log["model_id"].to_numpy(),
        delta=1e-5,
        method="both",
        random_state=seed,
        gdp=True,
    )
    return [r for r in results if "model_id" not in r.group]


def _fairness_section(seed: int, device: str) -> list[Result]:
    """VRS shuffle distance per ad (sex, estimated race), compliance coverage, the
    settlement-style compliance table, and a VRS on/off comparison on simulated logs.

    The bundled log's ads are small (a few hundred impressions), so the compliance
    table's tiers are 100 and 300 impressions (not the report's default 300 and 1000);
    the log spans one month, so no monthly rows. The on/off comparison runs on a small
    paired simulation (:func:`~varkit.fairness.simulate.simulate_paired`: the
    controller is our proxy of VRS, not Meta's system), pooled over its ads.
    """
    from varkit.datasets import load_eligible_example, load_impressions_example
    from varkit.fairness import (
        compare_delivery,
        compliance_report,
        simulate_paired,
        vrs_coverage,
        vrs_metrics,
    )

    impressions, eligible = load_impressions_example(), load_eligible_example()
    per_ad = [
        vrs_metrics(impressions, eligible, attribute, n_resamples=500, random_state=seed)
        for attribute in ("sex", "race")
    ]
    everything = ResultSet(tuple(r for rs in per_ad for r in rs))
    coverage = vrs_coverage(everything, random_state=seed)
    table = compliance_report(
        impressions, eligible, tiers=(100, 300), n_resamples=500, monthly=False, random_state=seed
    )
    on, off = simulate_paired(n_users=1500, n_ads=10, n_rounds=8, random_state=seed)
    compared = compare_delivery(
        on.impressions, off.impressions, on.eligible, attribute="sex", n_resamples=300,
        random_state=seed,
    )  # fmt: skip
    simulated = {"data": "simulated paired logs (simulate_paired; the controller is a proxy)"}
    pooled = [
        r.replace(details={**r.details, **simulated})
        for r in compared
        if r.group.get("ad_id", "pooled") == "pooled"
    ]
    return [*everything, *coverage, *table, *pooled]


def _cav_section(seed: int, device: str) -> list[Result]:
    """Crash rate of the bundled CAV test log by importance sampling, and its convergence.

    The log holds 2000 tests of the ``surrogate`` vehicle under the simulator's default
    one-critical proposal (weights at most 2). There the importance-sampling interval
    covers: 0.961 at 95% and 0.914 at 90% over 1000 simulated logs of 2000 tests (binomial
    standard errors 0.007 and 0.009; benchmarks/RESULTS.md, varkit.cav), so it backs the
    demo's CAV gate. Sparse control variates stay out: on this simulator they do not beat
    importance sampling and their 90% intervals cover 0.87 (4000 tests, cv_twist_*
    controls) or 0.81 (all cv_* columns), not 0.90.
    """
    from varkit.cav import importance_sampling_estimate, n_required, running_estimate
    from varkit.datasets import load_cav_example

    log = load_cav_example()
    label = {"vehicle": "surrogate"}
    estimate = importance_sampling_estimate(log["crash"], log["weight"])
    final = [
        estimate.replace(group=label),
        n_required(estimate, rhw=0.3, confidence=0.9).replace(group=label),
    ]
    # The running estimate and relative half-width draw the report's convergence curve
    # (`varkit cav crash-rate --running 30` makes the same results); 90% and 0.3 are the
    # stopping rule of Feng et al. (Nat. Commun. 12:748, 2021).
    running = running_estimate(log["crash"], log["weight"], method="is", checkpoints=30)
    return [*final, *(r.replace(group={**label, **r.group}) for r in running)]


#: The demo's sections, by name, in the order they run (``demo_results(sections=)``).
SECTIONS: dict[str, Section] = {
    "engine": _engine_section,
    "evaluate": _evaluate_section,
    "privacy": _privacy_section,
    "cav": _cav_section,
    "fairness": _fairness_section,
}

# The bundled files each section reads (varkit/datasets/data): the provenance records them
# with their SHA-256, so a report says which data its results came from.
_INPUTS: dict[str, tuple[str, ...]] = {
    "engine": ("sessions_example.csv",),
    "evaluate": ("predictions_example.csv",),
    "privacy": ("mia_example.csv",),
    "cav": ("cav_example.csv",),
    "fairness": ("impressions_example.csv", "eligible_example.csv"),
}


def _input_files(sections: Sequence[str]) -> list[str]:
    data = resources.files("varkit.datasets").joinpath("data")
    return [str(data.joinpath(name)) for section in sections for name in _INPUTS[section]]


Writer = Callable[[Path, str], None]


def _write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def run_demo(output: str | os.PathLike[str], *, seed: int = 0, device: str = "auto") -> ResultSet:
    """Run every demo section; write ``results.json``, ``summary.md`` and ``report.html``
    (with the bundled gates' decisions) into ``output``.

    The same ``seed`` gives the same results (every section draws from it); it is
    recorded in the provenance.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     rs = run_demo(tmp, device="cpu")
    ...     sorted(os.listdir(tmp)), rs.provenance["seed"]
    (['report.html', 'results.json', 'summary.md'], 0)
    """
    result_set = demo_results(seed=seed, device=device)
    write_demo(result_set, output, _write_file)
    return result_set


def demo_results(
    *, seed: int = 0, device: str = "auto", sections: Sequence[str] | None = None
) -> ResultSet:
    """The demo sections' results, with the provenance: the bundled input files with their
    SHA-256, the seed, the device that ran (``auto`` resolved) and the timings.

    Parameters
    ----------
    seed : int
        Every section draws from it; recorded in the provenance.
    device : {'auto', 'cpu', 'gpu'}
        Where the resampling engine runs.
    sections : sequence of str, optional
        Names from :data:`SECTIONS` to run (default: all, in their order).

    Examples
    --------
    >>> rs = demo_results(sections=["cav"], device="cpu")
    >>> {r.group["module"] for r in rs}, rs.provenance["seed"], rs.provenance["device"]
    ({'cav'}, 0, 'cpu')
    >>> [os.path.basename(item["path"]) for item in rs.provenance["inputs"]]
    ['cav_example.csv']
    """
    chosen = list(SECTIONS) if sections is None else list(sections)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        raise VarkitError(
            f"`sections` must name demo sections ({', '.join(SECTIONS)}); got {unknown[0]!r}."
        )
    # the device that runs, recorded as such: 'auto' resolves to 'cpu' or 'gpu' here
    ran_on = resolve_device(device).device
    results: list[Result] = []
    timings = {}
    for name in chosen:
        section = SECTIONS[name]
        start = time.perf_counter()
        for result in section(seed, ran_on):
            results.append(result.replace(group={"module": name, **result.group}))
        timings[name] = round(time.perf_counter() - start, 3)
    provenance = make_provenance(
        command="varkit demo",
        inputs=_input_files(chosen),
        seed=seed,
        device=ran_on,
        seconds_per_section=timings,
    )
    return ResultSet(tuple(results), provenance)


def write_demo(result_set: ResultSet, output: str | os.PathLike[str], write: Writer) -> None:
    """Write ``results.json``, ``summary.md`` and ``report.html`` into ``output`` with
    ``write(path, text)`` (the CLI passes one that turns a failed write into one line).

    Examples
    --------
    >>> import tempfile
    >>> from varkit.results import Result, ResultSet
    >>> rs = ResultSet((Result(metric="rate", estimate=0.1, method="doc"),))
    >>> written = []
    >>> write_demo(rs, tempfile.mkdtemp(), lambda path, text: written.append(path.name))
    >>> written
    ['results.json', 'summary.md', 'report.html']
    """
    out = Path(output)
    write(out / "results.json", result_set.to_json() + "\n")
    rules = demo_rules()
    report = check(result_set, rules)
    summary = "# varkit demo\n\n" + result_set.to_markdown()
    summary += "\n## Gates\n\n" + report.to_markdown()
    write(out / "summary.md", summary)
    write(out / "report.html", render_report(result_set, report, rules=rules, title="varkit demo"))


def demo_rules() -> list[Rule]:
    """The bundled rules the demo gates with (``datasets/data/demo_gates.toml``).

    Examples
    --------
    >>> rules = demo_rules()
    >>> len(rules) > 0 and all(rule.name for rule in rules)
    True
    """
    rules = resources.files("varkit.datasets").joinpath("data", "demo_gates.toml")
    with resources.as_file(rules) as path:
        return load_rules(path)


def gate_demo(result_set: ResultSet) -> GateReport:
    """Gate the demo's results with the bundled rules.

    Examples
    --------
    >>> report = gate_demo(demo_results(sections=["cav"], device="cpu"))
    >>> [d.status for d in report.decisions if "vehicle" in d.rule]  # the others find no result
    ['pass']
    """
    return check(result_set, demo_rules())
