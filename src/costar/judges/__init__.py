"""Judges: the Judge protocol and registry, TraceView, built-in checks and metrics."""

from costar.judges._fidelity import FIDELITY_JUDGE
from costar.judges._judge import ENTRY_POINT_GROUP, Judge, JudgeSpec, build, judge, registered
from costar.judges._load import default_judges, describe, load_judges, narrow, unknown_judges
from costar.judges._metrics import DEFAULT_METRICS, cost_usd, metrics
from costar.judges._prompt import data_rule, delimit
from costar.judges._verdict import VERDICT_VERSION, JudgeCost, Outcome, Verdict, skip
from costar.judges._view import SpanView, ToolCallView, TraceView, TurnView

__all__ = [
    "DEFAULT_METRICS",
    "ENTRY_POINT_GROUP",
    "FIDELITY_JUDGE",
    "VERDICT_VERSION",
    "Judge",
    "JudgeCost",
    "JudgeSpec",
    "Outcome",
    "SpanView",
    "ToolCallView",
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
    "load_judges",
    "metrics",
    "narrow",
    "registered",
    "skip",
    "unknown_judges",
]
