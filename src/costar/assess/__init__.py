"""Assess: the scoring engine, the verdict store and the derived trace cache."""

from costar.assess._cache import TraceCache
from costar.assess._consistency import Consistency, self_consistency
from costar.assess._engine import AssessConfig, AssessSummary, JudgeTally, assess, score_traces
from costar.assess._report import (
    JudgeDelta,
    JudgeSummary,
    SimulatorFaults,
    compare_runs,
    fault_traces,
    simulator_faults,
    summarise,
)
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
    "SimulatorFaults",
    "TraceCache",
    "VerdictSelection",
    "VerdictStore",
    "assess",
    "bootstrap_ci",
    "compare",
    "compare_runs",
    "drop_p_value",
    "fault_traces",
    "newcombe",
    "pass_at_k",
    "pass_hat_k",
    "permutation_p",
    "quantile",
    "score_traces",
    "select_verdicts",
    "simulator_faults",
    "self_consistency",
    "summarise",
    "trials_needed",
    "wilson",
]
