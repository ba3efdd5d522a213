"""What a Python agent's trial looks like in the stored trace, whatever the agent is built on:
turns are costar's spans, async code is awaited on one loop per trial, tool arguments are data,
a failure keeps its steps and traceback, and printed output stays out of costar's own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from _helpers import run_cli, write_files
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.judges import TraceView, build, metrics
from costar.scenarios import load_suite
from costar.traces import TraceStore

HERE = Path(__file__).parent


def _project(project: Path, scenarios: dict[str, str]) -> Path:
    shutil.copyfile(HERE / "_trial_agents.py", project / "_trial_agents.py")
    write_files(project, {f"scenarios/{k}.yaml": v for k, v in scenarios.items()})
    return project


def _run(project: Path, agent: str, **flags) -> list[TraceView]:
    settings = load_settings(start=project)
    summary = run_suite(RunConfig.from_settings(settings, agent=agent, **flags))
    return _views(project, summary.run_id)


def _views(project: Path, run_id: str) -> list[TraceView]:
    store = TraceStore(load_settings(start=project).store_uri())
    rows = sorted(store.run_traces(run_id), key=lambda r: (r.scenario_id, r.trial))
    return [TraceView.from_mlflow(t) for t in store.get_traces([r.trace_id for r in rows])]


def _scenario(project: Path, sid: str):
    suite = load_suite(project / "scenarios")
    return next(s.scenario for s in suite.scenarios if s.id == sid)


def test_framework_chain_spans_are_never_read_as_replies(project: Path) -> None:
    _project(project, {"s": "id: s\ninput: refund 1042\nexpectations: {facts: ['5 days']}\n"})
    (view,) = _run(project, "_trial_agents:framework_chain")
    chains = [s.name for s in view.spans_of("CHAIN")]
    assert sorted(chains) == ["RunnableSequence", "turn-1"]  # kept in the trace
    assert view.replies == ["I looked into it."]
    verdict = build("expected-facts").score(view, _scenario(project, "s"))
    assert verdict.passed is False  # the fact is only in a framework span: no false pass
    (turn,) = view.conversation()
    assert (turn.user, turn.reply) == ("refund 1042", "I looked into it.")


def test_async_agent_and_async_tool_are_awaited(project: Path) -> None:
    _project(project, {"s": "id: s\ninput: where is 42\n"})
    (view,) = _run(project, "_trial_agents:async_agent")
    assert view.status == "ok"
    assert view.replies == ["order 42 is shipped"]
    (call,) = view.tool_calls()
    assert (call.name, call.args, call.result) == (
        "slow_lookup",
        {"order_id": 42},
        {"order_id": 42, "status": "shipped"},
    )
    tool_span = view.span(call.span_id)
    assert tool_span.seconds >= 0.05  # the span closed after the tool ran, not at the coroutine


def test_one_loop_and_thread_per_trial_across_turns(project: Path) -> None:
    _project(project, {"m": "id: m\ninput: [a, b, c]\n"})
    (view,) = _run(project, "_trial_agents:LoopBound")
    assert view.status == "ok", view.error
    assert view.replies == [f"turn {i}: same loop and thread True" for i in range(3)]
    (view,) = _run(project, "_trial_agents:Methods.respond")
    assert view.replies == ["call 1", "call 2", "call 3"]  # one instance per trial
    (view,) = _run(project, "_trial_agents:sync_over_run_until_complete")
    assert view.replies == ["order 42 is shipped"] * 3


def test_tool_arguments_leave_out_context_objects_and_are_capped(project: Path) -> None:
    _project(project, {"s": "id: s\ninput: go\n"})
    (view,) = _run(project, "_trial_agents:context_agent")
    calls = {c.name: c.args for c in view.tool_calls()}
    assert calls["with_context"] == {"order_id": 7}
    assert set(calls["with_excluded"]) == {"query", "payload"}
    payload = calls["with_excluded"]["payload"]
    assert isinstance(payload, str) and len(payload) < 10_100 and "costar: cut" in payload


def test_agent_that_raises_keeps_its_steps_and_traceback(project: Path) -> None:
    _project(project, {"s": "id: s\ninput: order 9\n"})
    (view,) = _run(project, "_trial_agents:raiser")
    assert view.status == "error"
    assert [c.name for c in view.tool_calls()] == ["slow_lookup_sync"]
    attrs = view.root.attributes
    assert attrs["costar.exception.type"] == "builtins.ValueError"
    assert attrs["costar.exception.message"] == "bad order in order 9"
    assert 'in raiser\n    raise ValueError(f"bad order' in attrs["costar.exception.stacktrace"]
    assert attrs["costar.stdout"] == "about to fail\n"


def test_printing_agent_output_goes_to_its_own_trace_not_costar_json(project: Path) -> None:
    _project(project, {f"p{i}": f"id: p{i}\ninput: msg{i}\n" for i in range(4)})
    done = run_cli(
        project, "run", "-a", "_trial_agents:printer", "--trials", "2", "--concurrency", "4",
        "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # nothing else on stdout
    assert "stdout of" not in done.stderr
    views = _views(project, summary["run_id"])
    assert len(views) == 8
    for view in views:
        text = view.turns[0]
        assert view.root.attributes["costar.stdout"] == f"stdout of {text}\n"
        assert view.root.attributes["costar.stderr"] == f"stderr of {text}\n"


def test_token_metrics_without_llm_spans_are_not_measured(project: Path) -> None:
    _project(
        project,
        {"s": "id: s\ninput: where is 42\nexpectations: {budgets: {total_tokens: 10}}\n"},
    )
    (view,) = _run(project, "_trial_agents:async_agent")
    values = metrics(view)
    assert values["total_tokens"] is None and values["llm_calls"] == 0
    verdict = build("budgets").score(view, _scenario(project, "s"))
    assert verdict.status == "skipped" and verdict.passed is None
    assert "total_tokens" in verdict.rationale and "not measured" in verdict.rationale
    token = build("metric", params={"name": "total_tokens"}).score(view, None)
    assert (token.status, token.value) == ("skipped", None)
