"""TrialRecord: everything the harness knows about one finished trial, before it is a trace."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from costar.traces._record import SpanRecord

# how a trial ended
TrialStatus = Literal["ok", "error", "timeout"]
# the prefix of every tag costar sets on runs and traces
TAG_PREFIX = "costar."
# simulated users (costar.harness._simulator writes them, judges and reports read them)
SIMULATOR_SPAN = "SIMULATED_USER"  # the span type of the simulator's model calls
SIMULATOR_USAGE = "costar.simulator.tokenUsage"  # their token usage (not the agent's)
SIMULATOR_STOP_TAG = "costar.simulator.stop"  # stopped | max_turns | agent_error | ...
SIMULATOR_ERROR_TAG = "costar.simulator.error"  # why the simulator failed, when it did


def new_trace_id() -> str:
    """An MLflow v3 trace id (`tr-` + 32 hex digits of the OpenTelemetry trace id)."""
    return "tr-%032x" % (random.getrandbits(128) or 1)


@dataclass
class Turn:
    """One user message and the agent's reply to it."""

    user: str
    reply: Any = None
    start_ns: int = 0
    end_ns: int = 0
    span_id: int = 0
    error: str | None = None


def last_reply(replies: Iterable[Any]) -> Any:
    """The last reply that says something (not None, blank text or an empty container)."""
    found = None
    for reply in replies:
        if isinstance(reply, str):
            said = bool(reply.strip())
        else:
            said = reply is not None and not (isinstance(reply, (dict, list, tuple)) and not reply)
        if said:
            found = reply
    return found


@dataclass
class TrialRecord:
    """One trial of one scenario in one run: becomes one MLflow trace."""

    run_id: str
    scenario_id: str
    trial: int
    status: TrialStatus
    turns: list[Turn]
    start_ns: int
    end_ns: int
    spans: list[SpanRecord] = field(default_factory=list)
    error: str | None = None
    stderr: str | None = None
    stdout: str | None = None  # what an in-process agent printed (command agents reply there)
    exception: dict[str, str] | None = None  # type, message, stacktrace of what the agent raised
    snapshot: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    root_span_id: int = 0
    trace_id: str = field(default_factory=new_trace_id)

    @property
    def output(self) -> Any:
        """The agent's last non-empty reply: a trailing user turn the agent did not answer
        (a goodbye, a simulated user's stop token) does not erase it."""
        return last_reply(t.reply for t in self.turns if t.start_ns)

    def all_tags(self) -> dict[str, str]:
        """Tags written on the trace: run, scenario, trial, status and the caller's tags."""
        return {
            f"{TAG_PREFIX}run_id": self.run_id,
            f"{TAG_PREFIX}scenario_id": self.scenario_id,
            f"{TAG_PREFIX}trial": str(self.trial),
            f"{TAG_PREFIX}status": self.status,
            **self.tags,
        }
