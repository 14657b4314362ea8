"""Tests of varkit.results: the Result/ResultSet schema, strict JSON, tables, provenance."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from varkit.results import (
    SCHEMA_ID,
    Result,
    ResultSet,
    file_sha256,
    load_json_schema,
    make_provenance,
)

# The strings that strict JSON output uses for non-finite floats.
NONFINITE_SPELLINGS = ("inf", "-inf", "nan")
COLUMNS = [
    "metric",
    "estimate",
    "ci_low",
    "ci_high",
    "confidence",
    "method",
    "n",
    "stderr",
    "statistic",
    "pvalue",
    "df",
    "alternative",
]

VALIDATOR = Draft202012Validator(load_json_schema())


def strict_loads(text: str) -> Any:
    """json.loads that refuses the NaN/Infinity tokens that strict JSON does not have."""

    def refuse(token: str) -> Any:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def assert_valid_document(text: str) -> None:
    VALIDATOR.validate(strict_loads(text))


def accuracy_result(**changes: Any) -> Result:
    fields: dict[str, Any] = dict(
        metric="accuracy",
        estimate=0.912,
        ci_low=0.897,
        ci_high=0.925,
        confidence=0.95,
        method="bootstrap-bca",
        n=2000,
    )
    fields.update(changes)
    return Result(**fields)


# -- hypothesis strategies -------------------------------------------------------------

any_float = st.floats(allow_nan=True, allow_infinity=True)
# By the schema's convention the strings "inf", "-inf", "nan" in details and provenance
# are the non-finite floats; draw them often so that the round trip covers them.
plain_text = st.text(max_size=12) | st.sampled_from(NONFINITE_SPELLINGS)
json_leaf = st.none() | st.booleans() | st.integers() | any_float | plain_text
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)
details_strategy = st.dictionaries(st.text(max_size=8), json_value, max_size=5)
optional_float = st.none() | any_float


@st.composite
def results(draw: st.DrawFn) -> Result:
    low, high, estimate = draw(optional_float), draw(optional_float), draw(any_float)
    # the schema orders the three: ci_low <= estimate <= ci_high (NaN is unordered)
    finite = sorted(v for v in (low, estimate, high) if v is not None and v == v)
    if len(finite) == 3:
        low, estimate, high = finite
    elif low is not None and high is not None and low > high:
        low, high = high, low
    if low is not None and low == low and estimate == estimate and estimate < low:
        estimate = low
    if high is not None and high == high and estimate == estimate and estimate > high:
        estimate = high
    return Result(
        metric=draw(st.text(min_size=1, max_size=12)),
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        confidence=draw(
            st.none() | st.floats(0, 1, exclude_min=True, exclude_max=True, allow_nan=False)
        ),
        method=draw(st.text(max_size=12)),
        n=draw(st.none() | st.integers(min_value=0)),
        stderr=draw(optional_float),
        statistic=draw(optional_float),
        pvalue=draw(optional_float),
        df=draw(st.none() | st.lists(any_float, max_size=3).map(tuple)),
        alternative=draw(st.sampled_from([None, "two-sided", "less", "greater"])),
        group=draw(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)),
        details=draw(details_strategy),
    )


_KNOWN_PROVENANCE = ("varkit_version", "command", "function", "inputs", "seed", "device")


@st.composite
def provenances(draw: st.DrawFn) -> dict[str, Any]:
    prov: dict[str, Any] = draw(
        st.dictionaries(
            st.text(max_size=8).filter(lambda k: k not in (*_KNOWN_PROVENANCE, "time_utc")),
            json_value,
            max_size=4,
        )
    )
    if draw(st.booleans()):
        prov.update(
            varkit_version=draw(plain_text),
            command=draw(plain_text),
            inputs=draw(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "path": plain_text,
                            "sha256": st.text("0123456789abcdef", min_size=64, max_size=64),
                        }
                    ),
                    max_size=2,
                )
            ),
            seed=draw(st.none() | st.integers()),
            device=draw(st.none() | st.sampled_from(["cpu", "gpu"])),
        )
    return prov


# -- round trips -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(results())
def test_result_json_round_trip(result: Result) -> None:
    text = result.to_json()
    strict_loads(text)
    assert Result.from_json(text) == result
    # A single result is valid as the one item of a results document.
    document = {"schema": SCHEMA_ID, "provenance": {}, "results": [strict_loads(text)]}
    VALIDATOR.validate(document)


@settings(max_examples=100, deadline=None)
@given(st.lists(results(), max_size=4), provenances())
def test_result_set_json_round_trip(items: list[Result], provenance: dict[str, Any]) -> None:
    result_set = ResultSet(tuple(items), provenance)
    text = result_set.to_json()
    assert_valid_document(text)
    assert ResultSet.from_json(text) == result_set
    assert ResultSet.from_json(result_set.to_json(indent=None)) == result_set


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_nonfinite_floats_are_strings_in_every_float_field(value: float) -> None:
    result = Result(
        "m",
        value,
        ci_low=-math.inf,
        ci_high=math.inf,
        stderr=value,
        statistic=value,
        pvalue=value,
        df=(value, 1.0),
        details={"a": value, "nested": [{"b": value}, [value]]},
    )
    data = strict_loads(result.to_json())
    spelled = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    assert data["estimate"] == data["stderr"] == data["statistic"] == data["pvalue"] == spelled
    assert (data["ci_low"], data["ci_high"]) == ("-inf", "inf")
    assert data["df"] == [spelled, 1.0]
    assert data["details"] == {"a": spelled, "nested": [{"b": spelled}, [spelled]]}
    assert Result.from_json(result.to_json()) == result


def test_details_strings_spelled_like_nonfinite_floats_are_those_floats() -> None:
    # Strict JSON spells the non-finite floats "inf", "-inf", "nan"; so do details, on
    # construction, so that a round trip gives back an equal result.
    result = Result("m", 1.0, details={"fallback": "nan", "models": ["inf", "-inf"]})
    assert math.isnan(result.details["fallback"])
    assert result.details["models"] == [math.inf, -math.inf]
    assert Result.from_json(result.to_json()) == result


def test_provenance_input_path_spelled_like_a_float_round_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file named "inf", given relative to the working directory, as a user would type it.
    monkeypatch.chdir(tmp_path)
    Path("inf").write_text("x\n1\n", encoding="utf-8")
    prov = make_provenance(command="varkit bootstrap inf", inputs=["inf"], device="nan")
    result_set = ResultSet((), prov)
    assert ResultSet.from_json(result_set.to_json()) == result_set


def test_result_set_document_layout() -> None:
    result_set = ResultSet([accuracy_result()], {"function": "doc", "seed": 3})
    data = strict_loads(result_set.to_json())
    assert list(data) == ["schema", "provenance", "results"]
    assert data["schema"] == "varkit.results/1"
    assert data["provenance"] == {"function": "doc", "seed": 3}
    assert data["results"][0]["metric"] == "accuracy"
    assert set(data["results"][0]) == {*COLUMNS, "group", "details"}


def test_schema_rejects_a_broken_document() -> None:
    data = strict_loads(ResultSet([accuracy_result()]).to_json())
    data["results"][0]["estimate"] = "Infinity"
    assert not VALIDATOR.is_valid(data)
    data["results"][0]["estimate"] = "inf"
    assert VALIDATOR.is_valid(data)
    data["results"][0]["n"] = -1
    assert not VALIDATOR.is_valid(data)


def test_from_dict_rejects_unknown_fields_and_wrong_schema() -> None:
    data = accuracy_result().to_dict()
    data["extra"] = 1
    with pytest.raises(ValueError, match=r"^unknown result field\(s\): extra\.$"):
        Result.from_dict(data)
    with pytest.raises(ValueError, match="not a varkit results document"):
        ResultSet.from_dict({"schema": "other/1", "results": []})


# -- str() ---------------------------------------------------------------------------------


def test_str_of_an_interval_estimate() -> None:
    assert str(accuracy_result()) == "accuracy = 0.912 [0.897, 0.925] (95% bootstrap-bca, n=2000)"


def test_str_of_a_test_with_a_pvalue() -> None:
    result = Result("mcnemar", 4.5, method="mcnemar-chi2", n=120, statistic=4.5, pvalue=0.0339)
    assert str(result) == "mcnemar = 4.5, p = 0.0339 (mcnemar-chi2, n=120)"


def test_str_with_groups_interval_and_pvalue() -> None:
    result = Result(
        "accuracy_difference",
        -0.0123456,
        ci_low=-0.03,
        ci_high=0.005,
        confidence=0.9,
        method="bootstrap-percentile",
        pvalue=1.234e-5,
        group={"comparison": "rf-lr", "dataset": "iris"},
    )
    assert str(result) == (
        "accuracy_difference[comparison=rf-lr, dataset=iris] = -0.01235 [-0.03, 0.005], "
        "p = 1.234e-05 (90% bootstrap-percentile)"
    )


def test_str_with_infinite_and_missing_bounds() -> None:
    upper = Result("epsilon", 2.0, 1.5, math.inf, 0.95, "clopper-pearson", n=500)
    assert str(upper) == "epsilon = 2 [1.5, inf] (95% clopper-pearson, n=500)"
    one_sided = Result("crash_rate", 1e-6, ci_low=None, ci_high=3e-6, confidence=0.975)
    assert str(one_sided) == "crash_rate = 1e-06 [NA, 3e-06] (97.5%)"
    assert str(Result("x", math.nan)) == "x = nan"


def test_str_of_a_result_set_is_one_line_per_result() -> None:
    result_set = ResultSet([accuracy_result(), Result("x", 1.0, method="exact")])
    assert str(result_set).splitlines() == [
        "accuracy = 0.912 [0.897, 0.925] (95% bootstrap-bca, n=2000)",
        "x = 1 (exact)",
    ]


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"confidence": 0.0}, ValueError, "`confidence` must be in (0, 1), got 0.0."),
        ({"confidence": 1.0}, ValueError, "`confidence` must be in (0, 1), got 1.0."),
        ({"confidence": 95}, ValueError, "`confidence` must be in (0, 1), got 95.0."),
        ({"confidence": "nan"}, ValueError, "`confidence` must be in (0, 1), got nan."),
        ({"confidence": "0.95"}, TypeError, "`confidence` must be a number, got the string"),
        ({"confidence": True}, TypeError, "`confidence` must be a number, got bool."),
        ({"ci_low": 0.93}, ValueError, "`ci_low` (0.93) is above `ci_high` (0.925)."),
        ({"alternative": "two_sided"}, ValueError, "`alternative` must be one of two-sided"),
        ({"estimate": "abc"}, TypeError, "`estimate` must be a number, got the string 'abc'."),
        ({"estimate": None}, TypeError, "`estimate` must be a number, got None."),
        ({"estimate": [0.9]}, TypeError, "`estimate` must be a number, got list."),
        ({"stderr": object()}, TypeError, "`stderr` must be a number, got object."),
        ({"n": -1}, ValueError, "`n` must be non-negative, got -1."),
        ({"n": 2.5}, TypeError, "`n` must be an integer, got float."),
        ({"n": True}, TypeError, "`n` must be an integer, got bool."),
        ({"metric": ""}, TypeError, "`metric` must be a non-empty string."),
        ({"method": None}, TypeError, "`method` must be a string."),
        ({"group": [("a", "b")]}, TypeError, "`group` must be a mapping"),
        ({"details": [1]}, TypeError, "`details` must be a mapping."),
        ({"details": {"a": {1, 2}}}, TypeError, "`details` values must be JSON-able, got set."),
    ],
)
def test_invalid_fields(changes: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        accuracy_result(**changes)
    assert str(info.value).startswith(message)


def test_nan_bound_is_not_an_inverted_interval() -> None:
    result = accuracy_result(ci_low=math.nan)
    assert math.isnan(result.ci_low)  # type: ignore[arg-type]


def test_numpy_inputs_become_python_types() -> None:
    result = Result(
        np.str_("accuracy"),
        np.float32(0.5),
        ci_low=np.float64(0.25),
        ci_high=np.int64(1),
        confidence=np.float64(0.95),
        n=np.int64(12),
        df=np.array([1, 2.5]),
        group={"fold": np.int64(3)},
        details={
            "counts": np.arange(3),
            "mean": np.float64(1.5),
            "flag": np.bool_(True),
            "pair": (np.int32(1), np.float16(0.5)),
            "matrix": np.eye(2),
        },
    )
    assert type(result.estimate) is float and result.estimate == 0.5
    assert type(result.ci_high) is float and type(result.n) is int and result.n == 12
    assert result.df == (1.0, 2.5) and all(type(d) is float for d in result.df)
    assert result.group == {"fold": "3"}
    assert result.details == {
        "counts": [0, 1, 2],
        "mean": 1.5,
        "flag": True,
        "pair": [1, 0.5],
        "matrix": [[1.0, 0.0], [0.0, 1.0]],
    }
    assert type(result.details["flag"]) is bool and type(result.details["counts"][0]) is int
    json.dumps(result.to_dict())
    json.dumps(ResultSet([result], {"seed": np.int64(1), "x": np.float32(2)}).to_dict())


def test_scalar_df_becomes_a_tuple() -> None:
    assert Result("f", 1.0, df=5).df == (5.0,)


def test_result_is_frozen_and_replace_revalidates() -> None:
    result = accuracy_result()
    with pytest.raises(AttributeError):
        result.estimate = 1.0  # type: ignore[misc]
    assert result.replace(estimate=0.9).estimate == 0.9
    with pytest.raises(ValueError, match="is above"):
        result.replace(ci_low=1.0)


def test_equality_treats_nan_as_equal_and_results_are_unhashable() -> None:
    assert Result("m", math.nan, details={"x": [math.nan]}) == Result(
        "m", math.nan, details={"x": [math.nan]}
    )
    assert Result("m", 1.0) != Result("m", 1.0, n=1)
    assert Result("m", 1.0) != "m"
    with pytest.raises(TypeError):
        hash(Result("m", 1.0))


def test_result_set_holds_only_results() -> None:
    with pytest.raises(TypeError, match=r"^ResultSet holds Result objects, got dict\.$"):
        ResultSet([{"metric": "m"}])  # type: ignore[list-item]


# -- to_frame / to_markdown / select ------------------------------------------------------------


def grouped_set() -> ResultSet:
    return ResultSet(
        [
            Result(
                "accuracy", 0.9, 0.85, 0.95, 0.95, "bootstrap-bca", n=100, group={"model": "rf"}
            ),
            Result(
                "accuracy",
                0.8,
                0.7,
                0.88,
                0.95,
                "bootstrap-bca",
                n=100,
                group={"model": "lr", "fold": "1"},
            ),
            Result(
                "mcnemar",
                3.1,
                method="mcnemar-chi2",
                n=100,
                statistic=3.1,
                pvalue=0.078,
                df=(1,),
                alternative="two-sided",
                group={"comparison": "rf-lr"},
                details={"b": 20, "c": 9, "ratio": math.inf},
            ),
        ],
        {"function": "test"},
    )


def test_to_frame_columns_and_values() -> None:
    frame = grouped_set().to_frame()
    assert list(frame.columns) == ["model", "fold", "comparison", *COLUMNS, "details"]
    assert len(frame) == 3
    assert frame["model"].tolist()[:2] == ["rf", "lr"] and pd.isna(frame["model"].iloc[2])
    assert pd.isna(frame["fold"].iloc[0]) and frame["fold"].iloc[1] == "1"
    assert frame["estimate"].tolist() == [0.9, 0.8, 3.1]
    assert frame["ci_low"].iloc[0] == 0.85 and pd.isna(frame["ci_low"].iloc[2])
    assert frame["pvalue"].iloc[2] == 0.078 and frame["df"].iloc[2] == "1"
    assert frame["alternative"].iloc[2] == "two-sided"
    assert json.loads(frame["details"].iloc[2]) == {"b": 20, "c": 9, "ratio": "inf"}
    assert frame["details"].iloc[0] == "{}"


def test_to_frame_prefixes_group_labels_that_shadow_columns() -> None:
    result = Result("m", 1.0, method="x", group={"method": "a", "metric": "b"})
    frame = ResultSet([result]).to_frame()
    assert list(frame.columns) == ["group.method", "group.metric", *COLUMNS, "details"]
    assert frame.loc[0, "group.method"] == "a" and frame.loc[0, "method"] == "x"


def test_to_frame_group_label_named_details_is_kept() -> None:
    result = Result("m", 1.0, group={"details": "summary"}, details={"k": 1})
    frame = ResultSet([result]).to_frame()
    assert frame.columns.is_unique
    assert frame.loc[0, "group.details"] == "summary"
    assert json.loads(frame.loc[0, "details"]) == {"k": 1}


def test_to_frame_of_an_empty_set() -> None:
    frame = ResultSet().to_frame()
    assert list(frame.columns) == [*COLUMNS, "details"] and len(frame) == 0


def cells(line: str) -> list[str]:
    """The cells of a Markdown table row, honouring escaped pipes."""
    inner = line.strip()
    assert inner.startswith("|") and inner.endswith("|"), line
    return [c.strip() for c in inner[1:-1].replace("\\|", "\0").split("|")]


def test_to_markdown_table_shape_and_cells() -> None:
    text = grouped_set().to_markdown()
    lines = text.splitlines()
    assert text.endswith("\n") and len(lines) == 2 + 3
    header = cells(lines[0])
    assert header == [
        "model",
        "fold",
        "comparison",
        "metric",
        "estimate",
        "interval",
        "p-value",
        "method",
        "n",
    ]
    assert lines[1] == "|" + "---|" * len(header)
    rows = [cells(line) for line in lines[2:]]
    assert all(len(row) == len(header) for row in rows)
    assert rows[0] == [
        "rf",
        "",
        "",
        "accuracy",
        "0.9",
        "[0.85, 0.95] (95%)",
        "",
        "bootstrap-bca",
        "100",
    ]
    assert rows[2] == ["", "", "rf-lr", "mcnemar", "3.1", "", "0.078", "mcnemar-chi2", "100"]


def test_to_markdown_escapes_pipes() -> None:
    result = Result("m", 1.0, method="a|b", group={"model": "x|y"})
    lines = ResultSet([result]).to_markdown().splitlines()
    assert len(cells(lines[2])) == len(cells(lines[0]))
    assert "x\\|y" in lines[2] and "a\\|b" in lines[2]


def test_to_markdown_escapes_pipes_in_group_names() -> None:
    result = Result("m", 1.0, group={"a|b": "x"})
    lines = ResultSet([result]).to_markdown().splitlines()
    assert len(cells(lines[0])) == len(cells(lines[2])) == len(lines[1].split("|")) - 2


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3),
        min_size=1,
        max_size=4,
    ),
    st.text(max_size=6),
)
def test_to_markdown_keeps_its_shape_for_any_labels(
    groups: list[dict[str, str]], method: str
) -> None:
    text = ResultSet([Result("m", 1.0, method=method, group=g) for g in groups]).to_markdown()
    # Markdown renderers split rows on line feeds (and carriage returns) only.
    lines = text.replace("\r", "\n").split("\n")
    assert lines[-1] == "" and len(lines) == 2 + len(groups) + 1
    width = len(cells(lines[0]))
    assert lines[1] == "|" + "---|" * width
    assert all(len(cells(line)) == width for line in lines[2:-1])


def test_select_by_metric_and_group() -> None:
    result_set = grouped_set()
    assert [r.group for r in result_set.select("accuracy")] == [
        {"model": "rf"},
        {"model": "lr", "fold": "1"},
    ]
    assert [r.metric for r in result_set.select(comparison="rf-lr")] == ["mcnemar"]
    only = result_set.select("accuracy", model="lr", fold=1)  # non-str labels compared as str
    assert len(only) == 1 and only[0].estimate == 0.8
    assert len(result_set.select("accuracy", model="svm")) == 0
    assert len(result_set.select()) == 3
    assert result_set.select("mcnemar").provenance == {"function": "test"}


def test_extend_iterate_and_index() -> None:
    result_set = ResultSet([accuracy_result()], {"seed": 1})
    longer = result_set.extend([Result("x", 1.0)])
    assert len(result_set) == 1 and len(longer) == 2
    assert [r.metric for r in longer] == ["accuracy", "x"]
    assert longer[1].metric == "x" and longer.provenance == {"seed": 1}


# -- provenance -----------------------------------------------------------------------------


def test_file_sha256_matches_hashlib(write_file: Any) -> None:
    data = np.random.default_rng(0).bytes(3 * (1 << 20) + 17)  # several 1 MiB blocks
    path = write_file("big.bin", data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    empty = write_file("empty.bin", b"")
    assert file_sha256(str(empty)) == hashlib.sha256(b"").hexdigest()


def test_make_provenance_records_inputs_and_run(write_file: Any) -> None:
    first = write_file("a.csv", "score\n1\n2\n")
    second = write_file("b.csv", "score\n3\n")
    prov = make_provenance(
        command="varkit bootstrap a.csv",
        inputs=[first, str(second)],
        seed=7,
        device="cpu",
        resamples=999,
    )
    assert prov["inputs"] == [
        {"path": str(first), "sha256": hashlib.sha256(first.read_bytes()).hexdigest()},
        {"path": str(second), "sha256": hashlib.sha256(b"score\n3\n").hexdigest()},
    ]
    assert prov["command"] == "varkit bootstrap a.csv" and "function" not in prov
    assert (prov["seed"], prov["device"], prov["resamples"]) == (7, "cpu", 999)
    stamp = dt.datetime.fromisoformat(prov["time_utc"])
    assert stamp.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()) < 60
    assert isinstance(prov["varkit_version"], str) and isinstance(prov["python"], str)
    assert_valid_document(ResultSet([accuracy_result()], prov).to_json())


def test_make_provenance_missing_input_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        make_provenance(inputs=[tmp_path / "absent.csv"])


def test_load_json_schema_is_a_draft_2020_12_schema() -> None:
    schema = load_json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema"] == {"const": SCHEMA_ID}


# -- issue 14: malformed documents are one VarkitError naming the field and the result ----
def _document(*results: dict) -> dict:
    return {"schema": "varkit.results/1", "results": list(results)}


@pytest.mark.parametrize("field", ["estimate", "ci_low", "confidence", "stderr", "pvalue", "df"])
def test_integer_past_float_range_names_field_and_result(field: str) -> None:
    from varkit.errors import VarkitError

    value = [1, 10**400] if field == "df" else 10**400
    doc = _document(
        {"metric": "m", "estimate": 1.0}, {"metric": "m", "estimate": 1.0, field: value}
    )
    with pytest.raises(VarkitError, match=rf"^result 2: `{field}` is an integer too large"):
        ResultSet.from_dict(doc)


def test_integer_that_a_float_holds_is_read_as_float() -> None:
    rs = ResultSet.from_dict(_document({"metric": "m", "estimate": 10**300, "n": 10**30}))
    assert rs[0].estimate == 1e300 and rs[0].n == 10**30


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        (_document(3), "result 1: a result must be an object"),
        (_document({"estimate": 1.0}), "result 1: `metric` is missing"),
        (_document({"metric": "m"}), "result 1: `estimate` is missing"),
        (_document({"metric": "m", "estimate": 1.0, "df": [None]}), "`df` must hold numbers"),
        ({"schema": "varkit.results/1", "results": {"a": 1}}, "`results` must be a list"),
        ({"schema": "varkit.results/1", "provenance": [1]}, "`provenance` must be an object"),
    ],
)
def test_malformed_documents_are_varkit_errors(doc: dict, fragment: str) -> None:
    from varkit.errors import VarkitError

    with pytest.raises(VarkitError, match=re.escape(fragment)):
        ResultSet.from_dict(doc)


def test_deeply_nested_json_is_a_varkit_error() -> None:
    from varkit.errors import VarkitError

    with pytest.raises(VarkitError, match="nested too deeply"):
        ResultSet.from_json("[" * 100_000 + "]" * 100_000)
    deep = (
        '{"schema": "varkit.results/1", "results": [{"metric": "m", "estimate": 1, "details": %s}]}'
    )
    with pytest.raises(VarkitError, match="nested too deeply"):
        ResultSet.from_json(deep % ("[" * 5000 + "]" * 5000))
    with pytest.raises(VarkitError, match="not valid"):
        ResultSet.from_json('{"x": %s}' % ("9" * 5000))


_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["inf", "-inf", "nan", "", "x", "two-sided", "1e999"]),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(-3, 3), max_size=2),
)
_FIELDS = [
    "metric",
    "estimate",
    "ci_low",
    "ci_high",
    "confidence",
    "method",
    "n",
    "stderr",
    "statistic",
    "pvalue",
    "df",
    "alternative",
    "group",
    "details",
    "bogus",
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(_FIELDS), _ODD_VALUES, max_size=5), max_size=3))
def test_malformed_documents_raise_only_varkit_errors(results: list[dict[str, Any]]) -> None:
    from varkit.errors import VarkitError

    doc = {
        "schema": "varkit.results/1",
        "results": [{"metric": "m", "estimate": 0.5, **r} for r in results],
    }
    try:
        rs = ResultSet.from_dict(doc)
    except VarkitError as exc:
        assert str(exc).startswith("result ") and "\n" not in str(exc)
        return
    for r in rs:  # what is accepted keeps the schema's ordering
        lo, hi = r.ci_low, r.ci_high
        assert not (lo is not None and hi is not None and lo > hi)
        assert not (lo is not None and r.estimate < lo) and not (hi is not None and r.estimate > hi)
    assert ResultSet.from_json(rs.to_json()) == rs


def test_a_test_result_unpacks_like_scipy_and_mlxtend():
    """`chi2, p = mcnemar(table)` as mlxtend users write it; an estimate does not unpack."""
    import numpy as np

    from varkit.evaluate import mcnemar

    result = mcnemar(np.array([[10, 5], [15, 20]]), method="chi2")
    chi2, p = result
    assert (chi2, p) == (result.statistic, result.pvalue)
    estimate = Result("accuracy", 0.9, 0.85, 0.94, 0.95, "wilson")
    with pytest.raises(TypeError, match="does not unpack"):
        _low, _high = estimate
    assert estimate.confidence_interval == (0.85, 0.94)
    assert estimate.confidence_interval.low == 0.85
