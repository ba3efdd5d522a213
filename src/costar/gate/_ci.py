"""`costar ci`: run the suite, assess the run, gate it against a baseline, in one step."""

from __future__ import annotations

from dataclasses import dataclass, field

from costar.assess import AssessConfig, AssessSummary, VerdictStore, assess
from costar.gate._gate import GateResult, dependency_changes, evaluate
from costar.gate._policy import GatePolicy
from costar.harness import RunConfig, RunSummary, run_suite
from costar.traces import TraceStore


@dataclass
class CiResult:
    """The three steps' outcomes."""

    run: RunSummary
    assessed: AssessSummary
    baseline_id: str | None
    gate: GateResult
    dependency_changes: list[str] = field(default_factory=list)


def ci(
    run_config: RunConfig,
    assess_config: AssessConfig,
    policy: GatePolicy,
    baseline: str | None,
    verdict_store: str,
) -> CiResult:
    """Run, assess, gate. `baseline` is a run id, 'previous' (the newest run before this one),
    or None (the candidate is judged by the policy's absolute rules only)."""
    store = TraceStore(run_config.tracking_uri, run_config.experiment)
    baseline_id = None
    if baseline == "previous":
        baseline_id = store.newest_run().run_id
    elif baseline:
        baseline_id = store.get_run(baseline).run_id
    summary = run_suite(run_config)
    ids = [summary.run_id] + ([baseline_id] if baseline_id else [])
    assessed = assess(
        assess_config.model_copy(update={"run_ids": ids, "last": False, "all_runs": False})
    )
    verdicts = VerdictStore(verdict_store)
    candidate = verdicts.for_run(summary.run_id)
    base = verdicts.for_run(baseline_id) if baseline_id else candidate
    changes = (
        dependency_changes(store.get_run(baseline_id), store.get_run(summary.run_id))
        if baseline_id
        else []
    )
    return CiResult(summary, assessed, baseline_id, evaluate(base, candidate, policy), changes)
