"""Real agents on the OpenAI Agents SDK, LangGraph and PydanticAI (examples/frameworks), run by
`costar run` against the scripted fake LLM, streaming on and off: the stored traces hold the
conversation, the tool calls (with a tool error) and a failing run, and the judges' verdicts
and token counts come out right."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from costar.judges import TraceView, build, metrics
from costar.llm import FakeLLM
from costar.scenarios import load_suite
from costar.traces import TraceStore

EXAMPLE = Path(__file__).parents[2] / "examples" / "frameworks"
AGENTS = {
    "openai-agents": "openai_agents_shop:agent",
    "langgraph": "langgraph_shop:agent",
    "pydantic-ai": "pydantic_ai_shop:agent",
}


class _EgressTrap:
    """A proxy address that only counts connections: set as HTTP(S)_PROXY, it sees every
    attempt to reach a host other than 127.0.0.1 (a framework phoning home)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(2)
            try:
                self.connections.append(conn.recv(200))
            except OSError:
                self.connections.append(b"")
            conn.close()

    def env(self) -> dict[str, str]:
        url = f"http://127.0.0.1:{self.port}"
        return {
            "HTTP_PROXY": url,
            "HTTPS_PROXY": url,
            "ALL_PROXY": url,
            "NO_PROXY": "127.0.0.1,localhost",
        }


def _run(
    project: Path, agent: str, stream: bool, *args: str
) -> tuple[dict[str, TraceView], FakeLLM]:
    for item in EXAMPLE.iterdir():
        if item.is_dir():
            shutil.copytree(item, project / item.name, dirs_exist_ok=True)
        else:
            shutil.copyfile(item, project / item.name)
    trap = _EgressTrap()
    with FakeLLM(EXAMPLE / "fake_llm.yaml") as fake:
        env = {
            **os.environ,
            **trap.env(),
            **fake.env(),
            "SHOP_MODEL": "fake",
            "SHOP_STREAM": "1" if stream else "",
        }
        done = subprocess.run(
            [sys.executable, "-m", "costar.cli", "run", "--agent", agent, "--json", *args],
            cwd=project, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr[-3000:]
        summary = json.loads(done.stdout)
        usage = list(fake.usage)
        log = list(fake.log)
    trap.sock.close()
    assert trap.connections == []  # nothing left 127.0.0.1: no tracing export, no telemetry
    store = TraceStore(f"sqlite:///{project}/.costar/mlflow.db")
    rows = store.run_traces(summary["run_id"])
    views = [TraceView.from_mlflow(t) for t in store.get_traces([r.trace_id for r in rows])]
    return {v.scenario_id: v for v in views}, _Fake(usage, log)


class _Fake:
    def __init__(self, usage: list[dict], log: list[str]):
        self.usage, self.log = usage, log


def _scenarios(project: Path) -> dict:
    return {s.id: s.scenario for s in load_suite(project / "scenarios").scenarios}


@pytest.mark.slow
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streaming"])
@pytest.mark.parametrize("framework", list(AGENTS))
def test_framework_agent_traces_and_verdicts(
    framework: str, stream: bool, tmp_path: Path, store_uri: str
) -> None:
    views, fake = _run(tmp_path, AGENTS[framework], stream)
    assert sorted(views) == ["crash", "lookup", "missing", "two-orders"], fake.log
    scenarios = _scenarios(tmp_path)

    lookup = views["lookup"]
    assert lookup.status == "ok", lookup.error
    assert lookup.replies == ["Order 1042 is shipped."]
    (call,) = lookup.tool_calls()
    assert (call.name, call.args, call.error) == ("lookup_order", {"order_id": 1042}, None)
    assert "order 1042: shipped" in json.dumps(call.result)
    assert metrics(lookup)["llm_calls"] == 2

    two = views["two-orders"]
    first, second = two.conversation()
    assert (first.reply, second.reply) == ("Order 1042 is shipped.", "Order 1043 is delivered.")
    assert [c.args for c in first.tool_calls] == [{"order_id": 1042}]
    assert [c.args for c in second.tool_calls] == [{"order_id": 1043}]  # history carried over
    assert (len(first.llm_calls), len(second.llm_calls)) == (2, 2)

    missing = views["missing"]
    (failed,) = missing.tool_calls()
    assert failed.name == "lookup_order" and "no order 9999" in (failed.error or "")
    assert missing.replies == ["I cannot find that order, sorry."]

    crash = views["crash"]
    assert crash.status == "error"
    assert "warehouse system is down" in crash.root.attributes["costar.exception.stacktrace"]
    (boom,) = crash.tool_calls()
    assert boom.name == "explode" and "warehouse system is down" in (boom.error or "")

    # token counts: every answer the fake gave, counted once across the stored traces
    total = sum(metrics(v)["total_tokens"] or 0 for v in views.values())
    assert total == sum(u["total_tokens"] for u in fake.usage) > 0
    assert sum(metrics(v)["llm_calls"] for v in views.values()) == len(fake.usage) == 9

    def verdict(uses: str, sid: str, **changes):
        scenario = scenarios[sid]
        if changes:
            expectations = scenario.expectations.model_copy(update=changes)
            scenario = scenario.model_copy(update={"expectations": expectations})
        return build(uses).score(views[sid], scenario)

    assert verdict("expected-facts", "lookup").passed is True
    assert verdict("expected-facts", "two-orders").passed is True
    assert verdict("expected-tool-calls", "lookup").passed is True
    assert verdict("budgets", "lookup").passed is True
    assert verdict("expected-facts", "missing").passed is True
    # the tool's error text is not something the agent said: no false pass
    assert verdict("expected-facts", "missing", facts=["no order 9999"]).passed is False


@pytest.mark.slow
def test_run_sync_agent_keeps_its_loop_across_turns(tmp_path: Path, store_uri: str) -> None:
    shutil.copyfile(Path(__file__).parent / "_run_sync_agent.py", tmp_path / "_run_sync_agent.py")
    views, _ = _run(
        tmp_path, "_run_sync_agent:Conversation", False, "--scenario", "two-orders",
        "--concurrency", "1",
    )  # fmt: skip
    view = views["two-orders"]
    assert view.status == "ok", view.error  # turn 2 used to fail: a new thread, a new loop
    assert view.replies == ["Order 1042 is shipped.", "Order 1043 is delivered."]
