"""The agent's declared dependencies, as recorded with every run and trace.

When a tool server changes its output format, the agent has not changed, yet it breaks. So the
harness records what the agent depends on: installed versions of the Python packages named in
`dependencies`, and for each MCP server in `mcp_servers` its name and version and a hash of
each tool's name, description, input schema and output schema, read through the `mcp` SDK's
tool listing. `costar.traces.dependency_diff` says what moved between two runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shlex
from importlib import metadata
from pathlib import Path
from typing import Any

from costar.traces import DEPENDENCIES_TAG

RUN_TAG = DEPENDENCIES_TAG  # what the run records; `dependency_diff` compares two of them
TRACE_TAG = "costar.dependencies"
MAX_TRACE_TAG = 4000  # MLflow keeps trace tag values to 4096 characters


def python_versions(names: list[str]) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def tool_hash(tool: Any) -> str:
    data = (
        tool.model_dump(exclude_none=True, by_alias=True) if hasattr(tool, "model_dump") else tool
    )
    keep = {
        k: data.get(k)
        for k in (
            "name",
            "description",
            "inputSchema",
            "input_schema",
            "outputSchema",
            "output_schema",
        )
        if data.get(k) is not None
    }
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:12]


async def _mcp_server(spec: str, root: Path) -> dict[str, Any]:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    if spec.startswith(("http://", "https://")):
        from mcp.client.streamable_http import streamable_http_client as transport_for

        transport = transport_for(spec)
    else:
        args = shlex.split(spec)
        params = StdioServerParameters(
            command=args[0], args=args[1:], env=dict(os.environ), cwd=root
        )
        transport = stdio_client(params)
    async with transport as streams, ClientSession(streams[0], streams[1]) as session:
        init = await session.initialize()
        info = getattr(init, "server_info", None) or getattr(init, "serverInfo", None)
        tools = await session.list_tools()
        return {
            "server": getattr(info, "name", ""),
            "version": getattr(info, "version", ""),
            "tools": {t.name: tool_hash(t) for t in tools.tools},
        }


def mcp_versions(servers: dict[str, str], root: Path, timeout: float = 60.0) -> dict[str, Any]:
    """Per declared server: name, version and tool hashes; an error entry when it cannot be
    listed (recorded, not raised: a dependency that will not answer is a finding too)."""
    out: dict[str, Any] = {}
    for name, spec in servers.items():
        try:
            out[name] = asyncio.run(asyncio.wait_for(_mcp_server(spec, root), timeout))
        except ImportError:
            out[name] = {"error": "the mcp package is not installed: pip install 'costar[mcp]'"}
        except Exception as exc:  # any failure to start or list the server
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return out


def manifest(python: list[str], mcp: dict[str, str], root: Path) -> dict[str, Any]:
    """The dependency manifest of a run (empty when nothing is declared)."""
    out: dict[str, Any] = {}
    if python:
        out["python"] = python_versions(python)
    if mcp:
        out["mcp"] = mcp_versions(mcp, root)
    return out


def encode(found: dict[str, Any], limit: int) -> str:
    text = json.dumps(found, sort_keys=True, separators=(",", ":"))
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return json.dumps({"sha256": digest, "note": "too long for a tag; see the run's tag"})
