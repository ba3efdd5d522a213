"""The Ray executor on a real local Ray cluster, into an `mlflow server` on PostgreSQL:
exactly one trace per (scenario, trial), also when a worker is killed mid-trial and a writer
actor mid-run."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.traces import TraceStore

pytestmark = pytest.mark.slow

SCENARIOS, TRIALS = 50, 20  # 1,000 trials

AGENT = """
import os
import time
from pathlib import Path

VICTIM = ("s7", 3)  # this trial's first try records its worker's pid, then waits to be killed


def agent(ctx):
    if (ctx.scenario_id, ctx.trial) == VICTIM:
        mark = Path(__file__).parent / "victim.pid"
        try:
            fd = os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return f"retried in {os.getpid()}"
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        time.sleep(60)
    return f"answer {ctx.input}"
"""


def _project(root: Path, tracking_uri: str, scenarios: int = SCENARIOS) -> Path:
    files = {f"scenarios/s{i}.yaml": f"id: s{i}\ninput: q{i}\n" for i in range(scenarios)}
    files["fast_agent.py"] = AGENT
    files["costar.toml"] = (
        f"[costar]\nagent = 'fast_agent:agent'\ntracking_uri = '{tracking_uri}'\n"
        "experiment = 'scale'\n"
    )
    write_files(root, files)
    return root


def _stored(uri: str, run_id: str) -> tuple[Counter, set[str]]:
    """(scenario, trial) counts of the run's traces, and the trace ids MLflow links to the run."""
    store = TraceStore(uri, "scale")
    counts = Counter((row.scenario_id, row.trial) for row in store.run_traces(run_id))
    linked: set[str] = set()
    token = None
    while True:
        page = store._tracing.search_traces(
            locations=[store.experiment_id],
            run_id=run_id,
            max_results=500,
            page_token=token,
            include_spans=False,
        )
        linked.update((t.info if hasattr(t, "info") else t).trace_id for t in page)
        token = getattr(page, "token", None)
        if not token:
            return counts, linked


def _writer_pids(root: Path) -> list[int]:
    """Processes of this run's writer actors: Ray names them `ray::_Writer...`, and the runtime
    env gave them a PYTHONPATH that starts with the project folder."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except (OSError, ValueError):
            continue
        if cmdline.startswith(b"ray::_Writer") and f"PYTHONPATH={root}".encode() in environ:
            pids.append(int(proc.name))
    return pids


def test_a_thousand_trials_on_two_ray_workers_land_once_each_even_when_a_worker_is_killed(
    tmp_path: Path, mlflow_pg: str, ray_address: str
) -> None:
    root = _project(tmp_path, mlflow_pg)
    config = RunConfig.from_settings(
        load_settings(start=root), trials=TRIALS, executor="ray", address=ray_address
    )
    result: dict[str, object] = {}
    runner = threading.Thread(target=lambda: result.update(summary=run_suite(config)))
    runner.start()
    mark = root / "victim.pid"
    deadline = time.monotonic() + 240
    while not mark.exists() or not mark.read_text():
        assert time.monotonic() < deadline and runner.is_alive(), "the victim trial never ran"
        time.sleep(0.05)
    victim = int(mark.read_text())
    assert victim != os.getpid()  # a Ray worker, not this process
    os.kill(victim, signal.SIGKILL)
    while not (writers := _writer_pids(root)):  # and one trace writer, while the trials run
        assert time.monotonic() < deadline and runner.is_alive(), "no writer actor ran"
        time.sleep(0.05)
    os.kill(writers[0], signal.SIGKILL)  # Ray restarts it and retries what it was writing
    runner.join(timeout=600)
    summary = result["summary"]

    assert summary.status == "finished"
    assert (summary.planned, summary.written, summary.ok) == (1000, 1000, 1000)
    assert summary.spilled == summary.unsaved == summary.cancelled == 0
    counts, linked = _stored(mlflow_pg, summary.run_id)
    assert len(counts) == 1000 and set(counts.values()) == {1}  # none lost, none twice
    assert len(linked) == 1000  # every trace linked to the run in the server's store
    store = TraceStore(mlflow_pg, "scale")
    victim_row = next(
        r for r in store.run_traces(summary.run_id) if (r.scenario_id, r.trial) == ("s7", 3)
    )
    (trace,) = store.get_traces([victim_row.trace_id])
    root_span = next(s for s in trace.data.spans if s.parent_id is None)
    assert root_span.outputs.startswith("retried in ")  # the killed try left nothing behind
    assert root_span.outputs != f"retried in {victim}"


def test_resume_across_executors_runs_only_the_missing_trials(
    tmp_path: Path, store_uri: str, ray_address: str
) -> None:
    root = _project(tmp_path, store_uri, scenarios=3)
    (root / "victim.pid").write_text("done")  # no trial waits to be killed here
    local = run_suite(RunConfig.from_settings(load_settings(start=root), trials=2))
    assert local.written == 6
    store = TraceStore(store_uri, "scale")
    rows = store.run_traces(local.run_id)
    gone = [r for r in rows if r.scenario_id == "s1"]  # as if the local run had stopped early
    store.client.delete_traces(store.experiment_id, trace_ids=[r.trace_id for r in gone])
    resumed = run_suite(
        RunConfig.from_settings(
            load_settings(start=root), resume=local.run_id, executor="ray", address=ray_address
        )
    )
    assert (resumed.planned, resumed.skipped, resumed.written) == (2, 4, 2)
    counts = Counter((r.scenario_id, r.trial) for r in store.run_traces(local.run_id))
    assert len(counts) == 6 and set(counts.values()) == {1}


def test_cli_runs_on_ray_and_says_so_in_its_summary(
    tmp_path: Path, store_uri: str, ray_address: str
) -> None:
    root = _project(tmp_path, store_uri, scenarios=2)
    (root / "victim.pid").write_text("done")
    result = run_cli(root, "run", "--executor", "ray", "--address", ray_address, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["written"] == 2 and data["executor"] == "ray"


def test_an_unknown_executor_is_one_line_and_exit_2(tmp_path: Path, store_uri: str) -> None:
    root = _project(tmp_path, store_uri, scenarios=1)
    result = run_cli(root, "run", "--executor", "spark")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "costar: error: unknown executor 'spark' (choose one of: local, ray)"
    )
    assert TraceStore(store_uri, "scale").list_runs() == []  # nothing was started


HOLD_AGENT = """
import time
from pathlib import Path


def agent(ctx):
    if ctx.scenario_id.startswith("hold"):
        go = Path(__file__).parent / "go"
        deadline = time.monotonic() + 120
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return "done"
"""


def test_ctrl_c_on_ray_keeps_finished_trials_and_resume_runs_the_rest_locally(
    tmp_path: Path, store_uri: str, ray_address: str
) -> None:
    import subprocess
    import sys

    # quick ones first in the suite's order: the holding ones must not take both workers first
    files = {f"scenarios/{k}{i}.yaml": f"id: {k}{i}\ninput: x\n" for k in ("a-quick", "hold")
             for i in range(2)}  # fmt: skip
    files["hold_agent.py"] = HOLD_AGENT
    files["costar.toml"] = (
        f"[costar]\nagent = 'hold_agent:agent'\ntracking_uri = '{store_uri}'\n"
        "experiment = 'scale'\n"
    )
    write_files(tmp_path, files)
    proc = subprocess.Popen(
        [sys.executable, "-m", "costar.cli", "run", "--executor", "ray"]
        + ["--address", ray_address, "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = TraceStore(store_uri, "scale")
    deadline = time.monotonic() + 240
    while True:
        runs = store.list_runs() if proc.poll() is None else []
        if runs and len(store.run_traces(runs[0].run_id)) == 2:
            break
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    summary = json.loads(out)
    assert summary["status"] == "interrupted" and summary["executor"] == "ray"
    assert (summary["planned"], summary["written"], summary["cancelled"]) == (4, 2, 2)
    assert store.get_run(summary["run_id"]).status == "KILLED"

    (tmp_path / "go").touch()
    resumed = run_cli(tmp_path, "run", "--resume", summary["run_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    again = json.loads(resumed.stdout)
    assert (again["planned"], again["skipped"], again["written"]) == (2, 2, 2)
    assert again["executor"] == "local"
    counts = Counter((r.scenario_id, r.trial) for r in store.run_traces(summary["run_id"]))
    assert len(counts) == 4 and set(counts.values()) == {1}


def test_without_an_address_a_local_ray_is_started_for_the_run_and_stopped(
    tmp_path: Path, store_uri: str
) -> None:
    import ray

    root = _project(tmp_path, store_uri, scenarios=2)
    (root / "victim.pid").write_text("done")
    config = RunConfig.from_settings(load_settings(start=root), executor="ray", concurrency=2)
    summary = run_suite(config)
    assert (summary.executor, summary.written, summary.ok) == ("ray", 2, 2)
    assert not ray.is_initialized()  # the Ray it started is gone with the run
