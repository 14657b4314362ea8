"""Hypothesis strategies for the CLI contract tests: malformed CSVs, extreme option values,
malformed results JSON and rules TOML, and awkward output paths.

A strategy draws a :class:`Case`: the files to write (relative names, text or bytes), the
argument list with ``{tmp}`` standing for the temporary folder, the environment, and where
the JSON results will be (standard output or a file). Nothing touches the disk while
drawing, so the cases work with ``@given`` and shrink cleanly; ``tests/cli/test_contract.py``
writes them into a fresh folder per example.

Values that are known to need huge memory or time (``--resamples 1e12``, ``--crossfit
1000000``, 20,000 results ...) are drawn only when a strategy is built with
``heavy=True`` (the slow budget); the default budget stays fast. The runner guards every
invocation with a time limit and an address-space limit in any case.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from varkit.datasets.sessions import sessions_example_path

BIG_INT = "9" * 400  # an integer of 400 digits
POISON_CELLS = (
    "",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "1e309",
    "1e-300",
    "-1e-300",
    BIG_INT,
    "-" + BIG_INT,
    "abc",
    "0x1F",
    " 3 ",
    "-1",
    "0",
    "1",
    "2",
    "0.5",
    "True",
)
CONFIDENCES = (
    "0.95",
    "0.5",
    "0.999999999",
    "0.9999999999999999",
    "1e-16",
    "0",
    "1",
    "nan",
    "inf",
    "-0.95",
)
SEEDS = ("0", "1", "4294967296", str(2**63), str(2**64), "-1", BIG_INT)
FORMATS = ("json", "json", "json", "table", "csv", "markdown")
# how an output option is given: stdout (the common case) or an awkward path
OUTPUT_KINDS = (
    "stdout",
    "stdout",
    "stdout",
    "file",
    "missing_folder",
    "under_regular_file",
    "a_folder",
    "dev_full",
    "empty",
)


@dataclasses.dataclass(frozen=True)
class Case:
    """One invocation of the CLI, as data.

    ``json_at`` is ``"-"`` when the JSON results are printed, a path (with ``{tmp}``) when
    they are written to a file, or None when the command prints no varkit.results document.
    ``seeded`` says whether the command takes ``--seed`` and one was given, so the same
    case run twice must give the same results.
    """

    command: str
    argv: tuple[str, ...]
    files: tuple[tuple[str, bytes], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    json_at: str | None = None
    seeded: bool = False
    allowed_exit: tuple[int, ...] = (0, 2)
    # files the command must have written when it exits 0 (paths with {tmp})
    writes: tuple[str, ...] = ()

    def describe(self) -> str:
        shown = []
        for name, content in self.files:
            text = content.decode("utf-8", "replace").replace(BIG_INT, "<400 nines>")
            text = re.sub(
                r"(\[|\]|\{\"x\":|\})\1{20,}",
                lambda m: f"<{m.group(1)} x{len(m.group(0)) // len(m.group(1))}>",
                text,
            )
            if len(text) > 600:
                text = text[:600] + f"... ({len(content)} bytes)"
            shown.append(f"--- {name}\n{text}")
        env = " ".join(f"{k}={v}" for k, v in self.env)
        return f"{env} varkit {' '.join(self.argv)}\n" + "\n".join(shown)


# -- small valid inputs, one per command -------------------------------------------------
Table = tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]


def _table(frame: pd.DataFrame) -> Table:
    text = frame.to_csv(index=False)
    lines = [line.split(",") for line in text.strip().splitlines()]
    return tuple(lines[0]), tuple(tuple(row) for row in lines[1:])


def _example(name: str) -> pd.DataFrame:
    from importlib import resources

    path = resources.files("varkit.datasets").joinpath("data", name)
    with resources.as_file(path) as p:
        return pd.read_csv(p)


@cache
def sessions_table() -> Table:
    frame = pd.read_csv(sessions_example_path())
    users = frame["user_id"].drop_duplicates().iloc[:24]
    return _table(frame[frame["user_id"].isin(users)].iloc[:60])


@cache
def predictions_table() -> Table:
    return _table(_example("predictions_example.csv").iloc[:80])


@cache
def scores_table() -> Table:
    rng = np.random.default_rng(7)
    rows = []
    for model, skill in (("a", 0.80), ("b", 0.78), ("c", 0.70)):
        for dataset in ("d1", "d2", "d3"):
            for repeat in range(2):
                for fold in range(2):
                    score = round(skill + rng.normal(0, 0.02), 4)
                    rows.append((model, dataset, repeat, fold, 80, 20, score))
    frame = pd.DataFrame(
        rows, columns=["model", "dataset", "repeat", "fold", "n_train", "n_test", "score"]
    )
    return _table(frame)


@cache
def cv_table() -> Table:
    rng = np.random.default_rng(3)
    n = 40
    x1 = rng.normal(size=n).round(3)
    x2 = rng.normal(size=n).round(3)
    colour = rng.choice(["red", "blue"], size=n)
    y = (x1 + 0.5 * x2 + rng.normal(0, 0.5, size=n) > 0).astype(int)
    return _table(pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "y": y}))


@cache
def mia_table() -> Table:
    frame = _example("mia_example.csv")
    frame = frame.groupby("model_id", group_keys=False).head(50).iloc[:200].copy()
    frame["guess"] = (frame["score"] > frame["score"].median()).astype(int)
    return _table(frame)


@cache
def cav_table() -> Table:
    frame = _example("cav_example.csv").iloc[:300]
    keep = ["crash", "weight", "n_critical", *[c for c in frame.columns if c.startswith("cv_")][:4]]
    return _table(frame[keep])


@cache
def cav_nde_table() -> Table:
    rng = np.random.default_rng(5)
    crash = (rng.random(200) < 0.05).astype(int)
    return _table(pd.DataFrame({"crash": crash}))


@cache
def impressions_table() -> Table:
    frame = _example("impressions_example.csv")
    frame = frame[frame["ad_id"].isin(["ad_000", "ad_001", "ad_002"])].iloc[:150]
    return _table(frame.drop(columns=["date"]))


@cache
def eligible_table() -> Table:
    frame = _example("eligible_example.csv")
    return _table(frame[frame["ad_id"].isin(["ad_000", "ad_001", "ad_002"])])


def csv_text(table: Table) -> bytes:
    header, rows = table
    return ("\n".join(",".join(r) for r in (header, *rows)) + "\n").encode("utf-8")


# -- malformed CSVs ------------------------------------------------------------------
@st.composite
def malformed_csv(draw: st.DrawFn, table: Table, *, max_mutations: int = 2) -> bytes:
    """``table`` as CSV bytes after 0 to ``max_mutations`` mutations.

    Mutations: drop, duplicate, rename or add a column; poison one cell or a whole column
    (NaN, inf, 1e308, 1e-300, 400 digits, text ...); make a column constant (zero-event
    and all-event logs); copy one column onto another; keep 0, 1 or 2 rows (header-only,
    single-row logs); a ragged row; an empty file; a byte-order mark, CRLF or a non-UTF-8
    byte.
    """
    header = list(table[0])
    rows = [list(r) for r in table[1]]
    mutations = draw(
        st.lists(
            st.sampled_from(
                (
                    "drop",
                    "duplicate",
                    "rename",
                    "extra",
                    "poison_cell",
                    "poison_cell",
                    "poison_column",
                    "constant",
                    "constant",
                    "copy",
                    "rows",
                    "ragged",
                    "duplicate_row",
                    "empty",
                    "encoding",
                )
            ),
            max_size=max_mutations,
        )
    )
    prefix, newline, tail = b"", "\n", b""
    for kind in mutations:
        if not header:
            break
        col = draw(st.integers(0, len(header) - 1))
        if kind == "drop":
            del header[col]
            for r in rows:
                if col < len(r):
                    del r[col]
        elif kind == "duplicate":
            header.append(header[col])
            for r in rows:
                r.append(r[col] if col < len(r) else "")
        elif kind == "rename":
            header[col] = draw(st.sampled_from(("", " ", "Unnamed: 0", header[col].upper(), "é")))
        elif kind == "extra":
            header.append(draw(st.sampled_from(("extra", "", "cv_extra", "p_other", "weight"))))
            value = draw(st.sampled_from(POISON_CELLS))
            for r in rows:
                r.append(value)
        elif kind == "poison_cell" and rows:
            row = draw(st.integers(0, len(rows) - 1))
            if col < len(rows[row]):
                rows[row][col] = draw(st.sampled_from(POISON_CELLS))
        elif kind == "poison_column":
            value = draw(st.sampled_from(POISON_CELLS))
            for r in rows:
                if col < len(r):
                    r[col] = value
        elif kind == "constant":
            value = draw(st.sampled_from(("0", "1", rows[0][col] if rows else "0")))
            for r in rows:
                if col < len(r):
                    r[col] = value
        elif kind == "copy":
            src = draw(st.integers(0, len(header) - 1))
            for r in rows:
                if col < len(r) and src < len(r):
                    r[col] = r[src]
        elif kind == "rows":
            rows = rows[: draw(st.sampled_from((0, 1, 2)))]
        elif kind == "ragged" and rows:
            row = draw(st.integers(0, len(rows) - 1))
            if draw(st.booleans()):
                rows[row].append("1")
            else:
                rows[row] = rows[row][:-1]
        elif kind == "duplicate_row" and rows:
            rows.append(list(rows[draw(st.integers(0, len(rows) - 1))]))
        elif kind == "empty":
            return draw(st.sampled_from((b"", b"\n", b" ")))
        elif kind == "encoding":
            choice = draw(st.sampled_from(("bom", "crlf", "latin1")))
            if choice == "bom":
                prefix = b"\xef\xbb\xbf"
            elif choice == "crlf":
                newline = "\r\n"
            else:
                tail = b"\xff\xfe,\xe9\n"
    text = newline.join(",".join(r) for r in (header, *rows)) + newline
    return prefix + text.encode("utf-8") + tail


# -- options ------------------------------------------------------------------------
@st.composite
def options(draw: st.DrawFn, choices: dict[str, Sequence[str]], *, max_size: int = 3) -> list[str]:
    """Up to ``max_size`` of the options in ``choices`` (name -> values), with one value each;
    a value of None is a flag given without a value."""
    names = draw(st.lists(st.sampled_from(sorted(choices)), unique=True, max_size=max_size))
    argv: list[str] = []
    for name in names:
        value = draw(st.sampled_from(list(choices[name])))
        argv += [name] if value is None else [name, value]
    return argv


def _set(argv: list[str], name: str, value: str) -> list[str]:
    """``argv`` with option ``name`` set to ``value`` unless it is already given."""
    return argv if name in argv else [*argv, name, value]


@st.composite
def output_target(
    draw: st.DrawFn, option: str = "--output", *, name: str = "out.json"
) -> tuple[list[str], str | None, tuple[tuple[str, bytes], ...]]:
    """An output option: argv, where the file is when it is written, and files it needs."""
    kind = draw(st.sampled_from(OUTPUT_KINDS))
    if kind == "stdout":
        return [], None, ()
    if kind == "file":
        return [option, "{tmp}/" + name], "{tmp}/" + name, ()
    if kind == "missing_folder":
        return [option, "{tmp}/no/such/folder/" + name], "{tmp}/no/such/folder/" + name, ()
    if kind == "under_regular_file":
        return [option, "{tmp}/plain.txt/" + name], None, (("plain.txt", b"x\n"),)
    if kind == "a_folder":
        return [option, "{tmp}/folder"], None, (("folder/keep", b""),)
    if kind == "dev_full":
        return [option, "/dev/full"], None, ()
    return [option, ""], None, ()


def _json_at(fmt: str, written: str | None, argv: list[str]) -> str | None:
    if fmt != "json":
        return None
    if "--output" in argv or "-o" in argv:
        return written  # None when the path cannot be written: then exit 2 is expected
    return "-"


def _seeded(argv: list[str]) -> bool:
    return "--seed" in argv


@st.composite
def common(
    draw: st.DrawFn, *, seed: bool = True, confidence: bool = True
) -> tuple[list[str], str, str | None, tuple[tuple[str, bytes], ...]]:
    """--format, --output, --confidence and --seed, each plain or extreme."""
    fmt = draw(st.sampled_from(FORMATS))
    argv = ["--format", fmt]
    out_argv, written, files = draw(output_target())
    argv += out_argv
    if confidence and draw(st.booleans()):
        argv += ["--confidence", draw(st.sampled_from(CONFIDENCES))]
    if seed:
        argv += ["--seed", draw(st.sampled_from(SEEDS)) if draw(st.booleans()) else "11"]
    return argv, fmt, written, files


def _case(
    command: str,
    argv: list[str],
    files: Sequence[tuple[str, bytes]],
    fmt: str,
    written: str | None,
    **kw: Any,
) -> Case:
    return Case(
        command=command,
        argv=tuple(argv),
        files=tuple(files),
        json_at=_json_at(fmt, written, argv),
        seeded=_seeded(argv),
        **kw,
    )


# -- one strategy per subcommand -----------------------------------------------------
def bootstrap_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    setups = (
        ["-c", "revenue"],
        ["-c", "converted", "--statistic", "proportion"],
        ["-c", "revenue", "--statistic", "ratio", "--denominator", "latency_ms"],
        ["-c", "revenue", "--statistic", "mean_difference", "--by", "variant"],
        ["-c", "revenue", "--statistic", "weighted_mean", "--weights", "latency_ms"],
        ["-c", "revenue", "--statistic", "sum"],
        ["-c", "latency_ms", "--cluster", "user_id"],
        ["-c", "revenue", "--strata", "variant"],
    )
    resamples = ["200", "2", "3", "0", "-5", "nan", "1e3", "99999999999999999999"]
    if heavy:
        resamples += ["1000000000000", "100000000"]
    choices = {
        "--resamples": resamples,
        "--method": ("percentile", "basic", "bca"),
        "--scheme": ("multinomial", "poisson"),
    }

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        data = draw(malformed_csv(sessions_table()))
        argv = ["bootstrap", "{tmp}/log.csv", *draw(st.sampled_from(setups))]
        argv += draw(options(choices))
        argv = _set(argv, "--resamples", "200")
        extra, fmt, written, files = draw(common())
        return _case("bootstrap", argv + extra, (("log.csv", data), *files), fmt, written)

    return draw_case()


def compare_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    resamples = ["100", "99", "101", "nan"]
    if heavy:
        resamples += ["1000000000000"]
    choices = {
        "--resamples": resamples,
        "--interval": ("wilson", "clopper-pearson", "jeffreys", "normal", "agresti-coull"),
        "--mcnemar": ("exact", "mid-p", "chi2", "chi2-corrected"),
        "--correction": ("holm", "bonferroni", "hochberg", "bh", "by", "sidak", "holm-sidak"),
        "--models": ("forest,logistic", "forest", "forest,forest", "y_true,forest", "nope,x", ","),
        "--scheme": ("multinomial", "poisson"),
        "--truth": ("y_true", "forest", "nope"),
    }

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        data = draw(malformed_csv(predictions_table()))
        argv = ["evaluate", "compare", "{tmp}/pred.csv", *draw(options(choices))]
        argv = _set(argv, "--resamples", "100")
        extra, fmt, written, files = draw(common())
        return _case("evaluate compare", argv + extra, (("pred.csv", data), *files), fmt, written)

    return draw_case()


def scores_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    choices = {
        "--correction": ("holm", "bonferroni", "bh", "sidak"),
        "--lower-is-better": (None,),
    }

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        data = draw(malformed_csv(scores_table()))
        argv = ["evaluate", "scores", "{tmp}/scores.csv", *draw(options(choices))]
        extra, fmt, written, files = draw(common(seed=False))
        return _case("evaluate scores", argv + extra, (("scores.csv", data), *files), fmt, written)

    return draw_case()


def cv_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    cvs = ["kfold:2", "5x2", "kfold:1", "kfold:0", "repeated:2x2", "repeated:0x0", "kfold:x"]
    cvs += ["kfold:1000000", "kfold:" + "9" * 20] if heavy else ["kfold:41"]
    choices = {
        "--cv": cvs,
        "--param": (
            "dt.max_depth=2",
            "dt.max_depth=" + "9" * 17,
            "dt.max_depth=-1",
            "lr.C=inf",
            "lr.C=nan",
            "lr.C=-1",
            "dt.bogus=1",
            "zz.max_depth=1",
        ),
        "--model": (
            "x=builtins.dict",
            "x=sys.exit",
            "x=builtins.print",
            "x=collections.OrderedDict",
            "x=sklearn.dummy.DummyClassifier",
            "x=sklearn.linear_model.LinearRegression",
            "lr=sklearn.dummy.DummyClassifier",
            "bad",
        ),
        "--scoring": ("accuracy", "balanced_accuracy", "roc_auc", "r2", "neg_log_loss", "bogus"),
        "--target": ("y", "x1", "colour", "nope"),
        "--n-jobs": ("1", "0"),
    }

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        data = draw(malformed_csv(cv_table()))
        argv = [
            "evaluate",
            "cv",
            "{tmp}/data.csv",
            "--model",
            "lr=sklearn.linear_model.LogisticRegression",
            "--model",
            "dt=sklearn.tree.DecisionTreeClassifier",
            *draw(options(choices)),
        ]
        argv = _set(_set(argv, "--target", "y"), "--cv", "kfold:2")
        extra, fmt, written, files = draw(common())
        return _case("evaluate cv", argv + extra, (("data.csv", data), *files), fmt, written)

    return draw_case()


def privacy_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    choices = {
        "--delta": ("0", "1e-5", "0.5", "1", "-1", "nan", "inf", "1e-300"),
        "--method": ("bayes", "clopper-pearson", "both"),
        "--threshold": ("split", "bonferroni", "0", "1e308", "nan", "inf", "-inf", "abc"),
        "--bound": ("two-sided", "lower"),
        "--n-thresholds": ("20", "0", "1", "-1", "100000" if heavy else "50"),
        "--split-fraction": ("0.5", "0", "1", "-0.1", "nan", "1e-300", "0.999"),
        "--tpr-at-fpr": ("0.1", "0", "1", "nan", "-1", "1e-300"),
        "--guess-col": ("guess", "score", "nope"),
        "--score-col": ("score", "member", "nope"),
        "--model-col": ("model_id", "nope", "member"),
        "--plot": ("{tmp}/eps.png", "{tmp}/no/such/eps.png", "{tmp}/plain.txt/eps.png"),
        # DP-SGD's parameters: all three or none (small step counts: PRV grows fast)
        "--noise-multiplier": ("1", "0", "1e-300", "1e308", "nan", "-1"),
        "--sample-rate": ("0.01", "1", "0", "1e-300", "2"),
        "--steps": ("10", "0", "-1", "1000" if heavy else "100"),
        "--accountant": ("pld", "rdp", "prv", "moments"),
    }

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        data = draw(malformed_csv(mia_table()))
        argv = ["privacy", "epsilon", "{tmp}/mia.csv", *draw(options(choices))]
        extra, fmt, written, files = draw(common())
        files = (("mia.csv", data), ("plain.txt", b"x\n"), *files)
        return _case("privacy epsilon", argv + extra, files, fmt, written)

    return draw_case()


@cache
def canary_table() -> Table:
    rng = np.random.default_rng(7)
    included = rng.integers(0, 2, 200)
    score = np.round(rng.normal(2.0 * included), 4)
    return _table(pd.DataFrame({"canary_id": np.arange(200), "included": included, "score": score}))


def one_run_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    choices = {
        "--guesses": ("20", "1", "0", "-3", "200", "201", "abc"),
        "--delta": ("0", "1e-5", "1", "-1", "nan", "1e-300"),
        "--score-col": ("score", "included", "nope"),
        "--included-col": ("included", "score", "nope"),
        "--id-col": ("canary_id", "included", "nope"),
    }

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        data = draw(malformed_csv(canary_table()))
        argv = ["privacy", "one-run", "{tmp}/canaries.csv", *draw(options(choices))]
        if "--guesses" not in argv:
            argv += ["--guesses", "20"]
        extra, fmt, written, files = draw(common(seed=False))
        files = (("canaries.csv", data), *files)
        return _case("privacy one-run", argv + extra, files, fmt, written)

    return draw_case()


def crash_rate_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    crossfit = ["0", "2", "5", "301"]
    if heavy:
        crossfit += ["1000000"]
    choices = {
        "--method": ("nde", "is", "cv", "scv", "scv", "is"),
        "--crossfit": crossfit,
        "--fit": ("ols", "ridge", "lasso"),
        "--control-means": ("0", "0.1", "abc", "1,2", "nan", "inf", "0,0,0,0"),
        "--pool-above": ("0", "1", "1000000"),
        "--crashes-per-control": ("0", "10", "1e308", "inf"),
        "--target-rhw": ("0.3", "1e308", "1e-300", "inf", "0"),
        "--target-confidence": ("0.9", "0.9999999999999999", "1e-16"),
        "--running": ("5", "1", "1000000" if heavy else "50"),
    }

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        table = draw(st.sampled_from((cav_table(), cav_table(), cav_nde_table())))
        data = draw(malformed_csv(table))
        argv = ["cav", "crash-rate", "{tmp}/tests.csv", *draw(options(choices))]
        extra, fmt, written, files = draw(common())
        return _case("cav crash-rate", argv + extra, (("tests.csv", data), *files), fmt, written)

    return draw_case()


def cav_simulate_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    tests = ["1", "2", "50", "0"]
    steps = ["1", "5", "0"]
    if heavy:
        tests += ["1000000000000"]
        steps += ["1000000000"]
    choices = {
        "--vehicle": ("surrogate", "cautious", "aggressive", "distracted"),
        "--tests": tests,
        "--testing": ("is", "nde"),
        "--steps": steps,
        "--proposal": ("one-critical", "all-critical"),
        "--controls": ("twist", "binned", "product", "local", "mixture"),
        "--regime": ("default", "papers", "nade", "fast"),
    }

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        argv = ["cav", "simulate", *draw(options(choices))]
        argv = _set(_set(argv, "--tests", "50"), "--steps", "5")
        out_argv, written, files = draw(output_target(name="log.csv"))
        argv += out_argv
        if draw(st.booleans()):
            argv += ["--seed", draw(st.sampled_from(SEEDS))]
        return Case(
            command="cav simulate",
            argv=tuple(argv),
            files=files,
            seeded=_seeded(argv),
            writes=(written,) if written else (),
        )

    return draw_case()


def vrs_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    resamples = ["0", "50", "1"]
    partition = ["1", "10"]
    if heavy:
        resamples += ["1000000000000"]
        partition += ["1000000000000"]
    choices = {
        "--threshold": ("0.1", "0", "-1", "nan", "inf", "1e308"),
        "--min-impressions": ("0", "5", "1e308", "-1", "nan", "inf"),
        "--unit": ("impressions", "reach"),
        "--resamples": resamples,
        "--interval": ("projection", "percentile", "basic"),
        "--estimate": ("plug-in", "debiased"),
        "--scheme": ("multinomial", "poisson"),
        "--delivered-noise-scale": ("0", "1", "inf", "nan", "1e308", "-1", "1e-300"),
        "--partition-rows": partition,
    }

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        which = draw(st.sampled_from(("impressions", "eligible", "both")))
        imp = csv_text(impressions_table())
        eli = csv_text(eligible_table())
        if which in ("impressions", "both"):
            imp = draw(malformed_csv(impressions_table()))
        if which in ("eligible", "both"):
            eli = draw(malformed_csv(eligible_table()))
        attribute = draw(st.sampled_from(("sex", "race", "sex", "nope")))
        argv = ["fairness", "vrs", "{tmp}/imp.csv", "--eligible", "{tmp}/eli.csv"]
        argv += ["--attribute", attribute, *draw(options(choices))]
        argv = _set(argv, "--resamples", "50")
        extra, fmt, written, files = draw(common())
        files = (("imp.csv", imp), ("eli.csv", eli), *files)
        return _case("fairness vrs", argv + extra, files, fmt, written)

    return draw_case()


def fairness_simulate_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    users = ["10", "9", "200", "11"]
    ads = ["1", "3", "0"]
    rounds = ["1", "3", "0"]
    if heavy:
        users += ["1000000000"]
        ads += ["1000000000"]
        rounds += ["1000000000"]
    choices = {
        "--users": users,
        "--ads": ads,
        "--rounds": rounds,
        "--skew": ("0", "0.5", "1e308", "inf", "nan", "-1"),
        "--controller": (None,),
        "--eligible-noise-scale": ("0", "1", "inf", "nan", "1e308", "-1"),
        "--threshold": ("0.1", "0", "-1", "nan", "inf"),
    }

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        argv = ["fairness", "simulate", *draw(options(choices))]
        argv = _set(_set(_set(argv, "--users", "200"), "--ads", "3"), "--rounds", "3")
        out_dir = draw(
            st.sampled_from(
                ("{tmp}/sim", "{tmp}/sim", "{tmp}/no/such/sim", "{tmp}/plain.txt/sim", "")
            )
        )
        argv += ["--out-dir", out_dir]
        extra, fmt, written, files = draw(common(confidence=False))
        files = (("plain.txt", b"x\n"), *files)
        writes = () if not out_dir.startswith("{tmp}/sim") else (out_dir + "/impressions.csv",)
        return _case("fairness simulate", argv + extra, files, fmt, written, writes=writes)

    return draw_case()


# -- results JSON and rules TOML -------------------------------------------------------
def base_results() -> dict[str, Any]:
    """A small varkit.results/1 document that the base rules gate."""
    from varkit.results import Result, ResultSet

    results = ResultSet(
        (
            Result("accuracy", 0.91, 0.88, 0.93, 0.95, "wilson", n=500, group={"model": "a"}),
            Result("accuracy", 0.90, 0.87, 0.92, 0.95, "wilson", n=500, group={"model": "b"}),
            Result(
                "accuracy_difference",
                0.01,
                -0.005,
                0.02,
                0.95,
                "bootstrap-bca",
                group={"comparison": "a-b"},
            ),
            Result("mcnemar", 4.1, pvalue=0.04, statistic=4.1, df=(1.0,), method="exact"),
            Result("epsilon", 2.0, 1.1, 3.0, 0.95, "bayes", stderr=0.3),
            Result("crash_rate", 0.001, 0.0005, 0.002, 0.95, "is", n=2000),
        ),
        {"function": "contract-test", "seed": 1},
    )
    return dict(json.loads(results.to_json()))


BASE_RULES = """
[[rule]]
name = "a is not credibly worse than b"
metric = "accuracy"
group = { model = "a" }
baseline = { model = "b" }
max_drop = 0.01
mode = "credible"

[[rule]]
name = "difference"
metric = "accuracy_difference"
group = { comparison = "a-b" }
min = -0.01

[[rule]]
name = "epsilon audit"
metric = "epsilon"
max = 8.0
mode = "assured"

[[rule]]
name = "crash rate"
metric = "crash_rate"
max = 0.01
mode = "assured"

[[rule]]
name = "models differ"
metric = "mcnemar"
max_pvalue = 0.05
"""

RESULT_FIELDS = ("estimate", "ci_low", "ci_high", "confidence", "stderr", "pvalue", "n")
ODD_VALUES: tuple[Any, ...] = (
    "BIG",  # replaced by a 400-digit integer literal in the JSON text
    "-BIG",
    "nan",
    "inf",
    "-inf",
    None,
    "abc",
    True,
    [],
    {},
    1e308,
    -1e308,
    1e-300,
    -1,
    2,
)


def _dump(doc: Any) -> str:
    text = json.dumps(doc, indent=1)
    return text.replace('"BIG"', BIG_INT).replace('"-BIG"', "-" + BIG_INT)


@st.composite
def malformed_results(draw: st.DrawFn, *, heavy: bool = False) -> bytes:
    """A results JSON file, valid or broken in one of many ways."""
    doc = base_results()
    kind = draw(
        st.sampled_from(
            (
                "valid",
                "valid",
                "field",
                "field",
                "field",
                "df",
                "drop_field",
                "extra_field",
                "nested_details",
                "deep_text",
                "schema",
                "results_type",
                "empty_results",
                "group_type",
                "text",
                "many" if heavy else "valid",
            )
        )
    )
    results = doc["results"]
    index = draw(st.integers(0, len(results) - 1))
    if kind == "field":
        results[index][draw(st.sampled_from(RESULT_FIELDS))] = draw(st.sampled_from(ODD_VALUES))
    elif kind == "df":
        results[3]["df"] = draw(st.sampled_from((["BIG"], "BIG", [None], ["inf"], [[1]], 5)))
    elif kind == "drop_field":
        results[index].pop(draw(st.sampled_from(("metric", "estimate", "method", "ci_low"))), None)
    elif kind == "extra_field":
        results[index][draw(st.sampled_from(("bogus", "", "Estimate")))] = 1
    elif kind == "nested_details":
        depth = draw(st.sampled_from((50, 5000)))
        nested: Any = 1
        for _ in range(min(depth, 50)):
            nested = {"x": nested}
        results[index]["details"] = nested
        if depth > 50:  # deeper than json.dumps can write: build the text by hand
            return (
                _dump(doc)
                .replace(
                    '"details": {',
                    '"details": ' + '{"x":' * depth + "1" + "}" * depth + ', "_": {',
                    1,
                )
                .encode()
            )
    elif kind == "deep_text":
        depth = draw(st.sampled_from((10_000, 100_000)))
        return ("[" * depth + "]" * depth).encode()
    elif kind == "schema":
        doc["schema"] = draw(st.sampled_from(("varkit.results/2", "", None, 1)))
    elif kind == "results_type":
        doc["results"] = draw(st.sampled_from(({}, "x", None, [1], [[]])))
    elif kind == "empty_results":
        doc["results"] = []
    elif kind == "group_type":
        results[index]["group"] = draw(st.sampled_from(({"model": 1}, ["a"], "a", {"": ""})))
    elif kind == "text":
        return draw(
            st.sampled_from(
                (b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"schema": "varkit.results/1"}', b"1")
            )
        )
    elif kind == "many":
        doc["results"] = results * 3400  # 20,400 results
    return _dump(doc).encode("utf-8")


@st.composite
def malformed_rules(draw: st.DrawFn) -> bytes:
    """A rules TOML file, valid or broken in one of many ways."""
    kind = draw(
        st.sampled_from(
            (
                "valid",
                "valid",
                "bound",
                "bound",
                "key",
                "nested",
                "text",
                "no_rules",
                "group",
                "mode",
            )
        )
    )
    rules = BASE_RULES
    if kind == "bound":
        name = draw(st.sampled_from(("max", "min", "max_drop", "max_pvalue")))
        value = draw(
            st.sampled_from(
                (BIG_INT, "-" + BIG_INT, "inf", "-inf", "nan", "1e308", "-1", '"abc"', "[]", "true")
            )
        )
        target = {"max": "max = 8.0", "min": "min = -0.01", "max_drop": "max_drop = 0.01"}
        target["max_pvalue"] = "max_pvalue = 0.05"
        rules = rules.replace(target[name], f"{name} = {value}", 1)
    elif kind == "key":
        rules += '\n[[rule]]\nname = "x"\nmetric = "epsilon"\nmax = 1\nbogus = 2\n'
    elif kind == "nested":
        depth = draw(st.sampled_from((100, 10_000)))
        rules += '\n[[rule]]\nname = "deep"\nmetric = "epsilon"\nmax = 1\n'
        rules += "group = " + "[" * depth + "]" * depth + "\n"
    elif kind == "text":
        return draw(st.sampled_from((b"", b"[[rule]", b"\xff\xfe", b"rule = 1", b"x = ")))
    elif kind == "no_rules":
        rules = 'title = "none"\n'
    elif kind == "group":
        rules = rules.replace('group = { model = "a" }', "group = { model = 1 }", 1)
    elif kind == "mode":
        rules = rules.replace('mode = "assured"', 'mode = "sure"', 1)
    return rules.encode("utf-8")


def gate_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        files = [("results.json", draw(malformed_results(heavy=heavy)))]
        files.append(("rules.toml", draw(malformed_rules())))
        argv = ["gate", "{tmp}/results.json", "--rules", "{tmp}/rules.toml"]
        if draw(st.booleans()):
            argv.append("--strict")
        for option in ("--junit", "--markdown"):
            if draw(st.integers(0, 2)):  # most runs write no report file
                continue
            out_argv, _, more = draw(output_target(option, name=option[2:] + ".out"))
            argv += out_argv
            files += [f for f in more if f not in files]
        env: tuple[tuple[str, str], ...] = ()
        summary = draw(
            st.sampled_from(
                (
                    None,
                    None,
                    None,
                    None,
                    "{tmp}/summary.md",
                    "{tmp}/no/such/summary.md",
                    "{tmp}",
                    "/dev/full",
                )
            )
        )
        if summary is not None:
            env = (("GITHUB_STEP_SUMMARY", summary),)
        if draw(st.booleans()):
            env += (("GITHUB_ACTIONS", "true"),)
        return Case(
            command="gate", argv=tuple(argv), files=tuple(files), env=env, allowed_exit=(0, 1, 2)
        )

    return draw_case()


def report_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        files = [("results.json", draw(malformed_results(heavy=heavy)))]
        argv = ["report", "{tmp}/results.json"]
        if draw(st.booleans()):
            files.append(("rules.toml", draw(malformed_rules())))
            argv += ["--rules", "{tmp}/rules.toml"]
        out_argv, written, more = draw(output_target(name="report.html"))
        files += more
        argv += out_argv or ["--output", "{tmp}/report.html"]
        if draw(st.booleans()):
            argv += ["--title", draw(st.sampled_from(("<script>x</script>", "", "é" * 5000)))]
        writes = (written,) if written else (() if out_argv else ("{tmp}/report.html",))
        return Case(command="report", argv=tuple(argv), files=tuple(files), writes=writes)

    return draw_case()


def demo_cases(heavy: bool = False) -> st.SearchStrategy[Case]:
    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        out = draw(
            st.sampled_from(
                ("{tmp}/demo", "{tmp}/no/such/demo", "{tmp}/plain.txt/demo", "{tmp}/plain.txt", "")
            )
        )
        argv = ["demo", "--output", out, "--device", "cpu"]
        argv += ["--seed", draw(st.sampled_from(("0", "1", "4294967296", str(2**64), "-1")))]
        ok = out in ("{tmp}/demo", "{tmp}/no/such/demo")
        return Case(
            command="demo",
            argv=tuple(argv),
            files=(("plain.txt", b"x\n"),),
            json_at=(out + "/results.json") if ok else None,
            seeded=True,
            writes=(out + "/report.html",) if ok else (),
        )

    return draw_case()


# every subcommand of `varkit`, by its command path
STRATEGIES = {
    "bootstrap": bootstrap_cases,
    "evaluate compare": compare_cases,
    "evaluate scores": scores_cases,
    "evaluate cv": cv_cases,
    "privacy epsilon": privacy_cases,
    "privacy one-run": one_run_cases,
    "cav crash-rate": crash_rate_cases,
    "cav simulate": cav_simulate_cases,
    "fairness vrs": vrs_cases,
    "fairness simulate": fairness_simulate_cases,
    "gate": gate_cases,
    "report": report_cases,
    "demo": demo_cases,
}

__all__ = ["Case", "STRATEGIES", "csv_text"]
