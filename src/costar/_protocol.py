"""The environment variables costar sets for the processes it starts: a protocol, not settings.

A user never sets these; costar writes them into a child's environment and the child (a
command agent, costar's own MCP proxy, a setup command, a coding assistant) reads them.

    COSTAR_EVENTS        file a command agent appends its JSON events to (costar.agents._events)
    COSTAR_REPLAY_URL    endpoint on 127.0.0.1 answering recorded tool calls (costar run --replay)
    COSTAR_MCP_<NAME>    command line of the recording proxy for the agent's stdio MCP server NAME
    COSTAR_WORKSPACE     the trial's workspace folder, for setup commands
    COSTAR_BRIEF_FILE    the brief a coding assistant works from (costar refine)
    COSTAR_WORKTREE      the git worktree a coding assistant edits (costar refine)

Settings passed on to a child costar process or a Ray worker keep their own names
(`costar.config.env_var`).
"""

from __future__ import annotations

import os
import re

EVENTS = "COSTAR_EVENTS"
REPLAY_URL = "COSTAR_REPLAY_URL"
MCP_PREFIX = "COSTAR_MCP_"
WORKSPACE = "COSTAR_WORKSPACE"
BRIEF_FILE = "COSTAR_BRIEF_FILE"
WORKTREE = "COSTAR_WORKTREE"


def mcp_variable(server: str) -> str:
    """`COSTAR_MCP_<NAME>` for an MCP server name (upper case, other characters as `_`)."""
    return MCP_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", server).upper()


def received(name: str) -> str | None:
    """The value costar's parent process set for protocol variable `name` (None: not set)."""
    return os.environ.get(name)
