"""`costar import conversation`: generic multi-agent message logs, one span per message with its
step index, explained like costar's own traces."""

from __future__ import annotations

import json
from pathlib import Path

from _helpers import run_cli
from costar.config import load_settings
from costar.explain import ExplainConfig, explain
from costar.importers import import_file
from costar.judges import TraceView
from costar.llm import FakeLLM, close_clients
from costar.traces import TraceStore
from costar.traces._steps import trace_steps

LOG = {
    "id": "task-7",
    "question": "How many moons does Mars have?",
    "passed": False,
    "mistake_agent": "WebSurfer",
    "mistake_step": 2,
    "history": [
        {"role": "human", "content": "How many moons does Mars have?"},
        {"role": "assistant", "name": "Orchestrator", "content": "WebSurfer, search for it."},
        {"role": "assistant", "name": "WebSurfer", "content": "Mars has one moon, Phobos."},
        {"role": "assistant", "name": "Orchestrator", "content": "FINAL ANSWER: 1"},
    ],
}


def _import(project: Path, path: Path):
    settings = load_settings(start=project)
    return import_file(
        "conversation", path, project, settings.store_uri(), verdict_store=settings.verdict_url()
    )


def _views(project: Path, run_id: str) -> list[TraceView]:
    store = TraceStore(load_settings(start=project).store_uri())
    ids = [r.trace_id for r in store.run_traces(run_id)]
    return [TraceView.from_mlflow(t) for t in store.get_traces(ids)]


def test_each_message_is_a_span_with_its_step_index_and_agent(project: Path) -> None:
    path = project / "logs.json"
    path.write_text(json.dumps([LOG, {**LOG, "id": "task-8", "passed": True}]))
    summary = _import(project, path)
    assert (summary.records, summary.written, summary.verdicts) == (2, 2, 2)
    view = next(v for v in _views(project, summary.run_id) if v.scenario_id == "task-7")
    steps = trace_steps(list(view.spans))
    assert [(s.index, s.kind, s.agent) for s in steps] == [
        (0, "user_turn", "human"),
        (1, "llm", "Orchestrator"),
        (2, "llm", "WebSurfer"),
        (3, "llm", "Orchestrator"),
    ]
    assert steps[2].outputs == "Mars has one moon, Phobos."
    assert view.tags["costar.label.mistake_step"] == "2"
    assert view.output == "FINAL ANSWER: 1"


def test_jsonl_of_messages_is_one_conversation_and_a_bad_line_is_one_clear_error(
    project: Path,
) -> None:
    path = project / "chat.jsonl"
    path.write_text("".join(json.dumps(m) + "\n" for m in LOG["history"]))
    summary = _import(project, path)
    (view,) = _views(project, summary.run_id)
    assert len(trace_steps(list(view.spans))) == 4
    bad = project / "bad.json"
    bad.write_text(json.dumps({"messages": [{"content": "no role"}]}))
    done = run_cli(project, "import", "conversation", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip().endswith("message 0 needs a 'role' string (and 'content')")
    assert "bad.json:1" in done.stderr and "Traceback" not in done.stderr


def test_an_imported_failure_is_explained_by_agent_and_step_but_not_replayed(
    project: Path, monkeypatch
) -> None:
    path = project / "log.json"
    path.write_text(json.dumps(LOG))
    summary = _import(project, path)
    blame = {
        "step": 2,
        "kind": "llm",
        "reason": "wrong count",
        "confidence": 0.7,
        "correction": "Mars has two moons, Phobos and Deimos.",
    }
    rules = [
        {
            "when": {"system": "costar's attributor"},
            "reply": {"tool_calls": [{"name": "blame", "arguments": blame}]},
        }
    ]
    with FakeLLM({"version": 1, "rules": rules}) as fake:
        for key, value in fake.env("openai:/scripted").items():
            monkeypatch.setenv(key, value)
        settings = load_settings(start=project)
        config = ExplainConfig(
            root=project, tracking_uri=settings.store_uri(), target=summary.run_id, verify=True
        )
        (a,) = explain(config).attributions
        close_clients()
    assert (a.judge, a.step, a.agent, a.kind) == ("imported:reward", 2, "WebSurfer", "llm")
    assert a.status == "unverifiable"
