"""Coding assistants behind one interface: `propose(task)` edits the worktree it is given.

- `CommandAssistant`: any command template, run in the worktree's project folder, for example
  `claude -p {brief}`, `codex exec {brief}` or `aider --message-file {brief_file}`.
  Placeholders: {brief} (the brief's text), {brief_file}, {worktree}, {project}.
- `GepaAssistant` (`costar.refine._gepa`): built in; an LLM proposes new versions of the
  declared text components and GEPA searches over them with judge scores and rationales.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import costar._protocol as protocol
from costar._exceptions import ConfigError
from costar._proc import run_process
from costar.refine._brief import Brief

OUTPUT_TAIL = 4000


@dataclass
class ScenarioScore:
    """One scenario's result under a candidate: the share of judge verdicts that pass, and why
    the others fail."""

    score: float
    feedback: str
    turns: list[str] = field(default_factory=list)
    output: str = ""


Evaluate = Callable[[list[str]], dict[str, ScenarioScore]]


@dataclass
class AssistantTask:
    """What an assistant works with in one attempt."""

    worktree: Path  # the repository root of the attempt's worktree
    project_dir: Path  # the costar project inside it
    brief: Brief
    brief_file: Path
    train: list[str]  # training scenario ids (held-out ones are never given)
    evaluate: Evaluate  # runs and judges the worktree's agent on scenarios


@dataclass
class AssistantOutcome:
    """What a coding assistant's turn ended in: ok, crashed or timeout, with its output."""

    status: Literal["ok", "crashed", "timeout"]
    detail: str
    output: str = ""
    tokens: int = 0


class Assistant(Protocol):
    """A coding assistant: proposes a change to the agent for a refine brief."""

    name: str

    def propose(self, task: AssistantTask) -> AssistantOutcome: ...


def _tail(text: str) -> str:
    return text if len(text) <= OUTPUT_TAIL else "..." + text[-OUTPUT_TAIL:]


class CommandAssistant:
    """A coding assistant run as a command in the worktree (see the module docstring)."""

    def __init__(self, template: str, timeout: float = 1800.0):
        if not template.strip():
            raise ConfigError("the assistant command is empty (for example: claude -p {brief})")
        try:
            self.args = shlex.split(template)
        except ValueError as exc:
            raise ConfigError(f"assistant command {template!r}: {exc}") from exc
        shown = [Path(a).name if i == 0 else a for i, a in enumerate(self.args)]
        self.name = " ".join(shown)[:80]
        self.timeout = timeout

    def propose(self, task: AssistantTask) -> AssistantOutcome:
        text = task.brief_file.read_text(encoding="utf-8")
        values = {
            "{brief}": text,
            "{brief_file}": str(task.brief_file),
            "{worktree}": str(task.worktree),
            "{project}": str(task.project_dir),
        }
        args = []
        for arg in self.args:
            for key, value in values.items():
                arg = arg.replace(key, value)
            args.append(arg)
        env = {
            **os.environ,
            protocol.BRIEF_FILE: str(task.brief_file),
            protocol.WORKTREE: str(task.worktree),
        }
        try:
            done = run_process(args, cwd=task.project_dir, env=env, timeout=self.timeout)
        except OSError as exc:
            return AssistantOutcome("crashed", f"cannot start {self.name!r}: {exc}")
        output = _tail(done.stdout.decode("utf-8", "replace") + done.stderr_text)
        if done.timed_out:
            return AssistantOutcome(
                "timeout", f"{self.name} ran past {self.timeout:g} s and was stopped", output
            )
        if done.returncode != 0:
            last = next((ln for ln in reversed(done.stderr_text.splitlines()) if ln.strip()), "")
            return AssistantOutcome(
                "crashed", f"{self.name} exited with {done.returncode}: {last[:300]}", output
            )
        return AssistantOutcome("ok", f"{self.name} finished in {done.seconds:.0f} s", output)


def make_assistant(
    spec: str, timeout: float, model: str | None, budget: int, components: list[str]
) -> Assistant:
    """`gepa` for the built-in assistant, else a command template (`cmd:` prefix optional)."""
    if spec.strip() == "gepa":
        from costar.refine._gepa import GepaAssistant

        return GepaAssistant(model=model, budget=budget, components=components)
    return CommandAssistant(spec.removeprefix("cmd:"), timeout)
