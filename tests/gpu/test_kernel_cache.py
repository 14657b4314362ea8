"""Compiled kernels cache in a per-user folder, never inside the varkit package.

numba's default (``cache=True``) writes next to the source; after ``pip install .`` that
is ``site-packages/varkit``, and the files left there when pip swaps in an editable
install made the README's second command fail to collect (issue 14).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numba
import numpy as np
import pytest

import varkit
from varkit.gpu import _numba_kernels as nk
from varkit.gpu import counter_rng as crng
from varkit.gpu.kernel_cache import cached_njit, kernel_cache_dir

PACKAGE = Path(varkit.__file__).resolve().parent
REPO = PACKAGE.parent


def _kernels() -> dict[str, object]:
    from varkit.gpu import segments

    return {
        "poisson_sums": nk.poisson_sums,
        "multinomial_sums": nk.multinomial_sums,
        "sign_flip_sums": nk.sign_flip_sums,
        "shuffle_subset_sums": nk.shuffle_subset_sums,
        "segment_poisson_kernel": segments.segment_poisson_kernel,
    }


def _package_files() -> set[Path]:
    # .pyc files are pip's own (it removes them with the .py files); anything else that
    # appears in the package folder at run time would be left behind by pip.
    return {p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix != ".pyc"}


@pytest.fixture
def cache_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An environment with no NUMBA_CACHE_DIR and XDG_CACHE_HOME under tmp_path."""
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    yield tmp_path


def test_every_varkit_kernel_caches_outside_the_package() -> None:
    folder = kernel_cache_dir()
    for name, kernel in _kernels().items():
        cache = kernel._cache  # type: ignore[attr-defined]
        if folder is None:  # a machine whose cache folder cannot be written: no cache
            assert type(cache).__name__ == "NullCache", name
            continue
        path = Path(cache._cache_path).resolve()
        assert path.is_relative_to(folder.resolve()), (name, path)
        assert not path.is_relative_to(PACKAGE), (name, path)


def test_running_the_kernels_writes_nothing_into_the_package() -> None:
    before = _package_files()
    keys = crng.replicate_keys(3, 0, 8)
    offsets = crng.unit_offsets(np.arange(5, dtype=np.uint64))
    z = np.arange(10.0).reshape(5, 2)
    nk.poisson_sums(np.ascontiguousarray(z.T), offsets, keys, np.zeros((8, 2)))
    nk.multinomial_sums(z, np.array([0, 5], dtype=np.int64), keys, np.zeros((8, 2)))
    nk.sign_flip_sums(z[:, 0].copy(), keys, np.zeros(8))
    nk.shuffle_subset_sums(z[:, 0].copy(), 2, keys, np.zeros(8))
    segment = np.array([0, 0, 1, 1, 1], dtype=np.int64)
    _kernels()["segment_poisson_kernel"](z, offsets, keys, segment, 2)  # type: ignore[operator]
    assert _package_files() - before == set()
    folder = kernel_cache_dir()
    if folder is not None:  # each kernel's index is in the cache folder
        indexes = {p.name for p in folder.rglob("*.nbi")}
        for name in _kernels():
            assert any(re.search(rf"\.{name}-\d+\.py", index) for index in indexes), name


def test_the_cache_folder_is_numba_cache_dir_then_xdg_then_home(
    cache_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xdg = cache_env / "xdg"
    assert kernel_cache_dir() == xdg / "varkit" / "numba"
    assert (xdg / "varkit" / "numba").is_dir()
    # a user's NUMBA_CACHE_DIR wins, from the environment or set in numba.config
    assert kernel_cache_dir({"NUMBA_CACHE_DIR": str(cache_env / "a")}) == cache_env / "a"
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(cache_env / "b"))
    assert kernel_cache_dir({}) == cache_env / "b"
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    # a relative XDG_CACHE_HOME is ignored (XDG base-directory spec): ~/.cache then
    monkeypatch.setenv("HOME", str(cache_env / "home"))
    assert kernel_cache_dir({"XDG_CACHE_HOME": "rel"}) == cache_env / "home/.cache/varkit/numba"


def test_an_unwritable_cache_folder_turns_caching_off(cache_env: Path) -> None:
    blocker = cache_env / "a-file"
    blocker.write_text("not a folder")  # a folder under a file cannot exist, even for root
    assert kernel_cache_dir({"XDG_CACHE_HOME": str(blocker)}) is None
    assert kernel_cache_dir({"NUMBA_CACHE_DIR": str(blocker / "numba")}) is None


def _decorate_and_run() -> object:
    @cached_njit()
    def add_one(x):  # type: ignore[no-untyped-def]
        return x + 1

    assert add_one(1) == 2
    return add_one


def _written_next_to_this_file() -> set[Path]:
    return set(Path(__file__).parent.rglob("*add_one*.nb[ic]"))


def test_cached_njit_writes_into_the_cache_folder_only(cache_env: Path) -> None:
    before = _written_next_to_this_file()
    kernel = _decorate_and_run()
    folder = cache_env / "xdg" / "varkit" / "numba"
    assert list(folder.rglob("*add_one*.nbi")), "the compiled function was not cached"
    assert _written_next_to_this_file() == before
    assert kernel._cache._cache_path.startswith(str(folder))  # type: ignore[attr-defined]
    assert numba.config.CACHE_DIR == ""  # restored: the user's own numba code is unaffected


def test_cached_njit_without_a_writable_folder_compiles_without_cache(
    cache_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = cache_env / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    before = _written_next_to_this_file()
    kernel = _decorate_and_run()
    assert type(kernel._cache).__name__ == "NullCache"  # type: ignore[attr-defined]
    assert _written_next_to_this_file() == before


def test_cached_njit_decides_cache_itself() -> None:
    with pytest.raises(TypeError, match="cache"):
        cached_njit(cache=True)


def test_no_varkit_module_caches_next_to_its_source() -> None:
    # every cached kernel goes through cached_njit (numba's cache=True writes in-tree)
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "kernel_cache.py"
        and re.search(r"cache\s*=\s*True", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# -- the README's two commands, one after the other -----------------------------------------


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
    except OSError:
        return False
    return True


def _run(command: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
@pytest.mark.skipif(not (REPO / "pyproject.toml").is_file(), reason="needs a source checkout")
def test_readme_install_then_editable_install_collects_cleanly(tmp_path: Path) -> None:
    """The README's first command, then its second, in one checkout: the tests collect.

    Installs from PyPI (a few minutes); skipped without network.
    """
    if not _pypi_reachable():
        pytest.skip("needs network access to PyPI")
    checkout = tmp_path / "checkout"
    shutil.copytree(
        REPO,
        checkout,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", "*.egg-info", "build", "varkit-demo", ".*_cache"
        ),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "PYTHON"))}
    env["XDG_CACHE_HOME"] = str(tmp_path / "user-cache")  # a user with a cold kernel cache
    python = sys.executable
    _run(
        f"{python} -m venv .venv && .venv/bin/pip install -q . && .venv/bin/varkit demo",
        checkout,
        env,
    )
    site = next((checkout / ".venv" / "lib").glob("python*/site-packages"))
    assert [p for p in (site / "varkit").rglob("*") if p.suffix in (".nbi", ".nbc")] == []
    assert list((tmp_path / "user-cache" / "varkit" / "numba").rglob("*.nbi"))
    _run(f'{python} -m venv .venv && .venv/bin/pip install -q -e ".[test]"', checkout, env)
    assert not (site / "varkit").exists(), "pip left part of the regular install behind"
    # exit status 0 (checked in _run): no collection errors; the tests come from the checkout
    out = _run(".venv/bin/pytest --collect-only -q -p no:cacheprovider", checkout, env)
    assert "ERROR collecting" not in out
