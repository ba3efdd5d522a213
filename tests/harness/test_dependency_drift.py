"""Dependency drift: a real MCP server (the `mcp` SDK) changes its tool's output format between
two runs of an agent that uses it; the runs record the server's version and tool hashes, and
`costar gate` reports the dependency change beside the judge that regressed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import run_cli, write_files
from costar.traces import TraceStore

pytest.importorskip("mcp")

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


HTTP_SERVER = """
import sys
from mcp.server.mcpserver import MCPServer

server = MCPServer(name="shop", version="1.0.0")

@server.tool(description="Look up an order.")
def lookup_order(order_id: int) -> str:
    return "delivered"

server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
"""


@pytest.mark.slow
def test_an_mcp_server_over_http_is_listed_with_its_version_and_tools(tmp_path: Path) -> None:
    import socket
    import subprocess
    import time

    from costar.harness._deps import mcp_versions

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "http_server.py").write_text(HTTP_SERVER)
    proc = subprocess.Popen(
        [sys.executable, "http_server.py", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            with socket.socket() as conn:
                if conn.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        found = mcp_versions({"shop": f"http://127.0.0.1:{port}/mcp"}, tmp_path)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert found["shop"].get("version") == "1.0.0", found
    assert set(found["shop"]["tools"]) == {"lookup_order"}
