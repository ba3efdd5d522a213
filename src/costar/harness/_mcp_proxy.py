"""A stdio MCP server in front of one declared MCP server: records and replays its tool calls.

The harness names it to command agents in `COSTAR_MCP_<NAME>` (upper case, `-` as `_`) for each
stdio server of `mcp_servers` in costar.toml: an agent that launches that command instead of the
server itself gets the same tools (listed and called through the real server), every call is
reported as a tool event (the events protocol, `COSTAR_EVENTS`) so it is a TOOL span of the
trace, and in a replayed trial (`COSTAR_REPLAY_URL`) a recorded call is answered from the
recording without reaching the server. Run as
`python -m costar.harness._mcp_proxy NAME --cwd DIR -- COMMAND ARGS...`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import costar._protocol as protocol


def proxy_env(servers: dict[str, str], root: Path) -> dict[str, str]:
    """`COSTAR_MCP_<NAME>` -> the proxy's command line, for each stdio server (not http ones)."""
    out = {}
    for name, spec in servers.items():
        if spec.startswith(("http://", "https://")):
            continue
        words = [sys.executable, "-m", "costar.harness._mcp_proxy", name, "--cwd", str(root)]
        out[protocol.mcp_variable(name)] = shlex.join([*words, "--", *shlex.split(spec)])
    return out


def _ask_replay(name: str, args: Any) -> dict[str, Any]:
    url = protocol.received(protocol.REPLAY_URL)
    if not url:
        return {"replayed": False}
    body = json.dumps({"name": name, "args": args}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - 127.0.0.1
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as exc:  # a strict miss
        return {"replayed": True, "result": None, "error": json.loads(exc.read())["error"]}


def _recorded(result: Any) -> tuple[Any, str | None]:
    """A call result as the trace keeps it: its structured content, else its text."""
    texts = [getattr(c, "text", "") for c in getattr(result, "content", None) or []]
    value = getattr(result, "structured_content", None)
    if value is None:
        value = "\n".join(texts)
    error = "\n".join(texts) or "error" if getattr(result, "is_error", False) else None
    return value, error


def _text_of(value: Any) -> str:
    """The text content served back: a string as it is, the value of a `{"result": ...}`
    wrapper (how MCP servers wrap a tool's plain return value), else JSON."""
    if isinstance(value, dict) and set(value) == {"result"}:
        value = value["result"]
    return value if isinstance(value, str) else json.dumps(value)


def _report(event: dict[str, Any]) -> None:
    path = protocol.received(protocol.EVENTS)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, default=repr) + "\n")


async def serve(name: str, command: list[str], cwd: str) -> None:
    """Proxy the server `command` over this process's stdin and stdout."""
    from mcp import ClientSession, StdioServerParameters, stdio_client, types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    params = StdioServerParameters(
        command=command[0], args=command[1:], env=dict(os.environ), cwd=cwd
    )
    async with stdio_client(params) as streams, ClientSession(streams[0], streams[1]) as upstream:
        init = await upstream.initialize()
        info = getattr(init, "server_info", None)

        async def list_tools(ctx: Any, request: Any) -> Any:
            return await upstream.list_tools()

        async def call_tool(ctx: Any, request: Any) -> Any:
            tool, args = request.name, dict(request.arguments or {})
            start = time.time()
            served = _ask_replay(tool, args)
            if served.get("replayed"):
                value, error = served.get("result"), served.get("error")
                text = _text_of(value)
                result = types.CallToolResult(
                    content=[types.TextContent(type="text", text=error or text or "")],
                    structured_content=value if isinstance(value, dict) else None,
                    is_error=bool(error),
                )
            else:
                result = await upstream.call_tool(tool, args)
                value, error = _recorded(result)
            event = {"type": "tool", "name": tool, "args": args, "result": value, "error": error}
            _report(
                {
                    **event,
                    "start": start,
                    "end": time.time(),
                    "attributes": {"costar.mcp_server": name},
                }
            )
            return result

        server = Server(
            getattr(info, "name", name) or name,
            version=getattr(info, "version", "") or "",
            on_list_tools=list_tools,
            on_call_tool=call_tool,
        )
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


def main(argv: list[str]) -> int:
    if "--" not in argv or len(argv) < 2:
        print(
            "usage: python -m costar.harness._mcp_proxy NAME --cwd DIR -- COMMAND...",
            file=sys.stderr,
        )
        return 2
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1 :]
    cwd = head[head.index("--cwd") + 1] if "--cwd" in head else os.getcwd()
    asyncio.run(serve(head[0], command, cwd))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
