"""Sphinx configuration of the varkit documentation site.

Build (warnings are errors)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The API pages are written at every build from each public package's ``__all__`` (see
``write_api_pages``), so a name added to or removed from ``__all__`` appears or disappears
without editing the docs.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import varkit  # noqa: E402

project = "varkit"
author = "the varkit developers"
copyright = "the varkit developers"  # noqa: A001
release = varkit.__version__
version = release

# Sphinx + numpydoc + the PyData theme, as scipy, pandas and scikit-learn use: every public
# name already has a numpydoc docstring (tests/test_architecture.py checks it), so numpydoc
# renders them as those projects' readers know, and click commands and Markdown (the README's
# sections, benchmarks/RESULTS.md) are included by extensions instead of being copied.
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_click",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

html_theme = "pydata_sphinx_theme"
html_title = f"varkit {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False

# autodoc / autosummary / numpydoc
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's Parameters sections already give the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

myst_heading_anchors = 3
# click help says "--engine" and quotes shell globs: keep them as typed, not as dashes/quotes
smartquotes = False

# The public packages, in the import order of the README's architecture section (bottom up).
# A name exported by several of them is documented once, where it is defined, and listed as
# a re-export elsewhere.
PUBLIC_MODULES = [
    ("varkit", "The top-level package"),
    ("varkit.results", "Result, ResultSet and the varkit.results/1 schema"),
    ("varkit.errors", "The one exception type and warnings"),
    ("varkit.checks", "Shared argument checks"),
    ("varkit.io", "Reading logs: CSV/Parquet files and globs"),
    ("varkit.engine", "Scale-out: pieces and Dask"),
    ("varkit.gpu", "The resampling engine"),
    ("varkit.evaluate", "Model evaluation and selection"),
    ("varkit.privacy", "Differential-privacy auditing"),
    ("varkit.cav", "Crash rates of automated vehicles"),
    ("varkit.fairness", "Ad-delivery fairness (VRS)"),
    ("varkit.gates", "CI gates that decide on intervals"),
    ("varkit.report", "The HTML report"),
    ("varkit.demo", "The demo on the bundled logs"),
    ("varkit.datasets", "The bundled example logs"),
    ("varkit.testing", "Gates inside a test suite"),
]


def _home(obj: object, name: str, exporters: list[str]) -> str:
    """The public module that documents ``obj``: the deepest exporter enclosing its module."""
    defined_in = getattr(obj, "__module__", None) if _is_code(obj) else None
    if isinstance(defined_in, str):
        enclosing = [m for m in exporters if defined_in == m or defined_in.startswith(m + ".")]
        if enclosing:
            return max(enclosing, key=len)
    return exporters[0]


def _is_code(obj: object) -> bool:
    return inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)


def _shared(obj: object) -> bool:
    """Whether the same object under two modules' names is one re-exported name.

    Functions, classes and containers (one module imports another's constant) are; small
    numbers and strings are not, because Python may share equal ones between modules.
    """
    return _is_code(obj) or isinstance(obj, (tuple, list, dict, set, frozenset))


# id of every documented function or class -> the public name it is documented under
DOCUMENTED: dict[int, str] = {}


def write_api_pages() -> None:
    """Write ``api/<module>.rst`` for every public module from its ``__all__``."""
    exported: dict[int, list[str]] = {}
    objects: dict[tuple[str, str], object] = {}
    for module_name, _ in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            objects[module_name, name] = obj
            exported.setdefault(id(obj), []).append(module_name)
    api = HERE / "api"
    api.mkdir(exist_ok=True)
    stubs: set[str] = set()
    for module_name, summary in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        own, elsewhere = [], []
        for name in module.__all__:
            obj = objects[module_name, name]
            exporters = exported[id(obj)] if _shared(obj) else [module_name]
            home = _home(obj, name, exporters)
            if home == module_name:
                own.append(name)
                stubs.add(f"{module_name}.{name}.rst")
                if _shared(obj):
                    DOCUMENTED[id(obj)] = f"{module_name}.{name}"
            else:
                elsewhere.append(f"~{home}.{name}")
        title = f"``{module_name}``: {summary}"
        lines = [
            title,
            "=" * len(title),
            "",
            f".. automodule:: {module_name}",
            "   :no-members:",
            "",
            f".. currentmodule:: {module_name}",
            "",
        ]
        if own:
            lines += [".. autosummary::", "   :toctree: generated/", ""]
            lines += [f"   {name}" for name in own] + [""]
        if elsewhere:
            lines += ["Also exported here, documented where they are defined:", ""]
            lines += [f"- :py:obj:`{name}`" for name in elsewhere] + [""]
        text = "\n".join(lines)
        page = api / f"{module_name}.rst"
        if not page.exists() or page.read_text() != text:  # unchanged pages stay cached
            page.write_text(text)
    # autosummary writes stubs but never removes one: drop those of names no longer exported
    generated = api / "generated"
    if generated.is_dir():
        for stub in generated.glob("*.rst"):
            if stub.name not in stubs:
                stub.unlink()


def click_preformatted_blocks(app: object, ctx: object, lines: list[str]) -> None:
    """Show click's ``\\b`` blocks (text click does not rewrap) as literal blocks.

    sphinx-click turns them into reST line blocks, where a shell glob such as
    ``'logs/*.parquet'`` starts an emphasis; in the terminal they are preformatted text. A
    first line ending in a colon ("Examples:") stays a paragraph above the block.
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("| "):
            out.append(lines[i])
            i += 1
            continue
        block = []
        while i < len(lines) and lines[i].startswith("| "):
            block.append(lines[i][2:])
            i += 1
        if block[0].rstrip().endswith(":") and not block[0].startswith(" "):
            out += [block.pop(0), ""]
        out += [".. code-block:: text", ""] + ["   " + line for line in block] + [""]
    lines[:] = out


def drop_builtin_docstrings(
    app: object, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """A constant without a ``#:`` comment shows nothing, not the docstring of ``tuple``."""
    if what in ("data", "attribute") and not _is_code(obj):
        doc = type(obj).__doc__  # a descriptor on some types (NamedTuple fields)
        builtin = inspect.cleandoc(doc) if isinstance(doc, str) else ""
        text = "\n".join(lines).strip()
        if builtin and text and builtin.startswith(text):
            lines[:] = []


def skip_sklearn_members(
    app: object, what: str, name: str, obj: object, skip: bool, options: object
) -> bool | None:
    """Leave out the ``set_*_request`` methods scikit-learn adds to every estimator class."""
    for module in (getattr(obj, "__module__", None), type(obj).__module__):
        if isinstance(module, str) and module.split(".")[0] == "sklearn":
            return True
    return None


def _import_target(target: str) -> object | None:
    """The object a dotted name refers to, or None (the name need not be public)."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def resolve_public_names(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Link a reference to where its object is documented.

    Docstrings may name a function by the module that defines it
    (``varkit.fairness.metrics.vrs_metrics``) or by a package that re-exports it
    (``varkit.engine.LogSource``); the site documents each once, under its public name. A
    private module (``varkit.io.partitions``) links to its public package's page.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    candidates = [target]
    if node.get("py:module") and not target.startswith("varkit"):
        candidates.insert(0, f"{node['py:module']}.{target}")
    public = None
    for name in candidates:
        if node.get("reftype") == "mod":
            packages = [m for m, _ in PUBLIC_MODULES if name.startswith(m + ".")]
            public = max(packages, key=len) if packages else None
        else:
            obj = _import_target(name) if name.startswith("varkit") else None
            public = DOCUMENTED.get(id(obj)) if obj is not None else None
        if public is not None:
            break
    if public is None or public == target:
        return None
    return env.domains["py"].resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], public, node, contnode
    )


def setup(app: object) -> None:
    app.connect("missing-reference", resolve_public_names)  # type: ignore[attr-defined]
    app.connect("autodoc-skip-member", skip_sklearn_members)  # type: ignore[attr-defined]
    app.connect("sphinx-click-process-description", click_preformatted_blocks)  # type: ignore[attr-defined]
    # before numpydoc (priority 500) rewrites the docstring
    app.connect("autodoc-process-docstring", drop_builtin_docstrings, priority=400)  # type: ignore[attr-defined]


write_api_pages()
