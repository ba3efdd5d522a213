"""Agreement of the project's judges with the golden set (`costar judges agreement`, `check`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from costar.align._agreement import Agreement, Pair, agreement
from costar.align._golden import Consensus, GoldenSet, consensus
from costar.assess import AssessConfig, score_traces
from costar.judges import Judge, load_judges
from costar.traces import TraceStore


def judge_pairs(
    items: list[Consensus], config: AssessConfig, judge: Judge, cached: bool = True
) -> tuple[list[Pair], int]:
    """(human, judge) pairs on labelled traces, and how many the judge could not score.
    With `cached`, stored verdicts of the same judge version are reused and new ones stored;
    without, the judge scores afresh and nothing is stored (candidates, `judges check`)."""
    verdicts = {
        v.trace_id: v
        for v in score_traces(
            config, [c.trace_id for c in items], [judge], cached=cached, write=cached
        )
    }
    pairs, unscored = [], 0
    for c in items:
        v = verdicts.get(c.trace_id)
        value = (
            None if v is None or v.status != "ok" else v.passed if v.passed is not None else v.value
        )
        if v is None or value is None:
            unscored += 1
            continue
        pairs.append(Pair(c.trace_id, c.scenario_id, c.value, value, v.rationale, c.rationale))
    return pairs, unscored


@dataclass
class GoldenReport:
    """Agreement per judge, plus what could not be used."""

    agreements: list[Agreement] = field(default_factory=list)
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # judge -> trace ids
    unknown_judges: list[str] = field(default_factory=list)  # labels for judges not defined

    def below(self, threshold: float) -> list[str]:
        """Judges whose agreement is under `threshold` or undefined: kappa for pass/fail
        judges, Spearman's rho for numeric ones (`costar judges check`)."""
        figures = {a.judge: a.spearman if a.numeric else a.kappa for a in self.agreements}
        return [name for name, f in figures.items() if f is None or f < threshold]

    def to_json(self) -> dict[str, Any]:
        return {
            "agreements": [a.to_json() for a in self.agreements],
            "conflicts": self.conflicts,
            "unknown_judges": self.unknown_judges,
        }


def label_judges(config: AssessConfig, names: list[str] | None = None) -> list[Judge]:
    """The judges to label for: the named ones, else the LLM and agentic judges (the ones
    whose verdicts need a human check), else the checks."""
    judges = load_judges(config.root, config.judge_paths, names or None)
    if names:
        return judges
    llm = [j for j in judges if j.kind in ("llm", "agentic")]
    return llm or [j for j in judges if j.kind == "check"]


def measure(
    config: AssessConfig, judges: list[str] | None = None, cached: bool = True, seed: int = 0
) -> GoldenReport:
    """Agreement of each labelled judge (or just `judges`) with the humans' consensus."""
    store = TraceStore(config.tracking_uri, config.experiment)
    labels = GoldenSet(store).labels()
    by_judge: dict[str, list[Consensus]] = {}
    for c in consensus(labels):
        by_judge.setdefault(c.judge, []).append(c)
    defined = {j.name: j for j in load_judges(config.root, config.judge_paths, judges or None)}
    report = GoldenReport()
    report.unknown_judges = sorted(set(by_judge) - set(defined)) if not judges else []
    for name, judge in defined.items():
        items = by_judge.get(name, [])
        if not items:
            continue
        report.conflicts[name] = [c.trace_id for c in items if c.value is None]
        usable = [c for c in items if c.value is not None]
        pairs, unscored = judge_pairs(usable, config, judge, cached=cached)
        report.agreements.append(agreement(name, pairs, unscored=unscored, seed=seed))
    return report
