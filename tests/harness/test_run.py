"""run_suite end to end against a real MLflow store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from _helpers import write_files
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.traces import TraceStore

SUITE = {
    "scenarios/single.yaml": "id: single\ntags: [common]\ninput: hello\n",
    "scenarios/multi.yaml": "id: multi\ntags: [edge]\ninput: [first, second, third]\n",
    "scenarios/db.yaml": """
        id: db
        input: write
        setup:
          sqlite:
            app.db: {items: [{name: old, qty: 0}]}
        """,
    "scenarios/bad-setup.yaml": "id: bad-setup\ninput: x\nsetup:\n  commands: ['exit 1']\n",
}


def config(project: Path, **flags):
    return RunConfig.from_settings(load_settings(start=project), **flags)


def traces_by_scenario(project: Path, run_id: str) -> dict[str, list]:
    store = TraceStore(load_settings(start=project).store_uri())
    out: dict[str, list] = {}
    for row in store.run_traces(run_id):
        out.setdefault(row.scenario_id, []).append(row)
    return out


def test_every_trial_becomes_one_trace(project: Path) -> None:
    write_files(project, SUITE)
    summary = run_suite(config(project, agent="sample_agents:counter", trials=3))
    assert summary.status == "finished"
    assert summary.planned == summary.written == 12
    assert (summary.ok, summary.error, summary.timeout) == (9, 3, 0)
    stored = traces_by_scenario(project, summary.run_id)
    assert {k: len(v) for k, v in stored.items()} == {
        "single": 3,
        "multi": 3,
        "db": 3,
        "bad-setup": 3,
    }
    assert sorted(r.trial for r in stored["multi"]) == [0, 1, 2]
    assert {r.status for r in stored["bad-setup"]} == {"error"}


def test_multi_turn_history_and_final_state_reach_the_trace(project: Path) -> None:
    write_files(project, SUITE)
    summary = run_suite(config(project, agent="sample_agents:db_writer", scenarios=["db"]))
    store = TraceStore(load_settings(start=project).store_uri())
    (row,) = store.run_traces(summary.run_id)
    (trace,) = store.get_traces([row.trace_id])
    snapshot = next(s for s in trace.data.spans if s.name == "final_state").outputs
    table = snapshot["sqlite"]["app.db"]["tables"]["items"]
    assert table["rows"] == [["old", 0], ["new", 1]]
    assert {f["path"]: f.get("text") for f in snapshot["files"]}["out.txt"] == "done"

    summary = run_suite(config(project, agent="sample_agents:counter", scenarios=["multi"]))
    (row,) = store.run_traces(summary.run_id)
    (trace,) = store.get_traces([row.trace_id])
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.outputs == "turn 2 saw 4 messages"
    assert [s.name for s in trace.data.spans if s.span_type == "CHAIN"] == [
        "turn-1",
        "turn-2",
        "turn-3",
    ]


def test_agent_crash_and_timeout_are_recorded_not_raised(project: Path, monkeypatch) -> None:
    write_files(project, SUITE)
    crashed = run_suite(config(project, agent="sample_agents:crash", scenarios=["single"]))
    assert (crashed.error, crashed.written) == (1, 1)
    monkeypatch.setenv("SLEEP", "3")
    slow = run_suite(
        config(project, agent="sample_agents:sleepy", scenarios=["single"], timeout=0.3)
    )
    assert (slow.timeout, slow.written) == (1, 1)
    store = TraceStore(load_settings(start=project).store_uri())
    (row,) = store.run_traces(crashed.run_id)
    (trace,) = store.get_traces([row.trace_id])
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.status.description.startswith("RuntimeError: agent blew up")
    failed_tool = next(s for s in trace.data.spans if s.name == "fail_lookup")
    assert failed_tool.status.status_code.value == "ERROR"


def test_failed_turn_keeps_the_whole_conversation_in_the_trace(project: Path) -> None:
    write_files(project, SUITE)
    summary = run_suite(config(project, agent="sample_agents:crash", scenarios=["multi"]))
    store = TraceStore(load_settings(start=project).store_uri())
    (row,) = store.run_traces(summary.run_id)
    (trace,) = store.get_traces([row.trace_id])
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.inputs == {"turns": ["first", "second", "third"]}
    assert root.status.description.endswith("(turn 1 of 3; later turns not run)")
    assert [s.name for s in trace.data.spans if s.span_type == "CHAIN"] == ["turn-1"]


def test_resume_runs_only_trials_without_a_trace(project: Path) -> None:
    write_files(project, SUITE)
    first = run_suite(config(project, agent="sample_agents:echo", trials=3, scenarios=["single"]))
    store = TraceStore(load_settings(start=project).store_uri())
    rows = sorted(store.run_traces(first.run_id), key=lambda r: r.trial)
    store.client.delete_traces(store.experiment_id, trace_ids=[rows[1].trace_id])
    # the project's default agent differs: the resumed run must keep its own
    (project / "costar.toml").write_text("[costar]\nagent = 'sample_agents:crash'\n")
    resumed = run_suite(config(project, resume=first.run_id[:8]))
    assert (resumed.planned, resumed.skipped, resumed.written) == (1, 2, 1)
    assert (resumed.ok, resumed.agent) == (1, "sample_agents:echo")
    after = store.run_traces(first.run_id)
    assert sorted(r.trial for r in after) == [0, 1, 2]
    assert store.get_run(first.run_id).status == "FINISHED"


def test_unknown_run_to_resume_is_a_usage_error(project: Path) -> None:
    from costar._exceptions import NotFoundError

    write_files(project, SUITE)
    with pytest.raises(NotFoundError, match="no run 'feedbeef'"):
        run_suite(config(project, agent="sample_agents:echo", resume="feedbeef"))


def test_keep_workspaces_leaves_the_folder_and_records_it(project: Path) -> None:
    write_files(project, SUITE)
    summary = run_suite(
        config(project, agent="sample_agents:db_writer", scenarios=["db"], keep_workspaces=True)
    )
    store = TraceStore(load_settings(start=project).store_uri())
    (row,) = store.run_traces(summary.run_id)
    (trace,) = store.get_traces([row.trace_id])
    kept = Path(trace.info.tags["costar.workspace"])
    with sqlite3.connect(kept / "app.db") as conn:
        assert conn.execute("select count(*) from items").fetchone() == (2,)
