"""Judges: the Judge protocol and registry, built-in checks and metrics (TraceView, the read
API judges use, is costar.traces's and re-exported here)."""

from typing import Any

from costar.judges._ensemble import REDUCTIONS, Ensemble, reduce_verdicts
from costar.judges._fidelity import FIDELITY_JUDGE
from costar.judges._judge import (
    ENTRY_POINT_GROUP,
    Judge,
    JudgeSpec,
    build,
    judge,
    judge_model,
    registered,
)
from costar.judges._load import default_judges, describe, load_judges, narrow, unknown_judges
from costar.judges._metrics import DEFAULT_METRICS, cost_usd, metrics
from costar.judges._project_tools import ToolSpec, judge_tool, registered_tools
from costar.judges._prompt import clip_value, data_rule, delimit, new_boundary
from costar.judges._references import Passage, References, load_references
from costar.judges._tools import MAX_LIST, TOOL_SCHEMAS, JudgeTools, as_text, tool_schema
from costar.judges._verdict import VERDICT_VERSION, JudgeCost, Outcome, Verdict, skip

# TraceView and its parts live in costar.traces; they stay importable from here
from costar.traces import COMPACT_VERSION, SpanView, ToolCallView, TraceView, TurnView

__all__ = [
    "MAX_LIST",
    "TOOL_SCHEMAS",
    "JudgeTools",
    "as_text",
    "judge_model",
    "new_boundary",
    "tool_schema",
    "COMPACT_VERSION",
    "DEFAULT_METRICS",
    "ENTRY_POINT_GROUP",
    "FIDELITY_JUDGE",
    "REDUCTIONS",
    "Ensemble",
    "VERDICT_VERSION",
    "Judge",
    "JudgeCost",
    "JudgeSpec",
    "Outcome",
    "Passage",
    "References",
    "SpanView",
    "ToolCallView",
    "ToolSpec",
    "TraceView",
    "TurnView",
    "Verdict",
    "build",
    "clip_value",
    "cost_usd",
    "criteria_text",
    "data_rule",
    "default_judges",
    "delimit",
    "describe",
    "judge",
    "judge_tool",
    "load_judges",
    "load_references",
    "metrics",
    "narrow",
    "reduce_verdicts",
    "registered",
    "registered_tools",
    "skip",
    "unknown_judges",
]


def __getattr__(name: str) -> Any:
    # the LLM judges' module loads the model client; import it only when asked
    if name == "criteria_text":
        from costar.judges._llm_judges import criteria_text

        return criteria_text
    raise AttributeError(f"module 'costar.judges' has no attribute {name!r}")
