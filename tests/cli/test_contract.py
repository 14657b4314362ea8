"""The CLI contract, enforced on generated inputs for every subcommand of ``varkit``.

Exit 0 on success, 1 when a gate failed (``varkit gate`` only), 2 on bad input or usage
with one ``error:`` line on standard error and no traceback; never 3 and never an uncaught
exception. With ``--format json`` the output is a varkit.results/1 document whose
intervals are ordered and within the parameter's range, with no NaN estimate left
unexplained; the same ``--seed`` gives the same results.

The inputs come from ``tests/cli/contract_strategies.py``: malformed CSVs, extreme option
values, malformed results JSON and rules TOML, output paths that cannot be written. The
default budget is a handful of examples per subcommand (derandomized, no example database,
no shrinking); ``-m slow`` runs many more, with the values known to need huge memory or
time (no shrinking either: a hang costs its whole time limit per try).

Every invocation runs in this process with ``click.testing.CliRunner`` under a time limit
(SIGALRM) and an address-space limit, so that a command that hangs or tries to allocate
terabytes fails its test instead of stalling or exhausting the machine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import faulthandler
import json
import math
import os
import re
import resource
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.cli.contract_strategies import BASE_RULES, STRATEGIES, Case
from varkit.cli.main import cli
from varkit.results import load_json_schema

# Time allowed to one invocation. The demo runs every module and takes a few seconds.
TIMEOUT_S = {"demo": 60.0}
DEFAULT_TIMEOUT_S = 20.0
# Address space a command may add to the test process (a MemoryError beyond it).
EXTRA_ADDRESS_SPACE = 3 * 2**30

# Metrics that are probabilities, rates or distances in [0, 1] (and their differences in
# [-1, 1]); epsilon and counts are non-negative.
UNIT_METRICS = {
    "accuracy",
    "balanced_accuracy",
    "error_rate",
    "proportion",
    "crash_rate",
    "coverage",
    "compliance_coverage",
    "shuffle_distance",
    "mean_shuffle_distance",
    "tpr_at_fpr",
    "tpr",
    "fpr",
    "auc",
    "roc_auc",
    "precision",
    "recall",
    "f1",
}
NON_NEGATIVE_METRICS = {"epsilon", "tests_required"}
REASON_KEYS = ("reason", "warning", "note", "undefined", "nan")

DEFAULT = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
SLOW = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


# -- running one case under guards -------------------------------------------------------
class CommandTimeout(BaseException):
    """Raised by the alarm inside a command that ran past its time limit.

    A BaseException, so that neither the CLI's ``except Exception`` nor CliRunner turns
    it into an ordinary exit code.
    """


@dataclasses.dataclass
class Outcome:
    exit_code: int | None
    stdout: str
    stderr: str
    exception: BaseException | None
    seconds: float
    timed_out: bool = False


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def guarded(seconds: float) -> Iterator[None]:
    """Run the block with a time limit (CommandTimeout) and a cap on new address space
    (MemoryError); a hard backstop dumps the stacks and ends the run if even the alarm
    cannot interrupt it (a long loop in compiled code)."""

    def alarm(signum: int, frame: Any) -> None:
        raise CommandTimeout(f"ran past {seconds:g} s")

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + EXTRA_ADDRESS_SPACE
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    previous = signal.signal(signal.SIGALRM, alarm)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds * 4 + 30, exit=True)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.cancel_dump_traceback_later()
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, previous)


def expand(text: str, tmp: Path) -> str:
    return text.replace("{tmp}", str(tmp))


def materialise(case: Case, tmp: Path) -> None:
    for name, content in case.files:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


# The environment of every run: no CI variables from the machine running the tests.
CLEAN_ENV: dict[str, str | None] = {
    "GITHUB_STEP_SUMMARY": None,
    "GITHUB_ACTIONS": None,
    "VARKIT_DEBUG": None,
}


def invoke(case: Case, tmp: Path) -> Outcome:
    argv = [expand(a, tmp) for a in case.argv]
    env = {**CLEAN_ENV, **{k: expand(v, tmp) for k, v in case.env}}
    runner = CliRunner()
    start = time.perf_counter()
    try:
        with guarded(TIMEOUT_S.get(case.command, DEFAULT_TIMEOUT_S)):
            result = runner.invoke(cli, argv, env=env, prog_name="varkit")
    except CommandTimeout as exc:
        return Outcome(None, "", "", exc, time.perf_counter() - start, timed_out=True)
    return Outcome(
        result.exit_code,
        result.stdout,
        result.stderr,
        result.exception,
        time.perf_counter() - start,
    )


# -- the contract ------------------------------------------------------------------------
@dataclasses.dataclass
class Violation:
    """One way a run broke the contract; ``kind`` classifies it (exit3, hang, degenerate ...)."""

    kind: str
    message: str


_RAW_WARNING = re.compile(r"Warning:")
# `warning: RuntimeWarning: ...` is within the contract (printed once, recorded in the
# results) but means a numpy/pandas warning was not avoided at its source; reported as a
# violation only with VARKIT_CONTRACT_STRICT_WARNINGS=1.
STRICT_WARNINGS = os.environ.get("VARKIT_CONTRACT_STRICT_WARNINGS") == "1"
_LIBRARY_WARNING = re.compile(r"warning: \w+Warning: ")
# The messages with which varkit.results.Result refuses a result (backticked field names).
_RESULT_INVARIANT = re.compile(
    r"`estimate` \(.*\) is outside its interval|`ci_low` \(.*\) is above `ci_high`"
    r"|`confidence` must be in \(0, 1\)"
)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return float(value)  # "inf", "-inf", "nan" (the schema allows only these)
    if isinstance(value, bool):
        return None
    return float(value)


def _has_reason(details: Any) -> bool:
    text = json.dumps(details).lower()
    return any(key in text for key in REASON_KEYS)


def _strip_time(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {
            k: _strip_time(v)
            for k, v in doc.items()
            if k not in ("time_utc", "seconds_per_section")
        }
    if isinstance(doc, list):
        return [_strip_time(v) for v in doc]
    return doc


def check_results_document(doc: Any) -> list[Violation]:
    """Schema, interval order and ranges of one varkit.results/1 document."""
    problems = []
    try:
        jsonschema.validate(doc, load_json_schema())
    except jsonschema.ValidationError as exc:
        return [Violation("schema", f"not a varkit.results/1 document: {exc.message}")]
    for result in doc["results"]:
        metric = result["metric"]
        label = f"{metric}{result.get('group') or ''}"
        est = _number(result["estimate"])
        lo, hi = _number(result.get("ci_low")), _number(result.get("ci_high"))
        assert est is not None
        if est is not None and math.isnan(est) and not _has_reason(result.get("details", {})):
            problems.append(Violation("nan", f"{label}: NaN estimate with no reason in details"))
        for name, bound in (("ci_low", lo), ("ci_high", hi)):
            if bound is not None and math.isnan(bound) and not _has_reason(result["details"]):
                problems.append(Violation("nan", f"{label}: NaN {name} with no reason in details"))
        if lo is not None and not math.isnan(lo) and not math.isnan(est) and lo > est:
            problems.append(Violation("order", f"{label}: ci_low {lo} > estimate {est}"))
        if hi is not None and not math.isnan(hi) and not math.isnan(est) and est > hi:
            problems.append(Violation("order", f"{label}: estimate {est} > ci_high {hi}"))
        base = metric[: -len("_difference")] if metric.endswith("_difference") else None
        if metric in UNIT_METRICS or base in UNIT_METRICS:
            low_limit = -1.0 if base in UNIT_METRICS else 0.0
            for name, value in (("estimate", est), ("ci_low", lo), ("ci_high", hi)):
                if value is not None and not math.isnan(value) and not low_limit <= value <= 1:
                    problems.append(
                        Violation("range", f"{label}: {name} {value} outside [{low_limit}, 1]")
                    )
        if metric in UNIT_METRICS and lo is not None and hi is not None and result.get("n") != 0:
            # zero (all) events: the interval keeps an exact bound away from 0 (1), never [0, 0]
            if est == 0 and hi == 0:
                problems.append(Violation("degenerate", f"{label}: interval [0, 0] at estimate 0"))
            if est == 1 and lo == 1:
                problems.append(Violation("degenerate", f"{label}: interval [1, 1] at estimate 1"))
        if metric in NON_NEGATIVE_METRICS:
            for name, value in (("estimate", est), ("ci_low", lo), ("ci_high", hi)):
                if value is not None and value < 0:
                    problems.append(Violation("range", f"{label}: {name} {value} is negative"))
        pvalue = _number(result.get("pvalue"))
        if pvalue is not None and not math.isnan(pvalue) and not 0 <= pvalue <= 1:
            problems.append(Violation("range", f"{label}: p-value {pvalue} outside [0, 1]"))
        stderr = _number(result.get("stderr"))
        if stderr is not None and stderr < 0:
            problems.append(Violation("range", f"{label}: negative stderr {stderr}"))
    return problems


def _read_json(case: Case, outcome: Outcome, tmp: Path) -> tuple[Any, list[Violation]]:
    if case.json_at is None:
        return None, []
    if case.json_at == "-":
        text = outcome.stdout
    else:
        path = Path(expand(case.json_at, tmp))
        if not path.is_file():
            return None, [Violation("output", f"exit 0 but {path.name} was not written")]
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [Violation("schema", f"--format json output is not JSON: {exc}")]


def check_outcome(case: Case, outcome: Outcome, tmp: Path) -> tuple[list[Violation], Any]:
    """Every way ``outcome`` breaks the contract, and the parsed JSON results (or None)."""
    if outcome.timed_out:
        return [Violation("hang", f"no answer after {outcome.seconds:.0f} s")], None
    exc = outcome.exception
    if exc is not None and not isinstance(exc, SystemExit):
        return [Violation("uncaught", f"uncaught {type(exc).__name__}: {exc}")], None
    code = outcome.exit_code
    both = outcome.stdout + outcome.stderr
    if code == 3:
        tb = re.findall(r"^(\w+(?:\.\w+)*(?:Error|Exception|Interrupt|Exit|Warning)):", both, re.M)
        last = tb[-1] if tb else "?"
        where = re.findall(r'File "([^"]+)", line (\d+), in (\w+)', both)
        at = f" at {Path(where[-1][0]).name}:{where[-1][1]} {where[-1][2]}" if where else ""
        message = both.strip().splitlines()[-1] if both.strip() else ""
        return [Violation("exit3", f"exit 3, {last}{at}: {message[:300]}")], None
    if code not in case.allowed_exit:
        return [Violation("exit", f"exit {code} (allowed {case.allowed_exit})")], None
    problems: list[Violation] = []
    if "Traceback" in both:
        problems.append(Violation("traceback", f"exit {code} with a traceback"))
    if code == 2:
        lines = outcome.stderr.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("error:"):
            shown = " | ".join(lines)[:400]
            problems.append(
                Violation("error_line", f"exit 2, stderr is not one error line: {shown}")
            )
        if case.command not in ("gate", "report") and _RESULT_INVARIANT.search(outcome.stderr):
            # a Result the command built itself broke the schema's rules: a bug, not bad input
            problems.append(Violation("masked_bug", f"exit 2 for a bug: {outcome.stderr[:300]}"))
        return problems, None
    for line in outcome.stderr.splitlines():
        if _RAW_WARNING.search(line) and not line.startswith("warning:"):
            problems.append(Violation("raw_warning", f"raw warning text: {line[:300]}"))
        elif STRICT_WARNINGS and _LIBRARY_WARNING.match(line):
            problems.append(Violation("library_warning", line[:300]))
    if code != 0:
        return problems, None
    for written in case.writes:
        if not Path(expand(written, tmp)).exists():
            problems.append(Violation("output", f"exit 0 but {written} was not written"))
    doc, read_problems = _read_json(case, outcome, tmp)
    problems += read_problems
    if doc is not None:
        problems += check_results_document(doc)
    return problems, doc


def _comparable(case: Case, outcome: Outcome, doc: Any, tmp: Path) -> Any:
    if doc is not None:
        return _strip_time(doc)
    if case.command == "cav simulate":
        written = [Path(expand(w, tmp)) for w in case.writes]
        return [p.read_text() for p in written] if written else outcome.stdout
    return outcome.stdout if case.command != "demo" else None


def run_case(case: Case) -> list[Violation]:
    """Run ``case`` (twice when it is seeded and succeeds) and return its violations."""
    with tempfile.TemporaryDirectory(prefix="varkit-contract-") as name:
        tmp = Path(name)
        materialise(case, tmp)
        outcome = invoke(case, tmp)
        problems, doc = check_outcome(case, outcome, tmp)
        if problems or outcome.exit_code != 0 or not case.seeded:
            return problems
        first = _comparable(case, outcome, doc, tmp)
        again = invoke(case, tmp)
        problems, doc = check_outcome(case, again, tmp)
        if problems:
            return [Violation("flaky", f"second run with the same seed: {problems[0].message}")]
        if first is not None and first != _comparable(case, again, doc, tmp):
            return [Violation("seed", "the same --seed gave different results")]
        return []


def assert_contract(case: Case) -> None:
    problems = run_case(case)
    if problems:
        listed = "\n".join(f"[{p.kind}] {p.message}" for p in problems)
        pytest.fail(f"{case.describe()}\n{listed}", pytrace=False)


# -- the tests ---------------------------------------------------------------------------
COMMANDS = sorted(STRATEGIES)
# the demo runs every module (seconds per example): fewer examples
FEWER = {"demo": 1, "evaluate cv": 3, "cav simulate": 3, "evaluate scores": 4}


# the demo (every module, ~12 s) runs in tests/cli/test_demo.py and in the slow budget
@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "demo"])
def test_contract_holds_on_generated_inputs(command: str) -> None:
    strategy = STRATEGIES[command](heavy=False)
    budget = settings(DEFAULT, max_examples=FEWER.get(command, DEFAULT.max_examples))

    @budget
    @given(strategy)
    def check(case: Case) -> None:
        assert_contract(case)

    check()


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_contract_holds_on_many_generated_inputs(command: str) -> None:
    strategy = STRATEGIES[command](heavy=True)
    budget = settings(SLOW, max_examples=4 if command == "demo" else SLOW.max_examples)

    @budget
    @given(strategy)
    def check(case: Case) -> None:
        assert_contract(case)

    check()


# Commands with randomness, run without --seed: the seed they drew is in the provenance,
# and giving it back as --seed reproduces the results.
DRAWN_SEED_CASES = {
    "bootstrap": ["bootstrap", "{tmp}/log.csv", "-c", "revenue", "--resamples", "200"],
    "evaluate compare": ["evaluate", "compare", "{tmp}/pred.csv", "--resamples", "100"],
    "evaluate cv": [
        "evaluate",
        "cv",
        "{tmp}/data.csv",
        "--target",
        "y",
        "--model",
        "lr=sklearn.linear_model.LogisticRegression",
        "--model",
        "dt=sklearn.tree.DecisionTreeClassifier",
        "--cv",
        "kfold:2",
    ],
    "privacy epsilon": ["privacy", "epsilon", "{tmp}/mia.csv"],
    "cav crash-rate": ["cav", "crash-rate", "{tmp}/tests.csv", "--method", "scv"],
    "fairness vrs": [
        "fairness",
        "vrs",
        "{tmp}/imp.csv",
        "--eligible",
        "{tmp}/eli.csv",
        "--attribute",
        "sex",
        "--resamples",
        "50",
    ],
    "fairness simulate": [
        "fairness",
        "simulate",
        "--out-dir",
        "{tmp}/sim",
        "--users",
        "200",
        "--ads",
        "3",
        "--rounds",
        "3",
    ],
}


def _base_files() -> tuple[tuple[str, bytes], ...]:
    from tests.cli import contract_strategies as cs

    return (
        ("log.csv", cs.csv_text(cs.sessions_table())),
        ("pred.csv", cs.csv_text(cs.predictions_table())),
        ("data.csv", cs.csv_text(cs.cv_table())),
        ("mia.csv", cs.csv_text(cs.mia_table())),
        ("tests.csv", cs.csv_text(cs.cav_table())),
        ("imp.csv", cs.csv_text(cs.impressions_table())),
        ("eli.csv", cs.csv_text(cs.eligible_table())),
    )


@pytest.mark.parametrize("command", sorted(DRAWN_SEED_CASES))
def test_drawn_seed_is_recorded_and_reproduces(command: str) -> None:
    argv = [*DRAWN_SEED_CASES[command], "--format", "json"]
    case = Case(command=command, argv=tuple(argv), files=_base_files(), json_at="-")
    with tempfile.TemporaryDirectory(prefix="varkit-contract-") as name:
        tmp = Path(name)
        materialise(case, tmp)
        outcome = invoke(case, tmp)
        problems, doc = check_outcome(case, outcome, tmp)
        assert not problems, problems
        assert outcome.exit_code == 0, outcome.stderr
        seed = doc["provenance"].get("seed")
        assert isinstance(seed, int), f"{command}: no seed in the provenance ({seed!r})"
        again = dataclasses.replace(case, argv=(*case.argv, "--seed", str(seed)))
        outcome2 = invoke(again, tmp)
        problems, doc2 = check_outcome(again, outcome2, tmp)
        assert not problems, problems
        assert doc2["provenance"].get("seed") == seed
        assert doc2["results"] == doc["results"], f"{command}: --seed {seed} did not reproduce"


def _many_results() -> bytes:
    from tests.cli.contract_strategies import base_results

    doc = base_results()
    doc["results"] = doc["results"] * 3400
    return json.dumps(doc).encode()


def _wide_predictions() -> bytes:
    from tests.cli import contract_strategies as cs

    header, rows = cs.predictions_table()
    extra = [f"m{i}" for i in range(3000)]
    lines = [",".join([*header, *extra])]
    lines += [",".join([*row, *([row[1]] * len(extra))]) for row in rows]
    return ("\n".join(lines) + "\n").encode()


# Explicit extreme cases named in issue 14 (hangs, memory, overflow), each under the same
# guards; st.just keeps one code path with the generated cases.
ISSUE_CASES = {
    "bootstrap --resamples 1e12": Case(
        "bootstrap",
        ("bootstrap", "{tmp}/log.csv", "-c", "revenue", "--resamples", "1000000000000"),
        files=_base_files()[:1],
    ),
    "cav crash-rate --crossfit 1000000": Case(
        "cav crash-rate",
        ("cav", "crash-rate", "{tmp}/tests.csv", "--method", "cv", "--crossfit", "1000000"),
        files=_base_files()[4:5],
    ),
    "cav simulate --tests 1e12": Case(
        "cav simulate", ("cav", "simulate", "--tests", "1000000000000", "--steps", "5")
    ),
    "fairness simulate --ads 1e9": Case(
        "fairness simulate",
        ("fairness", "simulate", "--out-dir", "{tmp}/sim", "--ads", "1000000000"),
    ),
    "gate on 20,400 results": Case(
        "gate",
        ("gate", "{tmp}/many.json", "--rules", "{tmp}/rules.toml"),
        files=(("many.json", _many_results()), ("rules.toml", BASE_RULES.encode())),
        allowed_exit=(0, 1, 2),
    ),
    "report on 20,400 results": Case(
        "report",
        ("report", "{tmp}/many.json", "--rules", "{tmp}/rules.toml", "-o", "{tmp}/r.html"),
        files=(("many.json", _many_results()), ("rules.toml", BASE_RULES.encode())),
        writes=("{tmp}/r.html",),
    ),
    "evaluate compare with 3,000 extra columns": Case(
        "evaluate compare",
        ("evaluate", "compare", "{tmp}/wide.csv", "--resamples", "100", "--seed", "1"),
        files=(("wide.csv", _wide_predictions()),),
        seeded=True,
    ),
    "bootstrap --engine dask --scheduler bogus": Case(
        "bootstrap",
        (
            "bootstrap",
            "{tmp}/log.csv",
            "-c",
            "revenue",
            "--engine",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
        ),
        files=_base_files()[:1],
    ),
    "fairness simulate --rounds 1e9": Case(
        "fairness simulate",
        ("fairness", "simulate", "--out-dir", "{tmp}/sim", "--ads", "2", "--rounds", "1000000000"),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ISSUE_CASES))
def test_contract_holds_on_issue_extremes(name: str) -> None:
    assert_contract(ISSUE_CASES[name])


def test_guard_stops_a_command_that_runs_too_long(monkeypatch: pytest.MonkeyPatch) -> None:
    """The time guard itself works: a sleeping command is stopped and reported as a hang."""
    import click

    @cli.command("contract-sleep", hidden=True)
    def sleep() -> None:
        time.sleep(30)

    monkeypatch.setitem(TIMEOUT_S, "sleep", 0.5)
    try:
        case = Case("sleep", ("contract-sleep",))
        problems = run_case(case)
    finally:
        cli.commands.pop("contract-sleep", None)
    assert [p.kind for p in problems] == ["hang"]
    assert isinstance(sleep, click.Command)


def test_checker_flags_an_interval_outside_the_range() -> None:
    """The range check itself works on a document with a crash rate above 1."""
    doc = {
        "schema": "varkit.results/1",
        "provenance": {},
        "results": [
            {
                "metric": "crash_rate",
                "estimate": 0.5,
                "ci_low": 0.1,
                "ci_high": 1.039,
                "method": "is",
            }
        ],
    }
    kinds = [p.kind for p in check_results_document(doc)]
    assert kinds == ["range"]
    assert st is not None


def _cav_log(crash: int | None, *, weighted: bool = True) -> bytes:
    from tests.cli import contract_strategies as cs

    header, rows = cs.cav_table() if weighted else cs.cav_nde_table()
    at = header.index("crash")
    if crash is not None:
        rows = tuple(tuple(str(crash) if i == at else v for i, v in enumerate(r)) for r in rows)
    return cs.csv_text((header, rows))


def _column_set(table: Any, column: str, value: str) -> bytes:
    from tests.cli import contract_strategies as cs

    header, rows = table
    at = header.index(column)
    return cs.csv_text(
        (header, tuple(tuple(value if i == at else v for i, v in enumerate(r)) for r in rows))
    )


def _edge_cases() -> dict[str, Case]:
    from tests.cli import contract_strategies as cs

    cases: dict[str, Case] = {}
    for crash, what in ((0, "zero"), (1, "all")):
        for method in ("nde", "is", "cv", "scv"):
            weighted = method != "nde"
            cases[f"cav crash-rate --method {method}, {what} crashes"] = Case(
                "cav crash-rate",
                (
                    "cav",
                    "crash-rate",
                    "{tmp}/t.csv",
                    "--method",
                    method,
                    "--seed",
                    "1",
                    "--format",
                    "json",
                ),
                files=(("t.csv", _cav_log(crash, weighted=weighted)),),
                json_at="-",
                seeded=True,
            )
        cases[f"bootstrap proportion, {what} events"] = Case(
            "bootstrap",
            (
                "bootstrap",
                "{tmp}/s.csv",
                "-c",
                "converted",
                "--statistic",
                "proportion",
                "--resamples",
                "200",
                "--seed",
                "1",
                "--format",
                "json",
            ),
            files=(("s.csv", _column_set(cs.sessions_table(), "converted", str(crash))),),
            json_at="-",
            seeded=True,
        )
    header, rows = cs.predictions_table()
    truth = header.index("y_true")
    perfect = tuple(
        tuple(r[truth] if h == "forest" else v for h, v in zip(header, r, strict=True))
        for r in rows
    )
    cases["evaluate compare, a perfect model"] = Case(
        "evaluate compare",
        (
            "evaluate",
            "compare",
            "{tmp}/p.csv",
            "--resamples",
            "100",
            "--seed",
            "1",
            "--format",
            "json",
        ),
        files=(("p.csv", cs.csv_text((header, perfect))),),
        json_at="-",
        seeded=True,
    )
    header, rows = cs.mia_table()
    member, guess = header.index("member"), header.index("guess")
    right = tuple(tuple(r[member] if i == guess else v for i, v in enumerate(r)) for r in rows)
    cases["privacy epsilon, every guess right"] = Case(
        "privacy epsilon",
        (
            "privacy",
            "epsilon",
            "{tmp}/m.csv",
            "--guess-col",
            "guess",
            "--method",
            "both",
            "--seed",
            "1",
            "--format",
            "json",
        ),
        files=(("m.csv", cs.csv_text((header, right))),),
        json_at="-",
        seeded=True,
    )
    return cases


EDGE_CASES = _edge_cases()


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_contract_holds_at_zero_and_all_events(name: str) -> None:
    """Zero-event and all-event logs: a legal, non-degenerate interval (or one error line)."""
    assert_contract(EDGE_CASES[name])


def _input_error_cases() -> dict[str, tuple[Case, str]]:
    """Inputs that issue 14 says are errors: (case, text the one error line must hold)."""
    from tests.cli import contract_strategies as cs

    sessions = cs.csv_text(cs.sessions_table()).decode()
    lines = sessions.splitlines()
    duplicate_column = "\n".join(f"{line},{line.split(',')[4]}" for line in lines) + "\n"
    poisoned = lines[:3] + [lines[3].replace(lines[3].split(",")[4], "abc")] + lines[4:]
    scores = cs.csv_text(cs.scores_table()).decode().splitlines()
    impressions = cs.csv_text(cs.impressions_table()).decode().splitlines()
    imp_at = impressions[0].split(",").index("impressions")
    fraction = impressions[1].split(",")
    fraction[imp_at] = "1.5"
    eligible = cs.csv_text(cs.eligible_table()).decode()
    vrs = ("fairness", "vrs", "{tmp}/imp.csv", "--eligible", "{tmp}/eli.csv", "--attribute", "sex")
    cv = (
        "evaluate",
        "cv",
        "{tmp}/data.csv",
        "--target",
        "y",
        "--model",
        "lr=sklearn.linear_model.LogisticRegression",
    )
    data = (("data.csv", cs.csv_text(cs.cv_table())),)
    return {
        "a duplicate column name": (
            Case(
                "bootstrap",
                ("bootstrap", "{tmp}/s.csv", "-c", "revenue"),
                files=(("s.csv", duplicate_column.encode()),),
                allowed_exit=(2,),
            ),
            "revenue",
        ),
        "a text cell in data row 3": (
            Case(
                "bootstrap",
                ("bootstrap", "{tmp}/s.csv", "-c", "revenue"),
                files=(("s.csv", ("\n".join(poisoned) + "\n").encode()),),
                allowed_exit=(2,),
            ),
            "row 3",
        ),
        "a duplicated (model, dataset, repeat, fold) score row": (
            Case(
                "evaluate scores",
                ("evaluate", "scores", "{tmp}/s.csv"),
                files=(("s.csv", ("\n".join([*scores, scores[1]]) + "\n").encode()),),
                allowed_exit=(2,),
            ),
            "duplicate",
        ),
        "nde on an importance-sampled log": (
            Case(
                "cav crash-rate",
                ("cav", "crash-rate", "{tmp}/t.csv", "--method", "nde"),
                files=(("t.csv", cs.csv_text(cs.cav_table())),),
                allowed_exit=(2,),
            ),
            "weight",
        ),
        "a fractional impression count": (
            Case(
                "fairness vrs",
                vrs,
                files=(
                    (
                        "imp.csv",
                        (
                            "\n".join([impressions[0], ",".join(fraction), *impressions[2:]]) + "\n"
                        ).encode(),
                    ),
                    ("eli.csv", eligible.encode()),
                ),
                allowed_exit=(2,),
            ),
            "impressions",
        ),
        "a negative noise_scale": (
            Case(
                "fairness vrs",
                vrs,
                files=(
                    ("imp.csv", cs.csv_text(cs.impressions_table())),
                    ("eli.csv", eligible.replace(",2.0\n", ",-1\n", 1).encode()),
                ),
                allowed_exit=(2,),
            ),
            "noise_scale",
        ),
        "--model x=builtins.dict": (
            Case("evaluate cv", (*cv, "--model", "x=builtins.dict"), files=data, allowed_exit=(2,)),
            "--model",
        ),
        "--model x=sys.exit": (
            Case("evaluate cv", (*cv, "--model", "x=sys.exit"), files=data, allowed_exit=(2,)),
            "--model",
        ),
        "more folds than rows": (
            Case(
                "evaluate cv",
                (*cv, "--model", "dt=sklearn.tree.DecisionTreeClassifier", "--cv", "kfold:1000000"),
                files=data,
                allowed_exit=(2,),
            ),
            "fold",
        ),
    }


INPUT_ERROR_CASES = _input_error_cases()


@pytest.mark.parametrize("name", sorted(INPUT_ERROR_CASES))
def test_bad_input_is_one_error_line_naming_it(name: str) -> None:
    case, named = INPUT_ERROR_CASES[name]
    with tempfile.TemporaryDirectory(prefix="varkit-contract-") as tmp_name:
        tmp = Path(tmp_name)
        materialise(case, tmp)
        outcome = invoke(case, tmp)
        problems, _ = check_outcome(case, outcome, tmp)
    assert not problems, f"{case.describe()}\n{problems}"
    assert named in outcome.stderr, f"the error line does not name {named!r}: {outcome.stderr}"


def test_a_file_name_with_glob_characters_is_read_as_that_file() -> None:
    """``log[1].csv`` next to ``log1.csv``: the file named is read, not a glob match."""
    from tests.cli import contract_strategies as cs

    with tempfile.TemporaryDirectory(prefix="varkit-contract-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "log[1].csv").write_bytes(cs.csv_text(cs.sessions_table()))
        (tmp / "log1.csv").write_text("revenue\n1000\n1000\n", encoding="utf-8")
        case = Case(
            "bootstrap",
            (
                "bootstrap",
                "{tmp}/log[1].csv",
                "-c",
                "revenue",
                "--resamples",
                "200",
                "--seed",
                "1",
                "--format",
                "json",
            ),
            json_at="-",
        )
        outcome = invoke(case, tmp)
        problems, doc = check_outcome(case, outcome, tmp)
    assert not problems and outcome.exit_code == 0, (problems, outcome.stderr)
    assert doc["results"][0]["estimate"] < 1000, "read log1.csv instead of log[1].csv"
    assert [Path(i["path"]).name for i in doc["provenance"]["inputs"]] == ["log[1].csv"]
