"""MLflow spans made inside a Python agent (autolog or @mlflow.trace) land in its trial's trace.

Runs in a subprocess: switching autolog on changes MLflow's process-wide tracing settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from _helpers import write_files

AGENT = """
import mlflow

@mlflow.trace(span_type="TOOL")
def lookup(order_id: int) -> dict:
    return {"order_id": order_id, "status": "shipped"}

@mlflow.trace(span_type="CHAIN")
def plan(text: str) -> str:
    return "lookup " + str(lookup(int(text.split()[-1]))["status"])

def agent(ctx):
    return plan(ctx.input)
"""


@pytest.mark.slow
def test_mlflow_spans_in_the_agent_are_captured_into_the_trial(project: Path) -> None:
    write_files(
        project,
        {
            "traced_agent.py": AGENT,
            "scenarios/a.yaml": "id: a\ninput: order 42\n",
            "costar.toml": "[costar]\nautolog = ['tracing']\n",
        },
    )
    done = subprocess.run(
        [sys.executable, "-m", "costar.cli", "run", "-a", "traced_agent:agent", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    probe = (
        "import json, sys\n"
        "from costar.traces import TraceStore\n"
        f"s = TraceStore('sqlite:///{project}/.costar/mlflow.db')\n"
        f"(row,) = s.run_traces('{run_id}')\n"
        "(t,) = s.get_traces([row.trace_id])\n"
        "print(json.dumps([[x.name, x.span_type, x.inputs, x.outputs, x.parent_id is None]\n"
        "                  for x in t.data.spans]))\n"
        f"scratch = TraceStore('sqlite:///{project}/.costar/autolog.db',\n"
        "                     'costar-autolog-capture')\n"
        "print(len(list(scratch.search())))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    spans_line, scratch_line = out.stdout.strip().splitlines()[-2:]
    spans = {name: rest for name, *rest in json.loads(spans_line)}
    assert spans["plan"][:2] == ["CHAIN", {"text": "order 42"}]
    assert spans["lookup"][1:3] == [{"order_id": 42}, {"order_id": 42, "status": "shipped"}]
    assert "costar.autolog.capture" not in spans  # the capture span itself is dropped
    assert spans["a"][-1] is True and spans["a"][2] == "lookup shipped"  # the root
    assert scratch_line == "0"  # scratch traces are deleted after capture


@pytest.mark.slow
def test_unknown_autolog_flavour_is_a_usage_error(project: Path) -> None:
    write_files(
        project,
        {
            "traced_agent.py": AGENT,
            "scenarios/a.yaml": "id: a\ninput: x 1\n",
            "costar.toml": "[costar]\nautolog = ['nosuchsdk']\n",
        },
    )
    done = subprocess.run(
        [sys.executable, "-m", "costar.cli", "run", "-a", "traced_agent:agent"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2 and "autolog flavour 'nosuchsdk'" in done.stderr
    from costar.config import Project

    assert not Project.at(project).autolog_db.exists()  # refused before any store was made


NESTED_AGENT = """
import mlflow

USAGE = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}

def call_model(text):
    # a framework's LLM span around the SDK's own LLM span: one request, two spans
    with mlflow.start_span("Generation", span_type="CHAT_MODEL") as outer:
        outer.set_attribute("mlflow.chat.tokenUsage", USAGE)
        with mlflow.start_span("AsyncCompletions", span_type="CHAT_MODEL") as inner:
            inner.set_attribute("mlflow.chat.tokenUsage", USAGE)
            inner.set_outputs("thinking about " + text)

@mlflow.trace(span_type="TOOL")
def lookup(order_id: int) -> dict:
    return {"order_id": order_id}

@mlflow.trace(span_type="CHAIN")
def graph(text):
    call_model(text)
    lookup(7)
    call_model(text)
    raise RuntimeError("graph failed at step 3")

def agent(ctx):
    return graph(ctx.input)
"""


@pytest.mark.slow
def test_agent_that_raises_under_autolog_keeps_every_span_counted_once(project: Path) -> None:
    from costar.judges import TraceView, metrics
    from costar.traces import TraceStore

    write_files(
        project,
        {
            "nested_agent.py": NESTED_AGENT,
            "scenarios/a.yaml": "id: a\ninput: order 7\n",
            "costar.toml": "[costar]\nautolog = ['tracing']\n",
        },
    )
    done = subprocess.run(
        [sys.executable, "-m", "costar.cli", "run", "-a", "nested_agent:agent", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode in (0, 1), done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    store = TraceStore(f"sqlite:///{project}/.costar/mlflow.db")
    (row,) = store.run_traces(run_id)
    (trace,) = store.get_traces([row.trace_id])
    view = TraceView.from_mlflow(trace)
    assert view.status == "error"
    assert [c.name for c in view.tool_calls()] == ["lookup"]  # steps before the error kept
    assert view.root.attributes["costar.exception.message"] == "graph failed at step 3"
    assert "in graph" in view.root.attributes["costar.exception.stacktrace"]
    assert view.replies == [None]  # the framework's CHAIN span is not a reply
    values = metrics(view)
    assert (values["llm_calls"], values["total_tokens"]) == (2, 30)  # not 4 and 60
    scratch = TraceStore(f"sqlite:///{project}/.costar/autolog.db", "costar-autolog-capture")
    assert list(scratch.search()) == []  # the scratch traces were deleted
