"""Faults as a user meets them: real `costar run` subprocesses, real signals, real unwritable
folders (what comes after the fault, a resume or a second run, runs in process). Every test
counts trials exactly: planned = written + spilled + unsaved (+ cancelled when interrupted),
never less, and what a run could not keep is said and resumable.

A folder root cannot write to: tests here run as root, for whom `chmod` changes nothing, so
`read_only` sets the immutable attribute (`chattr +i`): the kernel then refuses to create,
rename or delete entries in that folder for every user, root included, until it is cleared.
Files already open stay usable, which is what a folder going read-only mid-run looks like.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.agents import resolve_agent
from costar.config import load_settings
from costar.harness import TrialOptions, run_trial
from costar.scenarios import load_suite
from costar.traces import TraceStore, TraceWriter, TrialRecord, Turn, load_spill, new_span_id
from costar.traces._record import SpanRecord

AGENT = f"cmd:{sys.executable} {Path(__file__).parent / 'fault_agent.py'}"
COSTAR = [sys.executable, "-m", "costar.cli"]


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` refuses new entries, for root too (see the module docstring)."""
    if os.geteuid() == 0:
        if not shutil.which("chattr"):
            pytest.skip("chattr is needed to make a folder read-only for root")
        subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        undo = ["chattr", "-i", str(folder)]
    else:
        folder.chmod(0o555)
        undo = ["chmod", "755", str(folder)]
    try:
        probe = folder / "probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip(f"this file system lets {folder} be written anyway")
        yield
    finally:
        subprocess.run(undo, check=True)


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    path = tmp_path / "marks"
    path.mkdir()
    return path


@pytest.fixture
def env(tmp_path: Path, marks: Path) -> dict[str, str]:
    """The agent's mark folder, and a temp folder of its own so leaked workspaces show."""
    (tmp_path / "tmp").mkdir()
    return {**os.environ, "MARK_DIR": str(marks), "TMPDIR": str(tmp_path / "tmp")}


def start(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COSTAR, "run", "-a", AGENT, "--json", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def costar(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`costar ARGS` in this process, with the agent's marks: for the steps after a fault (the
    resume, a second run), where no signal or folder of a process is under test."""
    return run_cli(project, *args, env={key: env[key] for key in ("MARK_DIR", "TMPDIR")})


def wait_for(what: str, ready: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    """Poll until `ready()`; a guard against hanging, not a timing assertion."""
    deadline = time.monotonic() + 120
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"costar ended before {what}: {proc.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"waited 120 s for {what}")
        time.sleep(0.02)


def held(marks: Path) -> list[list[int]]:
    return [[int(p) for p in f.read_text().split()] for f in marks.glob("*.held")]


def stored_traces(project: Path) -> int:
    db = project / ".costar" / "mlflow.db"
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        try:
            return conn.execute("select count(*) from trace_info").fetchone()[0]
        except sqlite3.OperationalError:  # locked by a writer right now
            return 0


def finish(proc: subprocess.Popen[str]) -> tuple[dict, str]:
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    return json.loads(out), err


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping is left


def shown(project: Path, run_id: str) -> dict:
    done = run_cli(project, "show", run_id, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def suite(count: int, text: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    files = {f"scenarios/{text}{i}.yaml": f"id: {text}{i}\ninput: {text}\n" for i in range(count)}
    return {**files, **(extra or {})}


# -- 1. spilling fails: the trials are named, exit 3, and resume runs them -----------------------


@pytest.mark.slow
def test_unsaved_trials_are_named_with_exit_3_and_resume_runs_them(project, env, marks) -> None:
    write_files(project, suite(4, "hold"))
    proc = start(project, env, "-c", "4")
    wait_for("4 agents holding", lambda: len(held(marks)) == 4, proc)
    with read_only(project / ".costar"):  # neither the store's journal nor unsaved/ can be made
        (marks / "go").touch()
        summary, err = finish(proc)
    assert proc.returncode == 3, err
    assert (summary["planned"], summary["written"], summary["spilled"]) == (4, 0, 0)
    assert summary["unsaved"] == 4 and summary["cancelled"] == 0
    assert sorted(summary["unsaved_trials"]) == [f"hold{i}#0" for i in range(4)]
    assert "4 trials were not saved" in err and str(project / ".costar" / "unsaved") in err
    assert f"costar run --resume {summary['run_id']}" in err

    resumed = costar(project, env, "run", "--resume", summary["run_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    again = json.loads(resumed.stdout)
    assert (again["planned"], again["written"], again["ok"]) == (4, 4, 4)
    assert shown(project, summary["run_id"])["traces"] == 4


def test_the_writer_never_drops_a_trial_it_can_neither_store_nor_spill(tmp_path: Path) -> None:
    def store_down(records: list[TrialRecord]) -> set[str]:
        raise ConnectionError("store unreachable")

    blocker = tmp_path / "unsaved"
    blocker.write_text("a regular file where the spill folder should be")
    # batches of 2: the writer thread must outlive the first failed spill to take the third
    writer = TraceWriter(store_down, blocker / "run.jsonl", batch_size=2, retries=1, backoff=0.01)
    records = [TrialRecord("r", "s", i, "ok", [Turn(user="hi")], 1, 2) for i in range(3)]
    for record in records:
        writer.submit(record)
    report = writer.close()
    assert (report.written, report.spilled) == ([], 0)
    assert [r.trial for r in report.unsaved] == [0, 1, 2]
    assert f"cannot write {blocker / 'run.jsonl'}" in (report.unsaved_error or "")

    blocker.unlink()  # the folder can be made again: the last try at close spills them
    writer = TraceWriter(store_down, blocker / "run.jsonl", retries=0)
    writer.report.unsaved = list(report.unsaved)
    report = writer.close()
    assert (report.spilled, report.unsaved) == (3, [])
    assert [r.trial for r in load_spill(blocker / "run.jsonl")] == [0, 1, 2]


# -- 2. values no workspace can hold ----------------------------------------------------------


def test_nul_bytes_in_setup_are_refused_at_load_with_one_line_each(project, env) -> None:
    write_files(
        project,
        {
            "scenarios/ok.yaml": "id: ok\ninput: quick\n",
            "scenarios/f.yaml": 'id: f\ninput: quick\nsetup:\n  files:\n    "a\\0b": x\n',
            "scenarios/e.yaml": 'id: e\ninput: quick\nsetup:\n  env:\n    X: "a\\0b"\n',
        },
    )
    done = costar(project, env, "run", "-a", AGENT)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = sorted(done.stderr.strip().splitlines())
    assert len(lines) == 2
    assert "e.yaml:5:" in lines[0] and "setup.env" in lines[0] and "NUL byte" in lines[0]
    assert "f.yaml:5:" in lines[1] and "setup.files" in lines[1] and "NUL byte" in lines[1]
    assert run_cli(project, "runs", "--json").stdout.strip() == "[]"


def test_a_trial_whose_setup_the_os_refuses_is_recorded_and_leaves_no_workspace(
    project, tmp_path
) -> None:
    """Scenarios built in code skip file validation: the harness still records every trial."""
    write_files(project, suite(1, "quick"))
    (item,) = load_suite(project / "scenarios").scenarios
    workspaces = tmp_path / "workspaces"
    options = TrialOptions("run", 30, 30, workspaces, False, {})
    agent = resolve_agent(AGENT, project, [])
    item.scenario.setup.env["X"] = "a\0b"  # the agent's process cannot be started
    refused_env = run_trial(item, 0, agent, options, threading.Event())
    item.scenario.setup.env.clear()
    item.scenario.setup.files["a\0b"] = "x"  # the file cannot be created
    refused_file = run_trial(item, 1, agent, options, threading.Event())
    assert refused_env is not None and refused_env.status == "error"
    assert "embedded null byte" in (refused_env.error or "")
    assert refused_file is not None and refused_file.status == "error"
    assert (refused_file.error or "").startswith("setup failed: building the workspace failed")
    assert list(workspaces.iterdir()) == []


# -- 3. text no store can encode --------------------------------------------------------------


def test_a_lone_surrogate_is_stored_escaped_and_its_batch_lands(store_uri: str) -> None:
    store = TraceStore(store_uri)
    records = []
    for i in range(5):
        bad = "bad \ud800 text" if i == 2 else f"reply {i}"
        turn = Turn(user="hi\udfff", reply=bad, start_ns=1)
        record = TrialRecord("r", "s", i, "ok", [turn], 1, 2)
        record.root_span_id = new_span_id()
        record.spans = [SpanRecord(name="tool\ud800", inputs={"q\udc00": bad}, error=bad)]
        record.stderr = bad
        records.append(record)
    assert store.write(records) == {r.trace_id for r in records}
    (trace,) = store.get_traces([records[2].trace_id])
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.outputs == "bad \\ud800 text" and root.inputs == "hi\\udfff"
    tool = next(s for s in trace.data.spans if s.name == "tool\\ud800")
    assert tool.inputs == {"q\\udc00": "bad \\ud800 text"}


def test_one_trial_the_store_rejects_does_not_sink_its_batch(store_uri: str, tmp_path) -> None:
    store = TraceStore(store_uri)
    records = [TrialRecord("r", "s", i, "ok", [Turn(user="hi")], 1, 2) for i in range(4)]
    records[1].trace_id = "tr-not-a-hex-trace-id"  # the store cannot convert this one
    writer = TraceWriter(store.write, tmp_path / "spill.jsonl", backoff=0.01)
    for record in records:
        writer.submit(record)
    report = writer.close()
    assert sorted(report.written) == sorted(r.trace_id for i, r in enumerate(records) if i != 1)
    assert report.spilled == 1 and not report.unsaved
    assert [r.trace_id for r in load_spill(tmp_path / "spill.jsonl")] == [records[1].trace_id]


@pytest.mark.slow
def test_resume_recovers_spilled_trials_holding_invalid_text(project, env, marks) -> None:
    write_files(project, suite(2, "hold", suite(1, "surrogate")))
    (project / ".costar" / "unsaved").mkdir()  # stays writable when .costar does not
    proc = start(project, env, "-c", "3")
    wait_for("2 agents holding", lambda: len(held(marks)) == 2, proc)
    with read_only(project / ".costar"):  # the store cannot write; the spill folder can
        (marks / "go").touch()
        summary, err = finish(proc)
    assert proc.returncode == 3, err
    assert (summary["planned"], summary["written"], summary["spilled"]) == (3, 0, 3)
    assert summary["unsaved"] == 0

    resumed = costar(project, env, "run", "--resume", summary["run_id"], "--json")
    assert resumed.returncode == 0 and "Traceback" not in resumed.stderr, resumed.stderr
    again = json.loads(resumed.stdout)
    assert (again["planned"], again["recovered"], again["written"]) == (0, 3, 3)
    assert not (project / ".costar" / "unsaved" / f"{summary['run_id']}.jsonl").exists()
    data = shown(project, summary["run_id"])
    assert data["traces"] == 3 and data["status"] == "FINISHED"
    store = TraceStore(load_settings(start=project).store_uri())
    (row,) = [r for r in store.run_traces(summary["run_id"]) if r.scenario_id == "surrogate0"]
    (trace,) = store.get_traces([row.trace_id])
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.outputs == "bad \\ud800 text"


# -- 4. creating the store ----------------------------------------------------------------------


def new_project(root: Path) -> Path:
    write_files(root, {"costar.toml": "[costar]\nsuite = 'scenarios'\n", **suite(2, "hold")})
    return root


def migrating(folder: Path) -> bool:
    """Whether MLflow is amid a migration step in a SQLite file of `folder` (it copies a table
    into `_alembic_tmp_<name>`; an interruption there used to break the store for good)."""
    for db in folder.glob("mlflow.db*"):
        try:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                query = "select count(*) from sqlite_master where name like '_alembic_tmp_%'"
                if conn.execute(query).fetchone()[0]:
                    return True
        except sqlite3.Error:
            continue  # being written, renamed away, or not a database: look again
    return False


@pytest.mark.slow
def test_ctrl_c_while_the_store_is_created_leaves_no_broken_store(tmp_path, env, marks) -> None:
    project = new_project(tmp_path / "fresh")
    costar_dir = project / ".costar"
    proc = start(project, env)
    # amid a migration step, or (if polling missed every step) once the run holds its agents
    wait_for("a migration step", lambda: migrating(costar_dir) or bool(held(marks)), proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err, err

    (marks / "go").touch()
    done = costar(project, env, "run", "-a", AGENT, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["planned"] == summary["written"] == 2
    assert sorted(p.name for p in costar_dir.glob("mlflow.db*")) == [
        "mlflow.db",
        "mlflow.db.lock",
    ]


def test_a_store_left_half_made_by_an_older_costar_is_made_again(tmp_path, template_db) -> None:
    db = tmp_path / ".costar" / "mlflow.db"
    db.parent.mkdir()
    shutil.copyfile(template_db, db)
    with contextlib.closing(sqlite3.connect(db)) as conn:  # what an interrupted migration left
        conn.execute("update alembic_version set version_num = '0584bdc529eb'")
        conn.execute("create table _alembic_tmp_latest_metrics (key text)")
        conn.commit()
    store = TraceStore(f"sqlite:///{db}")
    run_id = store.create_run("r", {}, tags={"costar.kind": "run"})
    assert [r.run_id for r in store.list_runs()] == [run_id]
    assert len(list(db.parent.glob("mlflow.db.interrupted-*"))) == 1
    # a store holding data is never touched, whatever its state
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("create table _alembic_tmp_latest_metrics (key text)")
        conn.commit()
    assert TraceStore(f"sqlite:///{db}").get_run(run_id).run_id == run_id


@pytest.mark.slow
def test_two_first_runs_together_share_one_working_store(tmp_path, env, marks) -> None:
    project = new_project(tmp_path / "fresh")
    (marks / "go").touch()
    procs = [start(project, env) for _ in range(2)]
    summaries = []
    for proc in procs:
        summary, err = finish(proc)
        assert proc.returncode == 0, err
        summaries.append(summary)
    assert [s["written"] for s in summaries] == [2, 2]
    listed = json.loads(run_cli(project, "runs", "--json").stdout)
    assert sorted(r["run_id"] for r in listed) == sorted(s["run_id"] for s in summaries)


# -- 5. SIGTERM stops a run as Ctrl-C does ------------------------------------------------------


@pytest.mark.slow
def test_sigterm_stops_agents_cleans_workspaces_and_leaves_a_resumable_run(
    project, env, marks, tmp_path
) -> None:
    write_files(project, suite(2, "quick", suite(2, "hold")))
    proc = start(project, env, "-c", "4")
    wait_for("2 agents holding", lambda: len(held(marks)) == 2, proc)
    wait_for("the 2 quick trials stored", lambda: stored_traces(project) == 2, proc)
    proc.send_signal(signal.SIGTERM)
    summary, err = finish(proc)
    assert proc.returncode == 130, err
    assert summary["status"] == "interrupted"
    assert (summary["planned"], summary["written"], summary["cancelled"]) == (4, 2, 2)
    assert not [pid for pair in held(marks) for pid in pair if alive(pid)]
    assert list((tmp_path / "tmp").iterdir()) == []  # no workspace left behind
    assert shown(project, summary["run_id"])["status"] == "KILLED"

    (marks / "go").touch()
    resumed = costar(project, env, "run", "--resume", summary["run_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    again = json.loads(resumed.stdout)
    assert (again["planned"], again["skipped"], again["written"], again["ok"]) == (2, 2, 2, 2)
    data = shown(project, summary["run_id"])
    assert data["traces"] == 4 and data["status"] == "FINISHED"
