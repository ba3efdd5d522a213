"""MCP tools of a declared server: a command agent that launches COSTAR_MCP_<NAME> gets the
server's tools, each call is a TOOL span, and `costar run --replay` answers from the recording."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.config import load_settings
from costar.judges import TraceView
from costar.traces import TraceStore

pytest.importorskip("mcp")
pytestmark = pytest.mark.slow

SERVER = """
from pathlib import Path
from mcp.server.mcpserver import MCPServer

server = MCPServer(name="shop", version="1.0.0")

@server.tool(description="Look up an order.")
def lookup_order(order_id: int) -> str:
    status = (Path(__file__).parent / "status.txt").read_text().strip()
    return f"order {order_id} is {status}"

if __name__ == "__main__":
    server.run()
"""
AGENT = """
import asyncio, json, os, shlex, sys
from mcp import ClientSession, StdioServerParameters, stdio_client

async def lookup(order_id):
    words = shlex.split(os.environ["COSTAR_MCP_SHOP"])
    params = StdioServerParameters(command=words[0], args=words[1:], env=dict(os.environ))
    async with stdio_client(params) as streams, ClientSession(streams[0], streams[1]) as s:
        await s.initialize()
        result = await s.call_tool("lookup_order", {"order_id": order_id})
        return result.content[0].text

json.load(sys.stdin)
print(json.dumps({"output": asyncio.run(lookup(7))}))
"""


def _view(project: Path, stdout: str) -> TraceView:
    store = TraceStore(load_settings(start=project).store_uri())
    (row,) = store.run_traces(json.loads(stdout)["run_id"])
    (trace,) = store.get_traces([row.trace_id])
    return TraceView.from_mlflow(trace)


def test_mcp_calls_are_recorded_and_replayed(project: Path) -> None:
    write_files(
        project,
        {
            "costar.toml": "[costar]\nsuite = 'scenarios'\n"
            f"agent = 'cmd:{sys.executable} agent.py'\n"
            f"mcp_servers = {{shop = '{sys.executable} mcp_server.py'}}\n",
            "mcp_server.py": SERVER,
            "agent.py": AGENT,
            "status.txt": "delivered\n",
            "scenarios/order.yaml": "id: order\ninput: where is order 7?\n",
        },
    )
    first = run_cli(project, "run", "--json")
    assert first.returncode == 0, first.stderr
    recorded = _view(project, first.stdout)
    (call,) = recorded.spans_of("TOOL", "lookup_order")
    assert call.attributes["costar.mcp_server"] == "shop"
    assert recorded.output == "order 7 is delivered"

    (project / "status.txt").write_text("lost\n")
    replayed = run_cli(project, "run", "--replay", json.loads(first.stdout)["run_id"], "--json")
    assert replayed.returncode == 0, replayed.stdout
    view = _view(project, replayed.stdout)
    assert view.output == "order 7 is delivered"  # the recorded answer, not the server's
    assert view.spans_of("TOOL", "lookup_order")[0].attributes["costar.replayed"] is True
