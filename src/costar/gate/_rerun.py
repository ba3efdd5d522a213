"""`costar run --only-failed RUN`: which scenarios of a run failed a gated judge (costar.ci
narrows the run to them).

"Gated" is what the gate means by it (`GatePolicy.judges`, else every judge with pass/fail
verdicts in the run). A scenario is chosen when any verdict of a gated judge on any of its
trials failed; errors and skips are not failures (an error is never a pass or a fail). The
verdicts are the run's newest per trace and judge, as `costar gate` reads them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from costar._exceptions import UsageError
from costar.gate._gate import gated_judges
from costar.gate._policy import GatePolicy
from costar.judges import Verdict


@dataclass
class FailedScenarios:
    """The scenarios of a run that failed a gated judge, and what a re-run of them needs."""

    run_id: str
    suite: str  # the run's suite folder, as it recorded it
    trials: int  # the run's trials per scenario
    judges: list[str]  # the gated judges
    failed: dict[str, list[str]] = field(default_factory=dict)  # scenario -> judges it failed
    missing: list[str] = field(default_factory=list)  # failed; not in the suite now (or --tag)

    @property
    def ids(self) -> list[str]:
        return sorted(self.failed)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def failed_by_scenario(verdicts: list[Verdict], judges: list[str]) -> dict[str, list[str]]:
    """Scenario id -> the judges of `judges` that failed on at least one of its trials."""
    wanted = set(judges)
    out: dict[str, set[str]] = {}
    for v in verdicts:
        if v.judge in wanted and v.status == "ok" and v.passed is False:
            out.setdefault(v.scenario_id, set()).add(v.judge)
    return {sid: sorted(names) for sid, names in sorted(out.items())}


def failed_scenarios(run: Any, verdicts: list[Verdict], policy: GatePolicy) -> FailedScenarios:
    """The scenarios of `run` (a RunInfo) that failed a gated judge, from its verdicts."""
    if "suite" not in run.params:
        raise UsageError(
            f"run {run.run_id[:12]} was not made by `costar run` (it names no suite), so "
            "--only-failed cannot re-run it"
        )
    if not verdicts:
        raise UsageError(
            f"run {run.run_id[:12]} has no verdicts; run `costar assess {run.run_id[:12]}` "
            "first, then --only-failed re-runs what failed"
        )
    judges = gated_judges(policy, verdicts)
    return FailedScenarios(
        run_id=run.run_id,
        suite=run.params["suite"],
        trials=int(run.params.get("trials", 1)),
        judges=judges,
        failed=failed_by_scenario(verdicts, judges),
    )
