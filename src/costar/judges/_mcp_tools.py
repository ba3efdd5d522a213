"""MCP tools for one verdict, through the `mcp` SDK: each server the judge uses is started once
per verdict (stdio) or connected (http), its tools listed, called with a time limit, closed.

The SDK is asynchronous and its transports must be entered and left in one task, so each
server lives in one task on an event loop in a background thread, serving calls from a queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

START_TIMEOUT = 60.0


class _Server:
    def __init__(self, command: str, root: Path, loop: asyncio.AbstractEventLoop):
        self.command = command
        self.root = root
        self.loop = loop
        self.queue: asyncio.Queue[Any] | None = None
        self.tools: dict[str, tuple[str, dict[str, Any]]] = {}
        self.ready: Future[None] = Future()
        self.done: Future[None] = Future()

    async def serve(self) -> None:
        from mcp import ClientSession, StdioServerParameters, stdio_client

        try:
            if self.command.startswith(("http://", "https://")):
                from mcp.client.streamable_http import streamable_http_client

                transport: Any = streamable_http_client(self.command)
            else:
                args = shlex.split(self.command)
                params = StdioServerParameters(
                    command=args[0], args=args[1:], env=dict(os.environ), cwd=self.root
                )
                transport = stdio_client(params)
            async with transport as streams, ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                listed = await session.list_tools()
                for t in listed.tools:
                    schema = getattr(t, "inputSchema", None) or getattr(t, "input_schema", {})
                    self.tools[t.name] = (t.description or "", dict(schema or {}))
                self.queue = asyncio.Queue()
                self.ready.set_result(None)
                while (item := await self.queue.get()) is not None:
                    name, arguments, timeout, reply = item
                    try:
                        result = await session.call_tool(
                            name, arguments, read_timeout_seconds=timeout
                        )
                        reply.set_result(_text(result))
                    except Exception as exc:  # the call's failure is the caller's to report
                        reply.set_exception(exc)
        except BaseException as exc:
            if not self.ready.done():
                self.ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
            if not isinstance(exc, Exception):
                raise
        finally:
            if not self.done.done():
                self.done.set_result(None)


def _text(result: Any) -> str:
    parts = []
    for item in getattr(result, "content", None) or []:
        text = getattr(item, "text", None)
        parts.append(text if text is not None else repr(item))
    text = "\n".join(parts)
    if getattr(result, "is_error", False) or getattr(result, "isError", False):
        raise RuntimeError(f"the tool answered an error: {text[:300]}")
    return text


class McpTools:
    """The MCP tools of one verdict: `server.tool` names mapped to started servers."""

    def __init__(self, tools: dict[str, tuple[str, str]], root: Path):
        self.wanted = tools  # declared name -> (server, command)
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: dict[str, _Server] = {}

    def _server(self, server: str, command: str) -> _Server:
        if server not in self.servers:
            entry = _Server(command, self.root, self.loop)
            self.servers[server] = entry
            asyncio.run_coroutine_threadsafe(entry.serve(), self.loop)
            entry.ready.result(timeout=START_TIMEOUT)
        return self.servers[server]

    def describe(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Description and input schema of each declared tool (servers started as needed)."""
        out = {}
        for name, (server, command) in self.wanted.items():
            tool = name.split(".", 1)[1]
            found = self._server(server, command).tools
            if tool not in found:
                raise KeyError(f"MCP server {server!r} has no tool {tool!r} (has {sorted(found)})")
            out[name] = found[tool]
        return out

    def call(self, name: str, arguments: dict[str, Any], timeout: float) -> str:
        server, command = self.wanted[name]
        entry = self._server(server, command)
        reply: Future[str] = Future()
        assert entry.queue is not None
        queue = entry.queue
        item = (name.split(".", 1)[1], arguments, timeout, reply)
        self.loop.call_soon_threadsafe(queue.put_nowait, item)
        try:
            return reply.result(timeout=timeout + 1)
        except TimeoutError:
            raise TimeoutError(f"{name} took longer than {timeout:g}s") from None

    def close(self) -> None:
        for entry in self.servers.values():
            if entry.queue is not None:
                self.loop.call_soon_threadsafe(entry.queue.put_nowait, None)
        for entry in self.servers.values():
            with contextlib.suppress(Exception):  # one that will not stop ends with the loop
                entry.done.result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.loop.is_running():
            self.loop.close()
