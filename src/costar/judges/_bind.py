"""What a judge reads besides the trace and the scenario, made from its parameters.

`references: [...]` becomes a `corpus` (the reference documents) and the project's tools among
`tools: [...]` a `project_tools` set, both resolved against the project root. Each has a
`digest` (documents' content; tools' code) that is part of the judge's version. They are given
to the judge function as keyword arguments of those names, which it declares.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from costar._exceptions import ConfigError

TRACE_TOOLS = frozenset(
    {
        "list_spans",
        "get_span",
        "search",
        "list_files",
        "read_file",
        "query_state",
        "search_references",
        "read_reference",
        "finish",
    }
)


def resources(fn: Any, params: dict[str, Any], root: Path | None) -> dict[str, Any]:
    """The `corpus` and `project_tools` of a judge function with these parameters."""
    if not params.get("references") and not params.get("tools"):
        return {}
    accepted = inspect.signature(fn).parameters
    where = root or Path.cwd()
    out: dict[str, Any] = {}
    refs = params.get("references")
    if refs and "corpus" in accepted:
        from costar.judges._references import load_references

        if isinstance(refs, str):
            refs = [refs]
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise ConfigError("references must be a list of files or folders")
        out["corpus"] = load_references(where, refs)
    tools = params.get("tools")
    if tools and "project_tools" in accepted:
        from costar.judges._project_tools import project_tools

        if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
            raise ConfigError("tools must be a list of tool names")
        own = [t for t in tools if t not in TRACE_TOOLS]
        chosen = project_tools(own, where)
        unknown = sorted(set(own) - set(chosen.names()))
        if unknown:
            raise ConfigError(
                f"unknown tool {unknown[0]!r}: not a trace tool "
                f"({', '.join(sorted(TRACE_TOOLS))}), not a @costar.judge_tool in judges/*.py, "
                "not SERVER.TOOL of an MCP server"
            )
        if own:
            out["project_tools"] = chosen
    return out
