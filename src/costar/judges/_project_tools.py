"""The project's own judge tools: Python functions and MCP servers an agentic judge may call.

A Python tool is a function in `judges/*.py` under `@costar.judge_tool` (name, description,
and JSON-schema parameters read from the signature through pydantic)::

    @costar.judge_tool(description="Lint a SQL statement")
    def lint_sql(sql: str, dialect: str = "sqlite") -> dict: ...

An MCP tool is `server.tool`, the server named in costar.toml (`judge_mcp_servers`, else
`mcp_servers`: a command line for stdio, or an http(s) URL). A judge names what it may call:
`tools: [lint_sql, schema_registry.lookup]`. Every call is bounded in time (`timeout`
seconds; a Python tool that overruns is abandoned to finish in a background thread, an MCP
call is cancelled) and in output (`max_output` bytes), recorded in the verdict's
`details.tool_calls`, and counted in its cost. A Python tool's source, and an MCP server's
command with the project files it names, are part of the judge's version.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costar._exceptions import ConfigError

TIMEOUT = 10.0
MAX_OUTPUT = 8_192
EXCERPT = 500  # characters of a result kept in the verdict


@dataclass(frozen=True)
class ToolSpec:
    """A registered Python judge tool."""

    name: str
    description: str
    fn: Callable[..., Any]
    parameters: dict[str, Any]
    timeout: float = TIMEOUT
    max_output: int = MAX_OUTPUT

    @property
    def digest(self) -> str:
        from costar.judges._judge import source_of

        payload = json.dumps([source_of(self.fn), self.parameters, self.timeout, self.max_output])
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


_TOOLS: dict[str, ToolSpec] = {}


def _schema(fn: Callable[..., Any]) -> dict[str, Any]:
    """JSON Schema of the function's parameters, from its signature and annotations."""
    from pydantic import create_model

    fields: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = Any if param.annotation is inspect.Parameter.empty else param.annotation
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    model: Any = create_model(f"{fn.__name__}_args", **fields)
    out: dict[str, Any] = model.model_json_schema()
    out.pop("title", None)
    for prop in out.get("properties", {}).values():
        prop.pop("title", None)
    return out


def judge_tool(
    name: str | None = None,
    description: str = "",
    timeout: float = TIMEOUT,
    max_output: int = MAX_OUTPUT,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a Python function as a tool agentic judges may call (`tools: [name]`).

    Its parameters' JSON Schema comes from the signature; the description defaults to the
    docstring's first line. The function is returned unchanged."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        spec = ToolSpec(
            name or fn.__name__,
            description or (inspect.getdoc(fn) or "").split("\n")[0],
            fn,
            _schema(fn),
            timeout,
            max_output,
        )
        _TOOLS[spec.name] = spec
        fn.__costar_judge_tool__ = spec  # type: ignore[attr-defined]
        return fn

    return register


def registered_tools() -> dict[str, ToolSpec]:
    """Every registered Python judge tool."""
    return dict(_TOOLS)


def openai_name(name: str) -> str:
    """The name offered to the model (`server.tool` becomes `server__tool`)."""
    return name.replace(".", "__")


def _clip(text: str, limit: int) -> tuple[str, bool]:
    data = text.encode()
    if len(data) <= limit:
        return text, False
    return data[: max(0, limit - 20)].decode(errors="ignore") + "...[cut]", True


@dataclass
class ToolCall:
    """One call of a project tool, as the verdict records it."""

    tool: str
    arguments: dict[str, Any]
    seconds: float
    bytes: int
    truncated: bool = False
    error: str | None = None
    excerpt: str = ""

    def record(self) -> dict[str, Any]:
        out = {
            "tool": self.tool,
            "arguments": self.arguments,
            "seconds": round(self.seconds, 4),
            "bytes": self.bytes,
            "truncated": self.truncated,
            "excerpt": self.excerpt,
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class ProjectTools:
    """The project tools one judge may call: Python specs and MCP tool names, by declared name."""

    python: dict[str, ToolSpec] = field(default_factory=dict)
    mcp: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (server, command)
    root: Path = field(default_factory=Path.cwd)

    @property
    def digest(self) -> str:
        parts = {n: s.digest for n, s in self.python.items()}
        for name, (_, command) in self.mcp.items():
            parts[name] = _command_digest(command, self.root)
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]

    def names(self) -> list[str]:
        return sorted([*self.python, *self.mcp])

    def session(self) -> ToolSession:
        return ToolSession(self)


def _command_digest(command: str, root: Path) -> str:
    """The server command and the content of the project files it names."""
    import shlex

    h = hashlib.sha256(command.encode())
    if not command.startswith(("http://", "https://")):
        for arg in shlex.split(command)[1:]:
            path = root / arg
            if path.is_file():
                h.update(path.read_bytes())
    return h.hexdigest()[:12]


class ToolSession:
    """The project tools during one verdict: schemas to offer, bounded calls, their record."""

    def __init__(self, tools: ProjectTools):
        self.tools = tools
        self.calls: list[ToolCall] = []
        self._mcp: Any = None
        self._by_openai = {openai_name(n): n for n in tools.names()}

    def schemas(self) -> list[dict[str, Any]]:
        out = []
        for name, spec in self.tools.python.items():
            out.append(_offer(name, spec.description, spec.parameters))
        if self.tools.mcp:
            for name, (desc, params) in self._mcp_session().describe().items():
                out.append(_offer(name, desc, params))
        return out

    def handles(self, offered: str) -> bool:
        return offered in self._by_openai

    def _mcp_session(self) -> Any:
        if self._mcp is None:
            from costar.judges._mcp_tools import McpTools

            self._mcp = McpTools(self.tools.mcp, self.tools.root)
        return self._mcp

    def call(self, offered: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], ToolCall]:
        """Run the tool; (its result, clipped to the tool's `max_output`, and the record)."""
        name = self._by_openai[offered]
        start = time.monotonic()
        error: str | None = None
        text = ""
        if name in self.tools.python:
            spec = self.tools.python[name]
            limit = spec.max_output
            try:
                text = _python_call(spec, arguments)
            except Exception as exc:  # a tool's failure goes back to the judge model as data
                error = f"{type(exc).__name__}: {exc}"[:300]
        else:
            limit = MAX_OUTPUT
            try:
                text = self._mcp_session().call(name, arguments, TIMEOUT)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
        seconds = time.monotonic() - start
        clipped, truncated = _clip(text, limit)
        record = ToolCall(
            name, arguments, seconds, len(clipped.encode()), truncated, error, clipped[:EXCERPT]
        )
        self.calls.append(record)
        if error:
            return {"tool": name, "error": error}, record
        return {"tool": name, "truncated": truncated, "content": clipped}, record

    def close(self) -> None:
        if self._mcp is not None:
            self._mcp.close()
            self._mcp = None


def _offer(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": openai_name(name),
            "description": description,
            "parameters": parameters or {"type": "object", "properties": {}},
        },
    }


def _python_call(spec: ToolSpec, arguments: dict[str, Any]) -> str:
    """Call the tool in a daemon thread and wait at most its timeout: a tool that never
    returns is abandoned, and cannot keep the process from exiting."""
    try:
        inspect.signature(spec.fn).bind(**arguments)
    except TypeError as exc:
        raise ValueError(f"bad arguments for {spec.name}: {exc}") from None
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, spec.fn(**arguments)))
        except Exception as exc:  # handed to the caller's thread
            outcome.append((False, exc))

    worker = threading.Thread(target=target, name=f"judge-tool-{spec.name}", daemon=True)
    worker.start()
    worker.join(spec.timeout)
    if not outcome:
        raise TimeoutError(f"{spec.name} took longer than {spec.timeout:g}s")
    ok, result = outcome[0]
    if not ok:
        raise result
    return result if isinstance(result, str) else json.dumps(result, default=repr)


def project_tools(names: list[str], root: Path) -> ProjectTools:
    """The tools a judge's `tools:` names that are the project's own (Python or MCP)."""
    from costar.config import load_settings

    python = registered_tools()
    chosen = ProjectTools(root=root)
    servers: dict[str, str] | None = None
    for name in names:
        if name in python:
            chosen.python[name] = python[name]
        elif "." in name:
            if servers is None:
                settings = load_settings(start=root)
                servers = {**settings.mcp_servers, **settings.judge_mcp_servers}
            server = name.split(".", 1)[0]
            if server not in servers:
                raise ConfigError(
                    f"tool {name!r}: no MCP server {server!r} in costar.toml "
                    "(declare it: judge_mcp_servers = {NAME = 'COMMAND'})"
                )
            chosen.mcp[name] = (server, servers[server])
    return chosen
