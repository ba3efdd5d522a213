"""Aggregates of a run's verdicts, and a paired comparison with a baseline run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from costar.assess._stats import Comparison, compare, pass_at_k, pass_hat_k, quantile, wilson
from costar.judges import FIDELITY_JUDGE, Verdict


@dataclass
class JudgeSummary:
    """One judge over one run."""

    judge: str
    kind: str
    verdicts: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    rate: float | None = None
    ci: tuple[float, float] | None = None
    error_rate: float = 0.0
    pass_at_k: dict[int, float] = field(default_factory=dict)
    pass_hat_k: dict[int, float] = field(default_factory=dict)
    flaky: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)
    per_scenario: dict[str, tuple[int, int]] = field(default_factory=dict)  # (trials, passes)
    median: float | None = None
    p90: float | None = None
    simulator_faults: int = 0  # verdicts on simulator-fault trials, left out of all the above


@dataclass
class SimulatorFaults:
    """A run's simulated conversations that the simulator-fidelity judge flagged."""

    checked: int  # simulated trials with a fidelity verdict (not an error or a skip)
    faults: int
    rate: float | None
    ci: tuple[float, float] | None
    trials: list[dict[str, Any]] = field(default_factory=list)  # scenario, trial, trace, why
    errors: int = 0  # fidelity verdicts in error: those trials are unchecked

    def line(self) -> str:
        """One line for the terminal: the fault rate with its 95% interval."""
        if self.rate is None or self.ci is None:
            return f"simulator faults: none checked ({self.errors} fidelity errors)"
        lo, hi = self.ci
        text = (
            f"simulator faults: {self.faults} of {self.checked} simulated trials "
            f"({self.rate:.0%}, 95% CI {lo:.0%}-{hi:.0%}); kept out of pass rates and the gate"
        )
        return text + (f"; {self.errors} unchecked (fidelity errors)" if self.errors else "")


def fault_traces(verdicts: list[Verdict]) -> set[str]:
    """Trace ids the simulator-fidelity judge failed: the simulator broke its instructions."""
    return {
        v.trace_id
        for v in verdicts
        if v.judge == FIDELITY_JUDGE and v.status == "ok" and v.passed is False
    }


def simulator_faults(verdicts: list[Verdict]) -> SimulatorFaults | None:
    """The run's simulator fault rate (Wilson interval) and the flagged trials; None when the
    run has no simulated conversation."""
    checks = [v for v in verdicts if v.judge == FIDELITY_JUDGE and v.status != "skipped"]
    if not checks:
        return None
    judged = [v for v in checks if v.status == "ok" and v.passed is not None]
    faults = [v for v in judged if v.passed is False]
    return SimulatorFaults(
        checked=len(judged),
        faults=len(faults),
        rate=len(faults) / len(judged) if judged else None,
        ci=wilson(len(faults), len(judged)) if judged else None,
        trials=[
            {
                "scenario_id": v.scenario_id,
                "trial": v.trial,
                "trace_id": v.trace_id,
                "status": "simulator fault",
                "why": v.rationale,
            }
            for v in faults
        ],
        errors=sum(1 for v in checks if v.status == "error"),
    )


def _numeric(v: Verdict) -> float | None:
    if isinstance(v.value, bool) or not isinstance(v.value, (int, float)):
        return None
    return float(v.value)


def summarise(verdicts: list[Verdict]) -> dict[str, JudgeSummary]:
    """Per judge: counts, pass rate with its Wilson interval, pass@k and pass^k for k up to the
    trials per scenario, flaky scenarios (trials disagree), judge error rate, and the median
    and p90 of numeric values (metrics). Trials the simulator-fidelity judge failed are
    simulator faults, not the agent's: they count in no other judge's figures
    (`simulator_faults` says how many verdicts were left out)."""
    out: dict[str, JudgeSummary] = {}
    values: dict[str, list[float]] = {}
    faulty = fault_traces(verdicts)
    for v in verdicts:
        s = out.setdefault(v.judge, JudgeSummary(judge=v.judge, kind=v.kind))
        if v.trace_id in faulty and v.judge != FIDELITY_JUDGE:
            s.simulator_faults += 1
            continue
        s.verdicts += 1
        if v.status == "error":
            s.errors += 1
        elif v.status == "skipped":
            s.skipped += 1
        elif v.passed is not None:
            n, c = s.per_scenario.get(v.scenario_id, (0, 0))
            s.per_scenario[v.scenario_id] = (n + 1, c + int(v.passed))
            s.passed += int(v.passed)
            s.failed += int(not v.passed)
        if v.status == "ok" and (number := _numeric(v)) is not None:
            values.setdefault(v.judge, []).append(number)
    for name, s in out.items():
        judged = s.passed + s.failed
        if judged:
            s.rate = s.passed / judged
            s.ci = wilson(s.passed, judged)
        s.error_rate = s.errors / s.verdicts if s.verdicts else 0.0
        counts = list(s.per_scenario.values())
        if counts:
            for k in range(1, min(n for n, _ in counts) + 1):
                s.pass_at_k[k] = round(pass_at_k(counts, k), 6)
                s.pass_hat_k[k] = round(pass_hat_k(counts, k), 6)
        s.flaky = sorted(sid for sid, (n, c) in s.per_scenario.items() if 0 < c < n)
        s.failing = sorted(sid for sid, (n, c) in s.per_scenario.items() if c < n)
        if vals := values.get(name):
            s.median, s.p90 = quantile(vals, 0.5), quantile(vals, 0.9)
    return out


@dataclass
class JudgeDelta:
    """One judge, candidate against baseline."""

    judge: str
    comparison: Comparison | None = None
    metric_change: float | None = None  # relative change of the median value
    note: str = ""


def compare_runs(baseline: list[Verdict], candidate: list[Verdict]) -> dict[str, JudgeDelta]:
    """Per judge present in both runs: the paired comparison and the metric median change."""
    base, cand = summarise(baseline), summarise(candidate)
    out: dict[str, JudgeDelta] = {}
    for name in sorted(set(base) & set(cand)):
        b, c = base[name], cand[name]
        delta = JudgeDelta(judge=name)
        if b.per_scenario and c.per_scenario:
            try:
                delta.comparison = compare(b.per_scenario, c.per_scenario)
            except ValueError as exc:
                delta.note = str(exc)
        if b.median is not None and c.median is not None:
            delta.metric_change = (c.median - b.median) / b.median if b.median else None
        out[name] = delta
    return out


def to_json(obj: Any) -> Any:
    """Dataclasses to plain data."""
    return asdict(obj)
