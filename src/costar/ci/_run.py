"""`costar ci`: run the suite, assess the run, gate it against a baseline, in one step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from costar.assess import AssessConfig, AssessSummary, VerdictStore, assess
from costar.gate import (
    GatePolicy,
    GateResult,
    dependency_changes,
    evaluate,
    planned_suite,
    previous_run,
)
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

    def to_json(self) -> dict[str, Any]:
        """The outcome as `costar ci --json` prints it."""
        return {
            "run": self.run.to_json(),
            "baseline": self.baseline_id,
            **self.gate.to_json(self.dependency_changes),
        }


def ci(
    run_config: RunConfig,
    assess_config: AssessConfig,
    policy: GatePolicy,
    baseline: str | None,
    verdict_store: str,
) -> CiResult:
    """Run, assess, gate. `baseline` is a run id, 'previous' (the newest finished earlier run
    of the same suite, with the same tag and scenario filters), or None (the candidate is
    judged by the policy's absolute rules only)."""
    store = TraceStore(run_config.tracking_uri, run_config.experiment)
    baseline_id = None
    if baseline == "previous":
        suite = planned_suite(
            run_config.suite, run_config.root, run_config.tags, run_config.scenarios
        )
        baseline_id = previous_run(store.list_runs(limit=1_000), suite).run_id
    elif baseline:
        baseline_id = store.get_run(baseline).run_id
    summary = run_suite(run_config)
    ids = [summary.run_id] + ([baseline_id] if baseline_id else [])
    assessed = assess(
        assess_config.model_copy(update={"run_ids": ids, "last": False, "all_runs": False})
    )
    verdicts = VerdictStore(verdict_store)
    candidate = verdicts.for_run(summary.run_id)
    if baseline_id is None:
        return CiResult(summary, assessed, None, evaluate(None, candidate, policy))
    runs = (store.get_run(baseline_id), store.get_run(summary.run_id))
    result = evaluate(verdicts.for_run(baseline_id), candidate, policy, runs)
    return CiResult(summary, assessed, baseline_id, result, dependency_changes(*runs))
