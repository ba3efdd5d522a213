"""Ensembles: one verdict from several judges, or from k samples of one LLM judge.

```yaml
judges:
  - name: guidelines-x3
    use: ensemble
    params: {judge: follows-guidelines, samples: 3, reduce: majority}
  - name: refund-panel
    use: ensemble
    params: {judges: [policy-before-refund, policy-explorer], reduce: all}
```

Each member scores the trace (whatever the scenario's `judges:` block says about the member
itself). Members' scores are 1 for a pass, 0 for a fail, or their numeric value. Reductions:
`mean`, `min`, `max` (the value; passed when it reaches `threshold`, default 0.5, so `min`
over pass/fail members needs every pass and `max` one), `all`, `any`, `majority` (more than
half pass; a tie fails). The verdict carries each member's verdict (`details.members`), the
agreement among them (the share of members whose pass/fail matches the ensemble's), and the
summed cost. A member error makes the ensemble an error (an error is never a pass or a fail);
skipped members are left out. The ensemble's version hashes its reduction and its members'
versions, so changing a member re-scores the ensemble too.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from costar._exceptions import ConfigError
from costar.judges._judge import Judge, judge
from costar.judges._verdict import JudgeCost, Verdict
from costar.traces import TraceView

# how an ensemble combines its members' verdicts (`reduce:`)
REDUCTIONS = ("mean", "min", "max", "all", "any", "majority")
_STRENGTH = {"metric": 0, "check": 1, "llm": 2, "agentic": 3}


@judge("ensemble", "llm", reads=[])
def ensemble(
    view: TraceView,
    scenario: Any,
    judges: list[str] | None = None,
    judge: str | None = None,
    samples: int = 1,
    reduce: str = "majority",
    threshold: float = 0.5,
    temperature: float | None = None,
) -> Any:
    """One verdict from several of the project's judges (`judges`) or from `samples` runs of
    one LLM judge (`judge`), reduced by mean, min, max, all, any or majority."""
    raise ConfigError("an ensemble is defined in judges/*.yaml over the project's judges")


@dataclass
class Ensemble(Judge):
    """A judge whose verdict reduces its members' verdicts."""

    members: list[Judge] = field(default_factory=list)
    defined: dict[str, Judge] = field(default_factory=dict)  # members as the project defines them

    @cached_property
    def version(self) -> str:
        payload = {
            "ensemble": {k: v for k, v in self.params.items() if k not in ("judges", "judge")},
            "members": [m.version for m in self.members],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]

    def inputs(self, scenario: Any) -> str:
        parts = [Judge.inputs(self, scenario)] + [m.inputs(scenario) for m in self.members]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def run(
        self, view: TraceView, scenario: Any, base: dict[str, Any], start: float | None = None
    ) -> Verdict:
        start = time.monotonic() if start is None else start
        results = []
        for i, member in enumerate(self.members):
            member_base = {**base, "judge": member.name, "judge_version": member.version}
            member_base["kind"] = member.kind
            results.append((i, member.run(view, scenario, member_base)))
        cost = JudgeCost()
        for _, r in results:
            for key in ("llm_calls", "input_tokens", "output_tokens", "tool_calls"):
                setattr(cost, key, getattr(cost, key) + getattr(r.cost, key))
            cost.tool_seconds += r.cost.tool_seconds
        cost.seconds = round(time.monotonic() - start, 6)
        members = [_member(i, self, r) for i, r in results]
        errors = [r for _, r in results if r.status == "error"]
        counted = [r for _, r in results if r.status == "ok"]
        details: dict[str, Any] = {"reduce": self.params.get("reduce", "majority")}
        details["members"] = members
        if errors:
            return Verdict(
                **base,
                status="error",
                error=f"{len(errors)} of {len(results)} members failed: {errors[0].error}",
                cost=cost,
                details=details,
            )
        if not counted:
            why = "; ".join(sorted({r.rationale for _, r in results}))[:300]
            return Verdict(**base, status="skipped", rationale=why, cost=cost, details=details)
        passed, value = reduce_verdicts(counted, details["reduce"], self.threshold)
        votes = [r.passed for r in counted if r.passed is not None]
        agreement = sum(1 for v in votes if v == passed) / len(votes) if votes else None
        details["agreement"] = None if agreement is None else round(agreement, 4)
        evidence: list[str] = []
        for r in counted:
            evidence += [e for e in r.evidence if e not in evidence]
        ayes = sum(1 for v in votes if v)
        rationale = (
            f"{details['reduce']} of {len(counted)}: {ayes} pass, {len(votes) - ayes} fail"
            + (f", agreement {agreement:.0%}" if agreement is not None else "")
        )
        dissent = [r for r in counted if r.passed is not None and r.passed != passed]
        agree = [r for r in counted if r.passed == passed]
        if agree and agree[0].rationale:
            rationale += f". {agree[0].rationale}"
        if dissent and dissent[0].rationale:
            rationale += f" (dissent: {dissent[0].rationale})"
        return Verdict(
            **base,
            status="ok",
            passed=passed,
            value=value,
            rationale=rationale,
            evidence=evidence,
            cost=cost,
            details=details,
        )

    @property
    def threshold(self) -> float:
        return float(self.params.get("threshold", 0.5))

    def llm_member(self) -> Judge:
        """The one LLM or agentic judge among the members (what aligning the ensemble aligns);
        a ConfigError when there is none or more than one."""
        found = {n: m for n, m in self.defined.items() if m.kind in ("llm", "agentic")}
        if len(found) != 1:
            raise ConfigError(
                f"ensemble {self.name!r} has {len(found)} LLM judges among its members "
                f"({', '.join(sorted(found)) or 'none'}); only an ensemble over one LLM judge "
                "(its samples, or it beside checks) can be aligned: align its members instead"
            )
        return next(iter(found.values()))

    def with_member(self, member: Judge) -> Ensemble:
        """This ensemble with `member` in place of the member of the same name."""
        by_name = {**self.defined, member.name: member}
        raw = Judge(self.name, self.kind, self.fn, dict(self.params), "ensemble", (), self.opt_in)
        return resolve(replace(raw, root=self.root), by_name)


def _member(i: int, ens: Ensemble, r: Verdict) -> dict[str, Any]:
    samples = int(ens.params.get("samples", 1))
    return {
        "judge": r.judge,
        "sample": i if samples > 1 else None,
        "status": r.status,
        "passed": r.passed,
        "value": r.value,
        "rationale": r.rationale[:500],
        "evidence": r.evidence,
        "error": r.error,
    }


def _score(v: Verdict) -> float | None:
    if v.passed is not None:
        return 1.0 if v.passed else 0.0
    if isinstance(v.value, (int, float)) and not isinstance(v.value, bool):
        return float(v.value)
    return None


def reduce_verdicts(verdicts: list[Verdict], how: str, threshold: float = 0.5) -> tuple[bool, Any]:
    """(passed, value) of member verdicts under one reduction (see the module docstring)."""
    scores = [s for v in verdicts if (s := _score(v)) is not None]
    if not scores:
        raise ValueError("no member gave a pass/fail or a number")
    votes = [v.passed for v in verdicts if v.passed is not None]
    share = sum(1 for x in votes if x) / len(votes) if votes else None
    if how in ("mean", "min", "max"):
        pick: dict[str, Callable[[list[float]], float]] = {
            "mean": statistics.fmean,
            "min": min,
            "max": max,
        }
        value = pick[how](scores)
        return value >= threshold, round(value, 6)
    if how == "all":
        return all(votes) and bool(votes), share
    if how == "any":
        return any(votes), share
    if how == "majority":
        return share is not None and share > 0.5, share
    raise ValueError(f"unknown reduction {how!r} ({', '.join(REDUCTIONS)})")


def resolve(ens: Judge, by_name: dict[str, Judge]) -> Ensemble:
    """The ensemble `ens` (as built from YAML) with its members taken from the project."""
    p = ens.params
    reduce = p.get("reduce", "majority")
    if reduce not in REDUCTIONS:
        raise ConfigError(f"ensemble {ens.name!r}: reduce must be one of {', '.join(REDUCTIONS)}")
    names = list(p.get("judges") or ([] if p.get("judge") is None else [p["judge"]]))
    samples = int(p.get("samples", 1))
    if not names or (p.get("judges") and p.get("judge")) or samples < 1:
        raise ConfigError(
            f"ensemble {ens.name!r}: give `judges: [names]`, or `judge: name` with `samples: k`"
        )
    members = []
    for name in names:
        if name not in by_name:
            raise ConfigError(f"ensemble {ens.name!r}: the project has no judge {name!r}")
        member = by_name[name]
        if member.uses == "ensemble" or isinstance(member, Ensemble):
            raise ConfigError(f"ensemble {ens.name!r}: member {name!r} is an ensemble itself")
        members.append(member)
    defined = {m.name: m for m in members}
    if samples > 1:
        if len(members) != 1 or members[0].kind not in ("llm", "agentic"):
            raise ConfigError(f"ensemble {ens.name!r}: samples need one LLM or agentic judge")
        one = members[0]
        temperature = p.get("temperature")
        if temperature is not None and "temperature" in inspect.signature(one.fn).parameters:
            one = replace(one, params={**one.params, "temperature": temperature})
        members = [one] * samples
    kind = max((m.kind for m in members), key=_STRENGTH.__getitem__)
    return Ensemble(
        name=ens.name,
        kind=kind,
        fn=ens.fn,
        params=dict(p),
        uses="ensemble",
        reads=(),
        opt_in=ens.opt_in,
        root=ens.root,
        members=members,
        defined=defined,
    )
