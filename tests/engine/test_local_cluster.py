"""``--scheduler local[:N]``: varkit's own LocalCluster for a run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.engine.conftest import make_log
from tests.engine.test_bootstrap import assert_same
from varkit.cli.main import cli
from varkit.engine.reduce import connect
from varkit.results import ResultSet

pytest.importorskip("distributed")


@pytest.mark.slow
def test_local_cluster_has_n_single_thread_workers() -> None:
    client = connect("local:2")
    try:
        info = client.scheduler_info()["workers"]
        assert len(info) == 2
        assert all(w["nthreads"] == 1 for w in info.values())
        cluster = client.cluster
    finally:
        client.close()
    assert cluster.status.name == "closed"


_PROBE = """
import os
from varkit.engine.reduce import connect
client = connect("local:2")
print(sorted(set(map(str, client.run(os.getenv, "MALLOC_TRIM_THRESHOLD_").values()))))
client.close()
"""


@pytest.mark.slow
def test_local_cluster_workers_keep_glibc_malloc_thresholds() -> None:
    # distributed sets MALLOC_TRIM_THRESHOLD_=65536 in the workers it starts, and writes
    # it into the starting process's environment too; so the check runs in a fresh one
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "['None']"


@pytest.mark.parametrize("spec", ["local:0", "local:x", "local:-1"])
def test_bad_local_worker_count_is_a_value_error(spec: str) -> None:
    with pytest.raises(ValueError, match="--scheduler local:N needs a positive integer N"):
        connect(spec)


@pytest.mark.slow
def test_cli_local_cluster_equals_pandas_engine(tmp_path: Path) -> None:
    make_log(tmp_path, n=3000)
    common = ["bootstrap", str(tmp_path / "part-*"), "-c", "revenue", "--resamples", "200",
              "--seed", "3", "--format", "json"]  # fmt: skip
    runs = [
        CliRunner().invoke(cli, [*common, "--scheme", "poisson"]),
        CliRunner().invoke(cli, [*common, "--engine", "dask", "--scheduler", "local:2"]),
    ]
    for run in runs:
        assert run.exit_code == 0, run.stderr
    want, got = (ResultSet.from_json(r.stdout)[0] for r in runs)
    assert_same(got, want)
    assert json.loads(runs[1].stdout)["results"][0]["n"] == 3000


def test_cli_bad_local_worker_count_is_one_error_line(tmp_path: Path) -> None:
    make_log(tmp_path, n=100)
    run = CliRunner().invoke(
        cli,
        [
            "bootstrap",
            str(tmp_path / "part-*"),
            "-c",
            "revenue",
            "--engine",
            "dask",
            "--scheduler",
            "local:x",
        ],  # fmt: skip
    )
    assert run.exit_code == 2
    assert run.stderr.strip() == "error: --scheduler local:N needs a positive integer N, got 'x'."


# -- issue 14: a scheduler address is checked, and a wrong one fails fast in one line ----
def test_a_running_scheduler_is_reached_by_its_address_with_or_without_tcp() -> None:
    # the handshake probe must accept a real scheduler
    owner = connect("local:1")
    try:
        address = owner.scheduler.address
        for given in (address, address.removeprefix("tcp://")):
            client = connect(given)
            try:
                assert client.submit(sum, [40, 2]).result() == 42
            finally:
                client.close()
    finally:
        owner.close()


@pytest.mark.parametrize(
    ("address", "fragment"),
    [
        ("bogus", "--scheduler must be local, local:N or a scheduler address"),
        ("http://host:8786", "unknown protocol 'http'"),
        ("tcp://host:99999", "the port of 'tcp://host:99999' must be 1 to 65535"),
        ("tcp://:8786", "--scheduler must be"),
        ("tcp://no-such-host.invalid:8786", "the host 'no-such-host.invalid' is not known"),
    ],
)
def test_bad_scheduler_address_is_one_line(address: str, fragment: str) -> None:
    from varkit.errors import VarkitError

    with pytest.raises(VarkitError, match=re.escape(fragment)):
        connect(address)


def test_nothing_listening_fails_fast() -> None:
    import socket
    import time

    from varkit.errors import VarkitError

    with socket.socket() as sock:  # a port that is free: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        started = time.perf_counter()
        with pytest.raises(VarkitError, match="cannot reach the Dask scheduler"):
            connect(f"tcp://127.0.0.1:{port}")
    assert time.perf_counter() - started < 15  # distributed alone waited 20 s, then a traceback


def test_a_service_that_is_no_scheduler_is_one_line() -> None:
    import socket
    import threading

    from varkit.errors import VarkitError

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        with pytest.raises(VarkitError, match="does not answer as a Dask scheduler does"):
            connect(f"127.0.0.1:{server.getsockname()[1]}")
    finally:
        thread.join(timeout=5)
        server.close()


def test_cli_bogus_scheduler_is_one_error_line(tmp_path: Path) -> None:
    make_log(tmp_path, n=20)
    result = CliRunner().invoke(
        cli,
        [
            "bootstrap",
            str(tmp_path / "part-*"),
            "-c",
            "revenue",
            "--engine",
            "dask",
            "--scheduler",
            "bogus",
            "--resamples",
            "20",
        ],
    )
    assert result.exit_code == 2
    assert (
        result.stderr.startswith("error: --scheduler must be") and "Traceback" not in result.stderr
    )
