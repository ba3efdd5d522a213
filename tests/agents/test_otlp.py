"""Command and HTTP agents send OpenTelemetry spans instead of event code: OTLP over HTTP to the
collector costar runs per trial (protobuf and JSON), or an OTLP JSON line in the event file."""

from __future__ import annotations

import json
import shutil
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.config import load_settings
from costar.judges import TraceView, metrics
from costar.traces import TraceStore

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


def _views(project: Path, agent: str) -> list[TraceView]:
    # a real `costar run` process: storing LLM spans in this process would make MLflow import
    # litellm here, which later tests (align) must import under their own warning filters
    done = run_cli(project, "run", "--agent", agent, "--json")
    assert done.returncode in (0, 1), done.stderr[-2000:]
    store = TraceStore(load_settings(start=project).store_uri())
    rows = store.run_traces(json.loads(done.stdout)["run_id"])
    return [TraceView.from_mlflow(t) for t in store.get_traces([r.trace_id for r in rows])]


def _otlp_json(span_id: str, parent: str, name: str, attributes: dict) -> dict:
    attrs = [
        {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
        for k, v in attributes.items()
    ]
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000500000000",
        "attributes": attrs,
        "status": {},
    }
    return {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}


def test_command_agent_exports_genai_spans_over_otlp(project: Path) -> None:
    shutil.copyfile(HERE / "_otel_agent.py", project / "_otel_agent.py")
    write_files(project, {"scenarios/a.yaml": "id: a\ninput: [where is 1042, thanks]\n"})
    (view,) = _views(project, f"cmd:{sys.executable} _otel_agent.py")
    assert view.status == "ok", view.error
    first, second = view.conversation()
    assert [(c.name, c.args, c.result, c.error) for c in first.tool_calls] == [
        ("lookup_order", {"order_id": 1042}, "order 1042: shipped", None),
        ("refund", {"input": None}, None, "PermissionError: refunds are closed"),
    ]
    assert len(second.tool_calls) == 2  # each turn's spans under that turn
    values = metrics(view)
    assert (values["llm_calls"], values["total_tokens"]) == (2, 96)  # agent span not a call
    assert view.replies == [
        "Order 1042 has shipped (where is 1042).",
        "Order 1042 has shipped (thanks).",
    ]


class _OtelHttpAgent(BaseHTTPRequestHandler):
    """An HTTP agent that exports OTLP JSON (OpenInference conventions) before answering."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        export = _otlp_json(
            "00f067aa0ba902b7",
            "",
            "ChatOpenAI",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "fake",
                "llm.token_count.prompt": 30,
                "llm.token_count.completion": 5,
                "output.value": "thinking",
            },
        )
        urllib.request.urlopen(
            urllib.request.Request(
                body["metadata"]["otlp_traces_endpoint"],
                data=json.dumps(export).encode(),
                headers={"Content-Type": "application/json"},
            ),
            timeout=10,
        ).read()
        reply = {"choices": [{"message": {"role": "assistant", "content": "done"}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_http_agent_exports_openinference_json_to_the_trial_collector(project: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtelHttpAgent)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        write_files(project, {"scenarios/a.yaml": "id: a\ninput: hi\n"})
        (view,) = _views(
            project, f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
        )
    finally:
        server.shutdown()
        server.server_close()
    (llm,) = view.llm_calls()
    assert (llm.name, llm.outputs, llm.attributes["mlflow.llm.model"]) == (
        "ChatOpenAI",
        "thinking",
        "fake",
    )
    assert metrics(view)["total_tokens"] == 35
    assert view.replies == ["done"]


def test_otlp_json_line_in_the_event_file(project: Path) -> None:
    line = json.dumps(
        _otlp_json(
            "00f067aa0ba902b8",
            "",
            "search",
            {
                "openinference.span.kind": "TOOL",
                "tool.name": "search",
                "input.value": '{"q": "kettle"}',
            },
        )
    )
    script = (
        "import json, os, sys\n"
        "json.load(sys.stdin)\n"
        f"open(os.environ['COSTAR_EVENTS'], 'a').write({line!r} + '\\n')\n"
        "print(json.dumps({'output': 'ok'}))\n"
    )
    write_files(project, {"ev.py": script, "scenarios/a.yaml": "id: a\ninput: hi\n"})
    (view,) = _views(project, f"cmd:{sys.executable} ev.py")
    (call,) = view.tool_calls()
    assert (call.name, call.args) == ("search", {"q": "kettle"})
