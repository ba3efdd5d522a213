"""Dependency drift: a real MCP server (the `mcp` SDK) changes its tool's output format between
two runs of an agent that uses it; the runs record the server's version and tool hashes, and
`costar gate` reports the dependency change beside the judge that regressed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.traces import TraceStore

pytest.importorskip("mcp")
pytestmark = pytest.mark.slow

SERVER = """
from pathlib import Path
from mcp.server.mcpserver import MCPServer

V2 = (Path(__file__).parent / "shop_format.txt").read_text().strip() == "v2"
server = MCPServer(name="shop", version="2.0.0" if V2 else "1.0.0")

if V2:
    @server.tool(description="Look up an order. Returns one line of text: 'Order N: STATUS'.")
    def lookup_order(order_id: int) -> str:
        return f"Order {order_id}: DELIVERED"
else:
    @server.tool(description="Look up an order. Returns its status as JSON.")
    def lookup_order(order_id: int) -> dict:
        return {"order_id": order_id, "status": "delivered"}

if __name__ == "__main__":
    server.run()
"""
AGENT = """
import asyncio, json, sys
from pathlib import Path
from mcp import ClientSession, StdioServerParameters, stdio_client

HERE = Path(__file__).parent


async def lookup(order_id):
    params = StdioServerParameters(command=sys.executable, args=[str(HERE / "mcp_server.py")])
    async with stdio_client(params) as streams, ClientSession(streams[0], streams[1]) as s:
        await s.initialize()
        result = await s.call_tool("lookup_order", {"order_id": order_id})
        return result.content[0].text


def run(ctx):
    raw = asyncio.run(lookup(7))
    try:
        return f"Order 7 is {json.loads(raw)['status']}."
    except (ValueError, KeyError):
        return "Sorry, I could not read the order."
"""


def test_an_mcp_tool_change_is_reported_as_a_dependency_change(project: Path) -> None:
    write_files(
        project,
        {
            "costar.toml": (
                "[costar]\nsuite = 'scenarios'\nagent = 'mcp_agent:run'\n"
                "dependencies = ['httpx', 'no-such-package']\n"
                f"mcp_servers = {{shop = '{sys.executable} mcp_server.py'}}\n"
            ),
            "mcp_server.py": SERVER,
            "mcp_agent.py": AGENT,
            "shop_format.txt": "v1",
            "scenarios/status.yaml": (
                "id: status\ninput: where is order 7?\nexpectations: {facts: [delivered]}\n"
            ),
        },
    )
    runs = []
    for fmt in ("v1", "v2"):
        (project / "shop_format.txt").write_text(fmt)
        out = run_cli(project, "run", "--json")
        assert out.returncode == 0, out.stderr
        runs.append(json.loads(out.stdout)["run_id"])
        assert run_cli(project, "assess", runs[-1]).returncode in (0, 1)

    from costar.config import load_settings

    store = TraceStore(load_settings(start=project).store_uri())
    trace = store.get_traces([store.run_traces(runs[0])[0].trace_id])[0]
    recorded = json.loads(trace.info.tags["costar.dependencies"])  # in every trace
    assert recorded["mcp"]["shop"]["version"] == "1.0.0"
    assert set(recorded["mcp"]["shop"]["tools"]) == {"lookup_order"}
    assert recorded["python"]["no-such-package"] == "not installed"

    # one scenario, one trial: the gate cannot tell a drop from noise (inconclusive); this
    # policy fails on that, so the failing judge shows beside the dependency change
    (project / "gate.yaml").write_text("on_inconclusive: fail\n")
    gate = run_cli(
        project, "gate", "--baseline", runs[0], "--candidate", runs[1], "--policy", "gate.yaml"
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "  - expected-facts: pass rate 100% -> 0%" in gate.stdout  # the judge that fell ...
    assert "dependencies changed between the runs" in gate.stdout  # ... beside what moved
    assert "mcp shop: server version 1.0.0 -> 2.0.0" in gate.stdout
    assert "mcp shop: tool lookup_order changed (description or schema)" in gate.stdout
    report = json.loads(run_cli(project, "report", runs[1], "--baseline", runs[0], "--json").stdout)
    assert "mcp shop: server version 1.0.0 -> 2.0.0" in report["dependency_changes"]
    same = json.loads(run_cli(project, "report", runs[1], "--baseline", runs[1], "--json").stdout)
    assert same["dependency_changes"] == []
