"""Measure varkit's layout against the redesign targets (issue 16).

Run ``python tests/architecture.py`` for the numbers; ``tests/test_architecture.py``
asserts them. Everything is read from the source with :mod:`ast`, nothing is imported.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "varkit"

# Top-level modules that are a package's public face by themselves.
_SINGLE_MODULES = {"errors", "results", "checks", "gates", "io"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str:
    """``varkit.cav.sparse`` -> ``cav``; ``varkit.errors`` -> ``errors``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def sources() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        out[module_name(path)] = (path, ast.parse(path.read_text(), str(path)))
    return out


def _resolve(module: str, node: ast.ImportFrom, is_pkg: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _all_names(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return [e.value for e in node.value.elts]  # type: ignore[attr-defined]
    return []


@dataclass
class Imports:
    # (importer, imported module, imported name or None, lineno)
    edges: list[tuple[str, str, str | None, int]] = field(default_factory=list)


def imports(src: dict[str, tuple[Path, ast.Module]]) -> Imports:
    out = Imports()
    for mod, (path, tree) in src.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(mod, node, is_pkg)
                if not target.startswith("varkit"):
                    continue
                exported = _all_names(src[target][1]) if target in src else []
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in src and alias.name not in exported:
                        out.edges.append((mod, sub, None, node.lineno))
                    else:
                        out.edges.append((mod, target, alias.name, node.lineno))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("varkit"):
                        out.edges.append((mod, alias.name, None, node.lineno))
    return out


def cli_deep_imports(src, imp: Imports) -> list[str]:
    """CLI imports of anything below a package's public face (``varkit.X``)."""
    found = []
    for mod, target, name, line in imp.edges:
        if not mod.startswith("varkit.cli"):
            continue
        if target.startswith("varkit.cli") or target == "varkit":
            continue
        depth = len(target.split("."))
        if depth > 2:
            found.append(f"{mod}:{line} imports {target}" + (f".{name}" if name else ""))
    return found


def private_crossings(src, imp: Imports) -> list[str]:
    """A private name or private module used outside its own package."""
    found = []
    for mod, target, name, line in imp.edges:
        if package_of(mod) == package_of(target):
            continue
        private_mod = any(p.startswith("_") and p != "__init__" for p in target.split("."))
        private_name = name is not None and name.startswith("_") and not name.startswith("__")
        if private_mod or private_name:
            found.append(f"{mod}:{line} uses {target}" + (f".{name}" if name else ""))
    return found


def cycles(src, imp: Imports, local: bool = True) -> list[list[str]]:
    """Import cycles between modules, by Tarjan's algorithm.

    ``local`` counts imports inside functions too: deferring an import hides a cycle
    from Python but not from a reader.
    """
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, (path, tree) in src.items():
        is_pkg = path.name == "__init__.py"
        typing_only = {
            id(sub)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for sub in ast.walk(node)
        }
        for node in ast.walk(tree) if local else tree.body:
            if id(node) in typing_only:
                continue
            targets = []
            if isinstance(node, ast.ImportFrom):
                t = _resolve(mod, node, is_pkg)
                for alias in node.names:
                    targets.append(f"{t}.{alias.name}" if f"{t}.{alias.name}" in src else t)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                if t in src and t != mod and not mod.startswith(t + "."):
                    # a package importing its own submodule is the normal __init__ shape
                    if not (path.name == "__init__.py" and t.startswith(mod + ".")):
                        graph[mod].add(t)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    # Tarjan's recursion is as deep as the longest import chain; the old limit is put back,
    # since tests that run after this one rely on it (a JSON nested 3,000 deep must raise)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10000)
    try:
        for v in list(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return comps


def functions(src):
    for mod, (_path, tree) in src.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield mod, node


def long_functions(src, limit: int = 150) -> list[str]:
    out = []
    for mod, node in functions(src):
        n = node.end_lineno - node.lineno + 1
        if n > limit:
            out.append(f"{mod}.{node.name} {n} lines")
    return out


def many_positional(src, limit: int = 8) -> list[str]:
    out = []
    for mod, node in functions(src):
        if mod.startswith("varkit.cli"):
            continue
        args = node.args.posonlyargs + node.args.args
        names = [a.arg for a in args if a.arg not in ("self", "cls")]
        if len(names) > limit:
            out.append(f"{mod}.{node.name} {len(names)} positional")
    return out


def _definition(src, module: str, name: str, depth: int = 0) -> ast.AST | None:
    """The class or function ``name`` as defined in ``module``, following re-exports."""
    if module not in src or depth > 5:
        return None
    path, tree = src[module]
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            if node.name == name:
                return node
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, node, path.name == "__init__.py")
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return _definition(src, target, alias.name, depth + 1)
    return None


def public_modules(src) -> list[str]:
    """The public faces: ``varkit``, each package's ``__init__`` and top-level modules."""
    return [
        mod
        for mod in src
        if len(mod.split(".")) <= 2
        and not mod.startswith("varkit.cli")
        and mod != "varkit.__main__"
    ]


def public_names(src) -> list[tuple[str, str, ast.AST]]:
    """Classes and functions listed in a public face's ``__all__``, with their definitions."""
    out = []
    seen: set[int] = set()
    for mod in public_modules(src):
        for name in _all_names(src[mod][1]):
            node = _definition(src, mod, name)
            if node is not None and id(node) not in seen:
                seen.add(id(node))
                out.append((mod, name, node))
    return out


def without_example(src) -> list[str]:
    out = []
    for mod, name, node in public_names(src):
        doc = ast.get_docstring(node) or ""
        if ">>>" not in doc:
            out.append(f"{mod}.{name}")
    return out


def report() -> dict[str, list]:
    src = sources()
    imp = imports(src)
    return {
        "cli_deep_imports": cli_deep_imports(src, imp),
        "private_crossings": private_crossings(src, imp),
        "cycles": cycles(src, imp),
        "long_functions": long_functions(src),
        "many_positional": many_positional(src),
        "without_example": without_example(src),
        "public_names": [f"{m}.{n}" for m, n, _ in public_names(src)],
    }


if __name__ == "__main__":
    verbose = "-v" in sys.argv
    for key, items in report().items():
        print(f"{key}: {len(items)}")
        if verbose and key != "public_names":
            for item in items:
                print("   ", item)
