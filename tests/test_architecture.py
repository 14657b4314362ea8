"""The layout holds the redesign's promises (issue 16), measured by ``tests/architecture.py``.

Each test names what it found, so a regression says where to look.
"""

from __future__ import annotations

import pytest

from tests import architecture as arch

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def measured() -> dict[str, list]:
    return arch.report()


def test_the_cli_imports_only_public_package_names(measured):
    assert measured["cli_deep_imports"] == []


def test_no_private_name_crosses_packages(measured):
    assert measured["private_crossings"] == []


def test_no_import_cycles_even_through_function_local_imports(measured):
    assert measured["cycles"] == []


def test_no_function_is_longer_than_150_lines(measured):
    assert measured["long_functions"] == []


def test_at_most_two_library_functions_take_more_than_8_positional_parameters(measured):
    assert len(measured["many_positional"]) <= 2, measured["many_positional"]


def test_every_public_name_has_a_doctested_example(measured):
    assert measured["without_example"] == []
    assert len(measured["public_names"]) > 100  # the measure found the package's faces


def test_the_measure_sees_a_deep_import_and_a_private_crossing(tmp_path):
    """The checks can fail: a CLI module reaching inside a package is caught."""
    import ast

    src = {
        "varkit.cli.x": (tmp_path / "x.py", ast.parse("from varkit.cav.sparse import _y\n")),
        "varkit.cav.sparse": (tmp_path / "sparse.py", ast.parse("_y = 1\n")),
    }
    imp = arch.imports(src)
    assert arch.cli_deep_imports(src, imp) == ["varkit.cli.x:1 imports varkit.cav.sparse._y"]
    assert arch.private_crossings(src, imp) == ["varkit.cli.x:1 uses varkit.cav.sparse._y"]
