"""What a conversation says, as text: production traces and scenarios, read alike.

A production conversation is its user's turns (from a costar trace or any MLflow trace whose
root holds chat messages, as `costar scenario from-trace` reads them); a scenario is its input
turns. Only what the user said is compared: it is what both sides share, and what an intent is.
"""

from __future__ import annotations

from dataclasses import dataclass

from costar.monitor import user_turns
from costar.scenarios import LoadedScenario, Suite
from costar.traces import TraceStore


@dataclass(frozen=True)
class Conversation:
    """One production conversation: its trace id and the user's turns."""

    trace_id: str
    turns: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.turns)


def scenario_text(item: LoadedScenario) -> str:
    """The user's side of a scenario: its turns."""
    return "\n".join(item.scenario.turns)


def suite_texts(suite: Suite) -> list[str]:
    """The user's side of every scenario of the suite, in suite order."""
    return [scenario_text(s) for s in suite.scenarios]


def read_conversations(store: TraceStore, limit: int | None = None) -> list[Conversation]:
    """The experiment's conversations (newest first, at most `limit`) that have a user turn;
    spans are read in batches and dropped, only the turns are kept."""
    found: list[Conversation] = []
    for batch in store.experiment_views(limit):
        for view in batch:
            turns = tuple(t for t in user_turns(view) if t.strip())
            if turns:
                found.append(Conversation(view.trace_id, turns))
    return found
