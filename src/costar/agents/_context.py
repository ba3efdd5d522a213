"""What an agent adapter receives for each user turn, and the adapter interface."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from costar.traces import Recorder


@dataclass(frozen=True)
class AgentContext:
    """One user turn of a scenario, as the agent under test sees it.

    `history` holds the conversation so far as chat messages
    (`{"role": "user" | "assistant", "content": ...}`), not including `input`.
    """

    input: str
    history: list[dict[str, Any]]
    workspace: Path
    scenario_id: str
    trial: int
    turn: int
    description: str = ""
    tags: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history plus this turn's user message, in chat-completions shape."""
        return [*self.history, {"role": "user", "content": self.input}]

    def to_json(self) -> dict[str, Any]:
        """The context as sent to command and HTTP agents."""
        return {
            "input": self.input,
            "history": self.history,
            "workspace": str(self.workspace),
            "scenario": {
                "id": self.scenario_id,
                "description": self.description,
                "tags": self.tags,
            },
            "trial": self.trial,
            "turn": self.turn,
        }


@dataclass
class TurnResult:
    """The agent's reply to one turn, with what it printed (stdout only for in-process agents:
    a command agent's stdout is its reply)."""

    output: Any
    stderr: str | None = None
    stdout: str | None = None


class AgentSession(Protocol):
    """One trial's conversation with the agent. Raises AgentError subclasses on failure."""

    def run_turn(
        self, ctx: AgentContext, recorder: Recorder, timeout: float, cancel: threading.Event
    ) -> TurnResult:
        """Run one user turn; record steps into `recorder`."""
        ...

    def close(self) -> None:
        """Release what the trial held (temporary files)."""


class Agent(Protocol):
    """An adapter for the agent under test; safe to share between concurrent trials."""

    spec: str

    def open_trial(self) -> AgentSession:
        """A fresh session with per-trial state."""
        ...
