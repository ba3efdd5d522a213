"""Refine: the agent loop. Briefs from failing verdicts, coding assistants (a command, or the
built-in GEPA search over text components) working in git worktrees, and an acceptance gate on
training and held-out splits."""

from costar.refine._accept import check_split, split_suite
from costar.refine._assistants import (
    Assistant,
    AssistantOutcome,
    AssistantTask,
    CommandAssistant,
    ScenarioScore,
    make_assistant,
)
from costar.refine._brief import Brief, build_brief
from costar.refine._config import RefineConfig, RefineError
from costar.refine._loop import Attempt, RefineResult, refine

__all__ = [
    "Assistant",
    "AssistantOutcome",
    "AssistantTask",
    "Attempt",
    "Brief",
    "CommandAssistant",
    "RefineConfig",
    "RefineError",
    "RefineResult",
    "ScenarioScore",
    "build_brief",
    "check_split",
    "make_assistant",
    "refine",
    "split_suite",
]
