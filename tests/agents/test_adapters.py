"""Each adapter kind against a real agent: in-process, a real subprocess, a real HTTP server."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from costar._exceptions import AgentError, AgentProtocolError, AgentTimeout, ConfigError
from costar.agents import AgentContext, CommandAgent, HttpAgent, PythonAgent, resolve_agent
from costar.traces import Recorder

TESTS = Path(__file__).parents[1]
AGENT_SCRIPT = TESTS / "sample_agents.py"


def ctx(workspace: Path, text: str = "hello", history: list | None = None) -> AgentContext:
    return AgentContext(
        input=text,
        history=history or [],
        workspace=workspace,
        scenario_id="s1",
        trial=0,
        turn=len(history or []) // 2,
        env={**os.environ},
    )


def run(agent, workspace: Path, text: str = "hello", timeout: float = 20.0):
    recorder = Recorder(default_parent=42)
    session = agent.open_trial()
    try:
        result = session.run_turn(ctx(workspace, text), recorder, timeout, threading.Event())
    finally:
        session.close()
    return result, recorder


def test_python_callable_reply_and_tool_spans(tmp_path: Path) -> None:
    result, recorder = run(PythonAgent("sample_agents:echo", TESTS), tmp_path)
    assert result.output == "echo: hello"
    (span,) = recorder.spans
    assert (span.name, span.span_type, span.inputs, span.outputs) == (
        "add",
        "TOOL",
        {"a": 1, "b": 2},
        3,
    )
    assert span.parent_id == 42 and span.end_ns >= span.start_ns


def test_python_class_keeps_state_within_a_trial_only(tmp_path: Path) -> None:
    agent = PythonAgent("sample_agents:Memory", TESTS)
    session = agent.open_trial()
    rec, cancel = Recorder(), threading.Event()
    session.run_turn(ctx(tmp_path, "a"), rec, 5, cancel)
    assert session.run_turn(ctx(tmp_path, "b"), rec, 5, cancel).output == "a | b"
    fresh = agent.open_trial()
    assert fresh.run_turn(ctx(tmp_path, "c"), rec, 5, cancel).output == "c"


def test_python_agent_exception_is_an_agent_error_with_failed_tool_span(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="RuntimeError: agent blew up"):
        run(PythonAgent("sample_agents:crash", TESTS), tmp_path)


def test_python_agent_past_timeout(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(AgentTimeout):
        run(PythonAgent("sample_agents:sleepy", TESTS), tmp_path, timeout=0.3)
    assert time.monotonic() - start < 3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sample_agents", "expected 'package.module:function'"),
        ("no_such_module:fn", "cannot import no_such_module"),
        ("sample_agents:nope", "has no attribute 'nope'"),
        ("sample_agents:TESTS", None),
    ],
)
def test_bad_python_agent_specs_are_config_errors(spec: str, message: str | None) -> None:
    if message is None:
        PythonAgent("sample_agents:echo", TESTS)  # control: a good spec loads
        return
    with pytest.raises(ConfigError, match=message):
        resolve_agent(spec, TESTS)


def command(mode: str) -> CommandAgent:
    return CommandAgent(f"{sys.executable} sample_agents.py {mode}", TESTS)


def test_command_agent_json_protocol_and_events(tmp_path: Path) -> None:
    result, recorder = run(command("ok"), tmp_path, "ping")
    assert result.output == "cmd: ping (turn 0, history 0)"
    tool, llm, bad = recorder.spans
    assert (tool.name, tool.span_type, tool.inputs, tool.outputs) == (
        "lookup",
        "TOOL",
        {"q": "ping"},
        {"hits": 2},
    )
    assert llm.span_type == "CHAT_MODEL" and llm.parent_id == tool.span_id
    assert llm.attributes["mlflow.chat.tokenUsage"] == {
        "input_tokens": 7,
        "output_tokens": 3,
        "total_tokens": 10,
    }
    assert bad.name == "costar.bad_event" and "unreadable event" in bad.error
    assert tool.parent_id == 42


def test_command_agent_crash_keeps_stderr(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="exited with code 3") as info:
        run(command("crash"), tmp_path)
    assert "something went wrong" in info.value.stderr


@pytest.mark.slow
def test_command_agent_hang_kills_the_whole_process_group(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(AgentTimeout):
        run(command("hang"), tmp_path, timeout=1.5)
    assert time.monotonic() - start < 6
    child = int((tmp_path / "child.pid").read_text())
    time.sleep(0.2)
    # the grandchild was killed with its group (gone, or a zombie awaiting its reaper)
    try:
        state = Path(f"/proc/{child}/stat").read_text().split()[2]
    except FileNotFoundError:
        state = "gone"
    assert state in ("gone", "Z")


def test_command_agent_huge_output_is_truncated_not_fatal(tmp_path: Path) -> None:
    with pytest.raises(AgentProtocolError, match="over the 1000000-byte cap") as info:
        run(command("huge"), tmp_path)
    assert info.value.output.endswith("[costar: truncated, 10000000 bytes in all]")
    assert len(info.value.output) < 20_000


def test_command_agent_non_json_reply(tmp_path: Path) -> None:
    with pytest.raises(AgentProtocolError, match="stdout is not JSON: 'hello, I am not JSON'"):
        run(command("notjson"), tmp_path)


class _ChatHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        last = body["messages"][-1]["content"]
        if last == "boom":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"internal error")
            return
        reply = {
            "choices": [{"message": {"role": "assistant", "content": f"http: {last}"}}],
            "costar_events": [{"type": "tool", "name": "search", "args": {"q": last}}],
        }
        if last == "garbled":
            reply = {"nothing": True}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chat_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
    server.shutdown()
    server.server_close()


def test_http_agent_chat_completions_and_events(chat_server: str, tmp_path: Path) -> None:
    agent = resolve_agent(chat_server, TESTS)
    assert isinstance(agent, HttpAgent)
    result, recorder = run(agent, tmp_path, "hi there")
    assert result.output == "http: hi there"
    assert [(s.name, s.inputs) for s in recorder.spans] == [("search", {"q": "hi there"})]


def test_http_agent_errors(chat_server: str, tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="HTTP 500"):
        run(HttpAgent(chat_server), tmp_path, "boom")
    with pytest.raises(AgentProtocolError, match="not a chat completion"):
        run(HttpAgent(chat_server), tmp_path, "garbled")
    with pytest.raises(AgentError, match="cannot reach"):
        run(HttpAgent("http://127.0.0.1:9/v1/chat/completions"), tmp_path)
