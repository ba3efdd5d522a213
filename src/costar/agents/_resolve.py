"""Choose the adapter for an agent spec string."""

from __future__ import annotations

from pathlib import Path

from costar._exceptions import ConfigError
from costar.agents._command import CommandAgent
from costar.agents._context import Agent
from costar.agents._http import HttpAgent
from costar.agents._python import PythonAgent


def resolve_agent(spec: str | None, root: Path, autolog: list[str] | None = None) -> Agent:
    """An adapter for `spec`: 'pkg.module:function', 'cmd:COMMAND ARGS', or an http(s) URL.

    `autolog` (MLflow flavours) applies to Python agents, whose MLflow spans are captured.
    """
    if not spec:
        raise ConfigError(
            "no agent given (pass --agent 'pkg.module:function', --agent 'cmd:python agent.py' "
            "or --agent http://127.0.0.1:8000/v1/chat/completions, or set agent in costar.toml)"
        )
    if spec.startswith(("http://", "https://")):
        return HttpAgent(spec)
    if spec.startswith("cmd:"):
        command = spec.removeprefix("cmd:").strip()
        if not command:
            raise ConfigError("agent 'cmd:' needs a command after the colon")
        return CommandAgent(command, root)
    return PythonAgent(spec, root, autolog)
