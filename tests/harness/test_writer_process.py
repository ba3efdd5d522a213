"""The writer process of local runs: traces stored from a forked child, and nothing lost when
that child is killed mid-run (the run writes the rest itself, or spills them for --resume)."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _helpers import write_files
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.harness._run import PROCESS_WRITER_TRIALS
from costar.traces import TraceStore

pytestmark = pytest.mark.slow  # forked writers, killed by pid, and a real `costar run`

SLOW_AGENT = """
import time
def agent(ctx):
    time.sleep(0.02)
    return f"done {ctx.scenario_id}"
"""
SCENARIOS = 4
TRIALS = PROCESS_WRITER_TRIALS // SCENARIOS  # the fewest a writer process is started for
CONCURRENCY = 10


def suite(project: Path) -> None:
    files = {f"scenarios/s{i}.yaml": f"id: s{i}\ninput: question {i}\n" for i in range(SCENARIOS)}
    write_files(project, {"slow_agent.py": SLOW_AGENT, **files})


def config(project: Path, **flags):
    return RunConfig.from_settings(load_settings(start=project), **flags)


def stored_trials(project: Path, run_id: str) -> list[tuple[str, int]]:
    store = TraceStore(load_settings(start=project).store_uri())
    return sorted((row.scenario_id, row.trial) for row in store.run_traces(run_id))


def writer_children() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.name == "costar-writer"]


EVERY_TRIAL = sorted((f"s{i}", t) for i in range(SCENARIOS) for t in range(TRIALS))


def test_a_local_run_stores_its_traces_from_a_writer_process_and_leaves_none(
    project: Path,
) -> None:
    suite(project)
    seen: list[int] = []

    def progress(done: int, total: int, record: object) -> None:
        seen.extend(p.pid for p in writer_children() if p.pid is not None)

    summary = run_suite(
        config(project, agent="slow_agent:agent", trials=TRIALS, concurrency=CONCURRENCY), progress
    )
    assert summary.writer == "process" and summary.writer_note is None
    assert seen and os.getpid() not in seen  # another process wrote, while trials ran
    assert summary.written == summary.planned == len(EVERY_TRIAL)
    assert stored_trials(project, summary.run_id) == EVERY_TRIAL  # each trial exactly once
    assert writer_children() == []  # the run reaped its writer


def test_a_small_run_writes_from_its_own_thread(project: Path) -> None:
    suite(project)
    summary = run_suite(config(project, agent="slow_agent:agent", trials=2))  # 8 trials
    assert summary.writer == "thread"
    assert stored_trials(project, summary.run_id) == sorted(
        (f"s{i}", t) for i in range(SCENARIOS) for t in range(2)
    )


def test_a_run_that_fits_in_one_wave_writes_from_its_own_thread(project: Path) -> None:
    suite(project)
    flags = {"trials": TRIALS, "concurrency": len(EVERY_TRIAL)}  # every trial at once
    summary = run_suite(config(project, agent="slow_agent:agent", **flags))
    assert summary.writer == "thread"
    assert stored_trials(project, summary.run_id) == EVERY_TRIAL


def test_killing_the_writer_process_mid_run_loses_no_trial(project: Path) -> None:
    suite(project)
    killed: list[int] = []

    def progress(done: int, total: int, record: object) -> None:
        if done == 20:  # some batches stored, most trials still to come
            (child,) = writer_children()
            assert child.pid is not None
            os.kill(child.pid, signal.SIGKILL)
            killed.append(child.pid)

    summary = run_suite(
        config(project, agent="slow_agent:agent", trials=TRIALS, concurrency=CONCURRENCY), progress
    )
    assert killed, "the run had no writer process to kill"
    assert summary.writer_note is not None
    assert f"pid {killed[0]}" in summary.writer_note and "signal 9" in summary.writer_note
    assert summary.written + summary.spilled == summary.planned == len(EVERY_TRIAL)
    assert summary.unsaved == 0
    if summary.spilled:  # the store refused them after the kill: --resume stores them
        resumed = run_suite(config(project, resume=summary.run_id))
        assert resumed.recovered == summary.spilled
    assert stored_trials(project, summary.run_id) == EVERY_TRIAL  # none lost, none twice
    assert writer_children() == []


def test_ctrl_c_to_the_whole_group_leaves_the_writer_process_writing(project: Path) -> None:
    """A terminal's Ctrl-C reaches every process of the group: the child keeps writing what
    the run sends it, the run stops and stays resumable, and nothing is lost."""
    suite(project)
    slow = SLOW_AGENT.replace("0.02", "0.2")  # the run lasts long enough to be interrupted
    write_files(project, {"slow_agent.py": slow})
    proc = subprocess.Popen(
        [sys.executable, "-m", "costar.cli", "run", "-a", "slow_agent:agent", "--json"]
        + ["-n", str(TRIALS), "-c", str(CONCURRENCY)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal's foreground job
    )
    db = project / ".costar" / "mlflow.db"
    deadline = time.monotonic() + 120  # a guard against hanging, not a timing assertion
    while _stored(db) < 2 * CONCURRENCY:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no traces stored in 120 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err, err
    summary = json.loads(out)
    assert summary["status"] == "interrupted" and summary["writer"] == "process"
    assert summary["writer_note"] is None  # the child ignored the Ctrl-C
    assert summary["written"] + summary["cancelled"] == summary["planned"] == len(EVERY_TRIAL)
    assert summary["spilled"] == summary["unsaved"] == 0

    resumed = run_suite(config(project, resume=summary["run_id"]))
    assert resumed.written == summary["cancelled"]
    assert stored_trials(project, summary["run_id"]) == EVERY_TRIAL


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        try:
            return int(conn.execute("select count(*) from trace_info").fetchone()[0])
        except sqlite3.OperationalError:  # locked by the writer right now
            return 0
