"""Assess: the scoring engine and the verdict store. `TraceCache` (the derived trace cache)
now lives in costar.traces and is re-exported here for older callers."""

from costar.assess._consistency import Consistency, self_consistency
from costar.assess._engine import (
    AssessConfig,
    AssessSummary,
    JudgeTally,
    assess,
    score_traces,
    trace_views,
)
from costar.assess._engine import _mirror as mirror_verdicts
from costar.assess._engine import _scenarios as run_scenarios
from costar.assess._errors import breach_message, error_breaches
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
from costar.traces import TraceCache

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
    "breach_message",
    "compare",
    "compare_runs",
    "drop_p_value",
    "error_breaches",
    "fault_traces",
    "mirror_verdicts",
    "newcombe",
    "pass_at_k",
    "pass_hat_k",
    "permutation_p",
    "quantile",
    "run_scenarios",
    "score_traces",
    "select_verdicts",
    "simulator_faults",
    "self_consistency",
    "summarise",
    "trace_views",
    "trials_needed",
    "wilson",
]
