"""Judges: the Judge protocol and registry, TraceView, built-in checks and metrics."""

from costar.judges._ensemble import REDUCTIONS, Ensemble, reduce_verdicts
from costar.judges._fidelity import FIDELITY_JUDGE
from costar.judges._judge import ENTRY_POINT_GROUP, Judge, JudgeSpec, build, judge, registered
from costar.judges._load import default_judges, describe, load_judges, narrow, unknown_judges
from costar.judges._metrics import DEFAULT_METRICS, cost_usd, metrics
from costar.judges._project_tools import ToolSpec, judge_tool, registered_tools
from costar.judges._prompt import data_rule, delimit
from costar.judges._references import Passage, References, load_references
from costar.judges._verdict import VERDICT_VERSION, JudgeCost, Outcome, Verdict, skip
from costar.judges._view import SpanView, ToolCallView, TraceView, TurnView

__all__ = [
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
    "cost_usd",
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
