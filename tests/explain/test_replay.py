"""Tool replay: recorded results served by (tool, arguments, occurrence), spans marked, live
fallback and strict misses, for in-process tools and a real subprocess agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _project import fake, make_project, refund_project  # noqa: F401 - fixtures

from _helpers import run_cli
from costar.config import load_settings
from costar.harness import ReplayConfig, RunConfig, run_suite
from costar.judges import TraceView
from costar.traces import TraceStore


def _run(project: Path, **flags) -> tuple[str, TraceView]:
    summary = run_suite(RunConfig.from_settings(load_settings(start=project), **flags))
    store = TraceStore(load_settings(start=project).store_uri())
    (row,) = store.run_traces(summary.run_id)
    (trace,) = store.get_traces([row.trace_id])
    return summary.run_id, TraceView.from_mlflow(trace)


def _fix_cache(project: Path) -> None:
    """The tool would now answer correctly if it ran."""
    path = project / "scenarios" / "refund-kettle.yaml"
    path.write_text(path.read_text().replace('"refunded"', '"delivered"'))


@pytest.mark.loop
def test_replay_serves_recorded_results_and_marks_the_spans(refund_project: Path, fake) -> None:
    fake()
    recorded, before = _run(refund_project)
    _fix_cache(refund_project)
    _, live = _run(refund_project)
    assert live.spans_of("TOOL", "lookup_order")[0].outputs["status"] == "delivered"

    _, replayed = _run(refund_project, replay=ReplayConfig(run_id=recorded[:10]))
    lookup = replayed.spans_of("TOOL", "lookup_order")[0]
    assert lookup.outputs["status"] == "refunded"  # the recorded answer, not the live one
    assert lookup.attributes["costar.replayed"] is True
    assert lookup.attributes["costar.replay.source"] == f"{before.trace_id}#3"
    assert [c.name for c in replayed.tool_calls()] == [c.name for c in before.tool_calls()]
    assert replayed.tags["costar.replay_of"] == recorded
    assert all(s.attributes.get("costar.replayed") for s in replayed.spans_of("TOOL"))


@pytest.mark.loop
def test_until_step_replays_the_first_steps_and_the_rest_runs_live(
    refund_project: Path, fake
) -> None:
    fake()
    recorded, _ = _run(refund_project)
    _, view = _run(refund_project, replay=ReplayConfig(run_id=recorded, until_step=3))
    lookup, policy = view.spans_of("TOOL")[:2]
    assert lookup.attributes.get("costar.replayed") is True
    assert "costar.replayed" not in policy.attributes
    assert view.tags["costar.replay.served"] == "1"


def test_a_call_with_no_recording_runs_live_or_fails_when_strict(
    refund_project: Path, fake
) -> None:
    fake()
    recorded, _ = _run(refund_project)
    path = refund_project / "scenarios" / "refund-kettle.yaml"
    path.write_text(path.read_text().replace("(order 1042)", "(order 1043)"))  # a new argument
    _, live = _run(refund_project, replay=ReplayConfig(run_id=recorded))
    lookup = live.spans_of("TOOL", "lookup_order")[0]
    assert lookup.inputs == {"order_id": 1043} and "costar.replayed" not in lookup.attributes
    assert "KeyError" in str(lookup.error)  # it ran live: the cache has no order 1043
    assert live.spans_of("TOOL", "read_policy")[0].attributes["costar.replayed"] is True
    assert live.tags["costar.replay.misses"] == "1"

    _, strict = _run(refund_project, replay=ReplayConfig(run_id=recorded, strict=True))
    lookup = strict.spans_of("TOOL", "lookup_order")[0]
    assert "no recording of lookup_order" in (lookup.error or "")
    assert lookup.attributes["costar.replay.miss"] is True


@pytest.mark.slow
def test_a_command_agent_is_served_through_the_replay_endpoint(project: Path, fake) -> None:
    make_project(project, command=True)
    fake()
    first = run_cli(project, "run", "--json")
    assert first.returncode == 0, first.stderr
    recorded = json.loads(first.stdout)["run_id"]
    _fix_cache(project)
    second = run_cli(project, "run", "--replay", recorded[:8], "--replay-tools", "lookup_order",
                     "--json")  # fmt: skip
    assert second.returncode == 0, second.stderr
    store = TraceStore(load_settings(start=project).store_uri())
    (row,) = store.run_traces(json.loads(second.stdout)["run_id"])
    (trace,) = store.get_traces([row.trace_id])
    view = TraceView.from_mlflow(trace)
    lookup = view.spans_of("TOOL", "lookup_order")[0]
    assert lookup.outputs["status"] == "refunded"
    assert lookup.attributes["costar.replayed"] is True
    assert "costar.replayed" not in view.spans_of("TOOL", "read_policy")[0].attributes

    bad = run_cli(project, "run", "--until-step", "3")
    assert bad.returncode == 2 and "need --replay RUN" in bad.stderr
