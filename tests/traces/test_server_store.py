"""The same store code against a real `mlflow server` on 127.0.0.1 (the REST backend)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_store import trial

from costar.traces import TraceStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server_uri(tmp_path: Path, template_db: Path) -> Iterator[str]:
    db = tmp_path / "server.db"
    shutil.copyfile(template_db, db)
    port = free_port()
    mlflow = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen(
        [
            str(mlflow),
            "server",
            "--backend-store-uri",
            f"sqlite:///{db}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--default-artifact-root",
            (tmp_path / "artifacts").as_uri(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{uri}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("mlflow server did not start")
    yield uri
    proc.terminate()
    proc.wait(timeout=20)


def test_writes_verify_and_page_through_a_tracking_server(server_uri: str) -> None:
    store = TraceStore(server_uri, "remote")
    run_id = store.create_run("remote", {"trials": 1}, {"costar.kind": "run"})
    records = [trial(run_id, f"s{i % 7}", i) for i in range(520)]  # more than one REST page
    landed: set[str] = set()
    for start in range(0, len(records), 260):
        landed |= store.write(records[start : start + 260])
    assert landed == {r.trace_id for r in records}
    rows = store.run_traces(run_id)
    assert len(rows) == 520 and len({r.trace_id for r in rows}) == 520
    assert store.get_run(run_id[:8]).run_id == run_id
