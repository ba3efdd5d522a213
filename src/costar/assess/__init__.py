"""Assess: the scoring engine, the verdict store and the derived trace cache."""

from costar.assess._cache import TraceCache
from costar.assess._engine import AssessConfig, AssessSummary, JudgeTally, assess
from costar.assess._verdicts import VerdictStore

__all__ = [
    "AssessConfig",
    "AssessSummary",
    "JudgeTally",
    "TraceCache",
    "VerdictStore",
    "assess",
]
