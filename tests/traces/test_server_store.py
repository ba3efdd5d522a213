"""The same store code against a real `mlflow server` on 127.0.0.1 (the REST backend)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_store import trial

from _mlflow_server import mlflow_server
from costar.traces import TraceStore


@pytest.fixture
def server_uri(tmp_path: Path, template_db: Path) -> Iterator[str]:
    db = tmp_path / "server.db"
    shutil.copyfile(template_db, db)
    with mlflow_server(db, tmp_path / "artifacts") as uri:
        yield uri


@pytest.mark.slow
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
