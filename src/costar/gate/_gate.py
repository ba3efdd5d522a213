"""The gate: may a candidate run ship, compared with a baseline run, under a policy?

Checks, in order: the runs are comparable (`costar.gate._runs`: same suite, the scenarios the
policy asks both to share; otherwise the gate fails and says which scenarios are missing on
which side), then per gated judge its error rate, that it has pass/fail verdicts, its minimum
pass rate, and the paired decision (`costar.gate._decide`: pass, regression or inconclusive,
with Holm's procedure holding `alpha` over every judge), then metric increases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from costar.assess import JudgeDelta, SimulatorFaults, compare_runs, simulator_faults, summarise
from costar.gate._decide import JudgeDecision, decide
from costar.gate._policy import GatePolicy
from costar.gate._runs import draft_scenarios, incomparable
from costar.judges import FIDELITY_JUDGE, Verdict
from costar.traces import dependency_diff as diff
from costar.traces import run_manifest


@dataclass
class GateCheck:
    """One rule applied to one judge (or to the pair of runs: judge "runs")."""

    judge: str
    rule: str
    ok: bool
    detail: str
    inconclusive: bool = False  # the data could not decide this check


@dataclass
class GateResult:
    """The decision and every check behind it."""

    passed: bool
    checks: list[GateCheck] = field(default_factory=list)
    decisions: dict[str, JudgeDecision] = field(default_factory=dict)
    family: str = ""  # how the false-alarm level is shared, for the output
    on_inconclusive: str = "warn"  # the policy's choice, for the warnings
    simulator: SimulatorFaults | None = None  # the candidate's simulator faults, left out

    @property
    def reasons(self) -> list[str]:
        """Why the gate fails, one line per failed check."""
        return [f"{c.judge}: {c.detail}" for c in self.checks if not c.ok]

    @property
    def warnings(self) -> list[str]:
        """Checks the data could not decide that the policy let pass with a warning."""
        if self.on_inconclusive != "warn":
            return []
        return [f"{c.judge}: {c.detail}" for c in self.checks if c.ok and c.inconclusive]

    @property
    def outcomes(self) -> dict[str, str]:
        """Judge -> pass | regression | inconclusive, for the judges compared in pairs."""
        return {name: d.decision for name, d in self.decisions.items()}

    def to_json(self, dependency_changes: list[str] | None = None) -> dict[str, Any]:
        """The decision as `costar gate --json` prints it."""
        data: dict[str, Any] = {
            "passed": self.passed,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "judges": self.outcomes,
            "family": self.family,
            "checks": [asdict(c) for c in self.checks],
        }
        if self.simulator is not None:
            data["simulator_faults"] = asdict(self.simulator)
        if dependency_changes is not None:
            data["dependency_changes"] = dependency_changes
        return data


def _paired(
    baseline: list[Verdict], deltas: dict[str, JudgeDelta], gated: list[str], policy: GatePolicy
) -> tuple[dict[str, JudgeDecision], list[str]]:
    """The paired decisions of the gated judges present in both runs, and those missing in
    the baseline."""
    base = summarise(baseline)
    comparisons = {
        name: c for name in gated if name in deltas and (c := deltas[name].comparison) is not None
    }
    rates, trials = {}, {}
    for name in comparisons:
        counts = [base[name].per_scenario[s] for s in sorted(base[name].per_scenario)]
        rates[name] = [c / n for n, c in counts if n]
        trials[name] = min((n for n, _ in counts), default=0)
    decisions = decide(
        comparisons,
        rates,
        trials,
        policy.alpha,
        policy.effect,
        policy.power,
    )
    return decisions, [name for name in gated if name not in base]


def gated_judges(policy: GatePolicy, verdicts: list[Verdict]) -> list[str]:
    """The judges that gate: the policy's list, else every judge with pass/fail verdicts."""
    if policy.judges:
        return list(policy.judges)
    return sorted(  # the fidelity judge checks the simulator: it never gates the agent
        name
        for name, s in summarise(verdicts).items()
        if s.rate is not None and name != FIDELITY_JUDGE
    )


def evaluate(
    baseline: list[Verdict] | None,
    candidate: list[Verdict],
    policy: GatePolicy,
    runs: tuple[Any, Any] | None = None,
) -> GateResult:
    """Apply the policy to the candidate's verdicts, paired with the baseline's (None: only
    the absolute rules apply). `runs` (the two RunInfos) lets the gate check their suites and
    leave out the draft scenarios either ran (`--include-drafts`): drafts are never gated."""
    if runs is not None:
        drafts = draft_scenarios(runs[0]) | draft_scenarios(runs[1])
        candidate = [v for v in candidate if v.scenario_id not in drafts]
        if baseline is not None:
            baseline = [v for v in baseline if v.scenario_id not in drafts]
    cand = summarise(candidate)
    gated = gated_judges(policy, candidate)
    checks: list[GateCheck] = []
    paired = baseline is not None and policy.no_regression
    if baseline is not None:
        reason = incomparable(baseline, candidate, policy, runs)
        if reason:
            checks.append(GateCheck("runs", "comparable", False, reason))
            paired = False
    decisions: dict[str, JudgeDecision] = {}
    not_in_baseline: list[str] = []
    deltas = compare_runs(baseline, candidate) if baseline is not None else {}
    if paired and baseline is not None:
        judged = [n for n in gated if n in cand and cand[n].rate is not None]
        decisions, not_in_baseline = _paired(baseline, deltas, judged, policy)
    for name in gated:
        s = cand.get(name)
        if s is None:
            checks.append(
                GateCheck(
                    name,
                    "verdicts",
                    False,
                    "no verdicts in the candidate (run `costar assess` on it)",
                )
            )
            continue
        checks.append(
            GateCheck(
                name,
                "max_error_rate",
                s.error_rate <= policy.max_error_rate,
                f"judge error rate {s.error_rate:.0%} (at most {policy.max_error_rate:.0%})",
            )
        )
        if s.rate is None:
            checks.append(
                GateCheck(
                    name,
                    "verdicts",
                    False,
                    "no pass/fail verdicts in the "
                    "candidate (every verdict was an error or skipped)",
                )
            )
            continue
        floor = policy.min_pass_rate.get(name, policy.min_pass_rate.get("*"))
        if floor is not None:
            checks.append(
                GateCheck(
                    name,
                    "min_pass_rate",
                    s.rate >= floor,
                    f"pass rate {s.rate:.0%} (minimum {floor:.0%})",
                )
            )
        if name in decisions:
            d = decisions[name]
            unsure = d.decision == "inconclusive"
            ok = d.decision == "pass" or (unsure and policy.on_inconclusive != "fail")
            checks.append(GateCheck(name, "no_regression", ok, d.detail, inconclusive=unsure))
        elif name in not_in_baseline:
            checks.append(GateCheck(name, "no_regression", True, "not in the baseline"))
    for name, limit in policy.metric_increase.items() if baseline is not None else ():
        change = deltas[name].metric_change if name in deltas else None
        if change is None:
            checks.append(
                GateCheck(name, "metric_increase", False, "metric missing in one of the runs")
            )
        else:
            checks.append(
                GateCheck(
                    name,
                    "metric_increase",
                    change <= limit,
                    f"median changed {change:+.1%} (at most +{limit:.0%})",
                )
            )
    family = ""
    if decisions:
        family = (
            f"false-alarm level {policy.alpha} for the whole gate, shared by "
            f"{len(decisions)} judge(s) with Holm's procedure"
        )
    return GateResult(
        passed=all(c.ok for c in checks),
        checks=checks,
        decisions=decisions,
        family=family,
        on_inconclusive=policy.on_inconclusive,
        simulator=simulator_faults(candidate),
    )


def dependency_changes(baseline: Any, candidate: Any) -> list[str]:
    """What moved in the declared dependencies between two runs (RunInfos), one line each:
    shown beside the judges that regressed, since the agent may not be the cause."""
    return diff(run_manifest(baseline), run_manifest(candidate))
