"""Assess: the scoring engine, the verdict store and the derived trace cache."""

from costar.assess._cache import TraceCache
from costar.assess._consistency import Consistency, self_consistency
from costar.assess._engine import AssessConfig, AssessSummary, JudgeTally, assess, score_traces
from costar.assess._report import JudgeDelta, JudgeSummary, compare_runs, summarise
from costar.assess._stats import (
    Comparison,
    bootstrap_ci,
    compare,
    drop_p_value,
    newcombe,
    pass_at_k,
    pass_hat_k,
    permutation_p,
    quantile,
    trials_needed,
    wilson,
)
from costar.assess._verdicts import VerdictSelection, VerdictStore, select_verdicts

__all__ = [
    "AssessConfig",
    "AssessSummary",
    "Comparison",
    "Consistency",
    "JudgeDelta",
    "JudgeSummary",
    "JudgeTally",
    "TraceCache",
    "VerdictSelection",
    "VerdictStore",
    "assess",
    "bootstrap_ci",
    "compare",
    "compare_runs",
    "drop_p_value",
    "newcombe",
    "pass_at_k",
    "pass_hat_k",
    "permutation_p",
    "quantile",
    "score_traces",
    "select_verdicts",
    "self_consistency",
    "summarise",
    "trials_needed",
    "wilson",
]
