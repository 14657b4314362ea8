"""``varkit report``: writes the page, adds gate decisions, one-line errors (exit 2)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.results import Result, ResultSet

Write = Callable[[str, str], Path]


class Ids(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(v for k, v in attrs if k == "id" and v)


def results_file(write_file: Write, name: str = "results.json", high: float = 7.9) -> str:
    results = ResultSet(
        (Result("epsilon", 6.0, 4.1, high, 0.95, "bayes-jeffreys"),),
        {"command": f"varkit privacy epsilon {name}", "seed": 3, "device": "cpu"},
    )
    return str(write_file(name, results.to_json()))


RULES = '[[rule]]\nname = "epsilon audit"\nmetric = "epsilon"\nmax = 8.0\nmode = "assured"\n'


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_report_writes_a_page(write_file: Write, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    code, stdout, err = invoke("report", results_file(write_file), "-o", str(out))
    assert code == 0, err
    assert stdout.strip() == f"wrote {out} (1 results)"
    page = out.read_text(encoding="utf-8")
    assert {"provenance", "forest", "results"} <= Ids(page).ids
    assert "gates" not in Ids(page).ids
    assert "varkit privacy epsilon results.json" in page  # the file's own provenance


def test_report_with_rules_adds_decisions_even_when_a_gate_fails(
    write_file: Write, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    rules = str(write_file("gates.toml", RULES))
    path = results_file(write_file, high=8.5)
    code, stdout, _ = invoke("report", path, "-o", str(out), "--rules", rules)
    assert code == 0  # deciding the build is `varkit gate`'s job
    assert "1 gate decisions" in stdout
    page = out.read_text(encoding="utf-8")
    assert "gates" in Ids(page).ids and "epsilon audit" in page and ">fail<" in page


def test_several_files_are_pooled_with_their_provenance(write_file: Write, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    first, second = results_file(write_file, "a.json"), results_file(write_file, "b.json")
    code, stdout, _ = invoke("report", first, second, "-o", str(out))
    assert code == 0 and "(2 results)" in stdout
    page = out.read_text(encoding="utf-8")
    assert "varkit privacy epsilon a.json" in page and "varkit privacy epsilon b.json" in page
    assert "All results (2)" in page
    # the pooled page records each file with its hash, and the device they ran on
    for path in (first, second):
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        assert f"<code>{path}</code> sha256 <code>{digest}</code>" in page
    assert "<th>device</th><td>cpu</td>" in page


def assert_input_error(code: int, err: str, fragment: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "is not valid JSON"),
        ("[1]", "is not a varkit results document"),
        ('{"schema": "varkit.results/1", "results": [{"metric": "m"}]}', "estimate"),
    ],
)
def test_bad_results_exit_2(write_file: Write, tmp_path: Path, content: str, fragment: str) -> None:
    path = str(write_file("bad.json", content))
    code, _, err = invoke("report", path, "-o", str(tmp_path / "r.html"))
    assert_input_error(code, err, fragment)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ("[[rule]\n", "is not valid TOML"),
        ('[[rule]]\nname = "r"\nmetric = "m"\n', "needs a bound"),
        ('[[rule]]\nname = "r"\nmetric = "m"\nmax_drop = 0.1\n', "needs a `baseline`"),
    ],
)
def test_bad_rules_exit_2(write_file: Write, tmp_path: Path, rules: str, fragment: str) -> None:
    path = str(write_file("gates.toml", rules))
    code, _, err = invoke("report", results_file(write_file), "--rules", path)
    assert_input_error(code, err, fragment)


def test_missing_file_exit_2(tmp_path: Path) -> None:
    code, _, err = invoke("report", str(tmp_path / "none.json"))
    assert code == 2 and "does not exist" in err


# -- issue 14: where the page goes, extreme values, scale ---------------------------------
def test_output_folder_is_created(write_file: Write, tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder" / "report.html"
    code, _, err = invoke("report", results_file(write_file), "-o", str(out))
    assert code == 0 and out.is_file() and err == ""


@pytest.mark.parametrize("where", ["under_file", "full_disk"])
def test_output_that_cannot_be_written_is_one_error_line(
    write_file: Write, tmp_path: Path, where: str
) -> None:
    if where == "full_disk" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    regular = write_file("plain.txt", "x")
    target = str(regular / "report.html") if where == "under_file" else "/dev/full"
    code, _, err = invoke("report", results_file(write_file), "-o", target)
    assert_input_error(code, err, "--output")


def test_extreme_values_and_missing_glyphs_draw_without_warnings(
    write_file: Write, tmp_path: Path
) -> None:
    # 1e308 used to overflow the axis arithmetic (a ValueError traceback from matplotlib);
    # a CJK label made matplotlib warn about glyphs missing from its font
    results = [
        Result("accuracy", 1e308, 1e308, 1e308, 0.95, group={"model": "中文"}),
        Result("accuracy", 0.0, -1e308, 1.7e308, 0.95, group={"model": "b"}),
        Result("accuracy", 5e-324, 0.0, 1e-300, 0.95, group={"model": "c"}),
        Result("accuracy", 5.0, 5.0, 5.0, 0.95, group={"model": "$\\frac{"}),
        *(
            Result(
                "shuffle_distance",
                v,
                v,
                v,
                0.95,
                group={"ad_id": str(i)},
                details={"threshold": 1e308},
            )
            for i, v in enumerate([1e308, 0.0, 0.5])
        ),
    ]
    path = str(write_file("extreme.json", ResultSet(tuple(results)).to_json()))
    out = tmp_path / "extreme.html"
    code, stdout, err = invoke("report", path, "-o", str(out))
    assert code == 0, err
    assert err == "" and "wrote" in stdout and out.read_text(encoding="utf-8").count("<img") >= 2


# ~10 s on a loaded 2-core machine; tests/test_gates.py guards the scaling by default
@pytest.mark.slow
def test_report_of_20000_results_with_relative_rules_finishes(
    write_file: Write, tmp_path: Path
) -> None:
    results = [Result("accuracy", 0.84, 0.81, 0.87, 0.95, group={"model": "base"})]
    results += [
        Result("accuracy", 0.83, 0.80, 0.86, 0.95, group={"model": f"m{i}"}) for i in range(20_000)
    ]
    path = str(write_file("many.json", ResultSet(tuple(results)).to_json()))
    rules = write_file(
        "rel.toml",
        '[[rule]]\nname = "drop"\nmetric = "accuracy"\nbaseline = { model = "base" }\n'
        "max_drop = 0.1\n",
    )
    out = tmp_path / "many.html"
    code, stdout, err = invoke("report", path, "-o", str(out), "--rules", str(rules))
    assert code == 0, err
    assert "20001 results, 20000 gate decisions" in stdout
