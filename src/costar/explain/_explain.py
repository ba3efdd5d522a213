"""`costar explain`: for each failing verdict of a trace (or a run), the earliest step that
caused it, and with `verify` the counterfactual that confirms or refutes the claim.

Deterministic evidence comes first (see `_evidence`); then, when a model is named (the
attributor's own, else COSTAR_JUDGE_MODEL or COSTAR_MODEL), the agentic attributor. With no
model, or when the attributor gives no usable answer, the earliest deterministic finding is the
attribution (method `deterministic`). Attributions are kept in `.costar/explain/` for
`costar refine`'s brief. Explaining never changes the trace or its verdicts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from costar._exceptions import CostarError, LLMError, UsageError
from costar.assess import VerdictStore
from costar.config import Project, Settings, given_flags
from costar.explain._attributor import attribute
from costar.explain._evidence import find_evidence
from costar.explain._model import Attribution, Evidence, Verification, save
from costar.explain._verify import verify
from costar.judges import Verdict, judge_model, load_judges
from costar.scenarios import load_suite
from costar.traces import TraceStep, TraceStore, TraceView, trace_steps

_KIND = {
    "failing_tool_result": "tool_result",
    "forbidden_call": "tool_call",
    "state_change": "tool_call",
}
_CONFIDENCE = {
    "failing_tool_result": 0.6,
    "forbidden_call": 0.6,
    "state_change": 0.5,
    "error": 0.4,
    "cited": 0.3,
}


class ExplainConfig(BaseModel):
    """What `costar explain` needs."""

    root: Path
    tracking_uri: str
    experiment: str = "costar"
    verdict_store: str | None = None
    judge_paths: list[str] = Field(default_factory=lambda: ["judges"])
    target: str = Field(description="A trace id, or a run id (every failing trace of it).")
    judges: list[str] = Field(default_factory=list, description="Only these judges' failures.")
    model: str | None = Field(None, description="The attributor's model; default the judges'.")
    agentic: bool = Field(True, description="Ask the attributor; false: evidence alone.")
    verify: bool = Field(False, description="Check each attribution by counterfactual replay.")
    trials: int = Field(1, ge=1, description="Counterfactual trials per attribution.")
    timeout: float = Field(120.0, gt=0)
    read_only: list[str] = Field(default_factory=list, description="Tools that only read.")
    max_steps: int = Field(8, ge=1, description="The attributor's model calls, at most.")

    @classmethod
    def from_settings(cls, settings: Settings, target: str, **fields: Any) -> ExplainConfig:
        """The project's stores, judges, `read_only` tools and trial `timeout`, then `fields`
        (the flags; None means the setting)."""
        project = {
            **settings.step_fields(),
            "read_only": settings.read_only,
            "timeout": settings.timeout,
        }
        given = given_flags(fields)
        return cls(target=target, **{**project, **given})


@dataclass
class ExplainSummary:
    """What an explain did."""

    attributions: list[Attribution] = field(default_factory=list)
    traces: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(a.status for a in self.attributions)
        return {s: found.get(s, 0) for s in ("confirmed", "refuted", "unverifiable", "unverified")}

    def to_json(self) -> dict[str, Any]:
        calls = [a.llm_calls for a in self.attributions]
        return {
            "traces": self.traces,
            "counts": self.counts,
            "llm_calls_per_explanation": round(sum(calls) / len(calls), 2) if calls else 0,
            "attributions": [a.model_dump(mode="json") for a in self.attributions],
            "notes": self.notes,
        }


def deterministic(
    view: TraceView, verdict: Verdict, steps: list[TraceStep], evidence: list[Evidence]
) -> Attribution:
    """The attribution the evidence alone gives: its earliest direct finding, else the
    earliest span the judge cited, else no step."""
    direct = [e for e in evidence if e.rule != "cited"] or evidence
    base = {
        "trace_id": view.trace_id,
        "run_id": view.run_id,
        "scenario_id": view.scenario_id,
        "trial": view.trial,
        "judge": verdict.judge,
        "symptom": (verdict.rationale or "")[:1000],
        "method": "deterministic",
        "evidence": evidence,
    }
    if not direct:
        return Attribution(
            **base, reason="no deterministic evidence (name a model for the agentic attributor)"
        )
    first = direct[0]
    step = next(s for s in steps if s.index == first.step)
    kind = _KIND.get(first.rule) or ("tool_result" if step.kind == "tool" else step.kind)
    return Attribution(
        **base,
        step=step.index,
        span_id=step.span_id,
        kind=kind,
        name=step.name,
        agent=step.agent,
        reason=first.reason,
        confidence=_CONFIDENCE[first.rule],
    )


def _trace_ids(store: TraceStore, target: str) -> list[str]:
    if target.startswith("tr-"):
        return [target]
    return [r.trace_id for r in store.run_traces(store.get_run(target).run_id)]


def _scenarios(store: TraceStore, run_ids: set[str]) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for run_id in run_ids:
        suite = store.get_run(run_id).params.get("suite") if run_id else None
        if not suite:
            continue
        try:
            loaded = load_suite(suite, include_drafts=True).scenarios
        except CostarError:
            continue  # explained without expectations
        out.update({(run_id, s.id): s.scenario for s in loaded})
    return out


def explain(config: ExplainConfig, say: Any = None) -> ExplainSummary:
    """Explain the failing verdicts of the target; see the module docstring."""
    say = say or (lambda _m: None)
    store = TraceStore(config.tracking_uri, config.experiment)
    ids = _trace_ids(store, config.target)
    verdicts = VerdictStore(Project.at(config.root, verdict_url=config.verdict_store).verdict_url)
    try:
        found = verdicts.for_traces(ids)
    finally:
        verdicts.close()
    failing = [
        v
        for v in found
        if v.status == "ok"
        and v.passed is False
        and (not config.judges or v.judge in config.judges)
    ]
    summary = ExplainSummary(traces=len({v.trace_id for v in failing}))
    if not failing:
        if config.target.startswith("tr-") and not found:
            raise UsageError(
                f"trace {config.target} has no verdicts: run `costar assess` on its run first"
            )
        return summary
    views = {view.trace_id: view for view in store.views(sorted({v.trace_id for v in failing}))}
    scenarios = _scenarios(store, {v.run_id for v in views.values()})
    project = {j.name: j for j in load_judges(config.root, config.judge_paths)}
    model = judge_model(config.model) if config.agentic else None
    for verdict in sorted(failing, key=lambda v: (v.scenario_id, v.trial, v.judge)):
        view = views.get(verdict.trace_id)
        if view is None:
            continue
        scenario = scenarios.get((view.run_id, view.scenario_id))
        steps = trace_steps(list(view.spans))
        evidence = find_evidence(view, verdict, scenario, steps, config.read_only)
        attribution = deterministic(view, verdict, steps, evidence)
        if model:
            try:
                attribution = attribute(view, verdict, steps, evidence, model, config.max_steps)
            except (ValueError, LLMError) as exc:
                summary.notes.append(
                    f"{view.trace_id} {verdict.judge}: the attributor gave no "
                    f"usable answer ({exc}); deterministic evidence used"
                )
        if config.verify:
            judge = project.get(verdict.judge)
            if judge is None:
                check = Verification(
                    status="unverifiable",
                    reason=f"judge {verdict.judge} is not one of the project's judges",
                )
            else:
                say(f"verifying {view.scenario_id}#{view.trial} step {attribution.step}")
                scenario_read_only = scenario.expectations.read_only if scenario else []
                check = _verified(
                    attribution,
                    view,
                    steps,
                    judge,
                    config.root,
                    config.tracking_uri,
                    config.experiment,
                    config.verdict_store,
                    config.trials,
                    config.timeout,
                    [*config.read_only, *scenario_read_only],
                )
            attribution.verification, attribution.status = check, check.status
        summary.attributions.append(attribution)
        save(config.root, [attribution])  # kept as it comes: an interruption loses none
    return summary


def _verified(attribution: Attribution, *args: Any) -> Verification:
    """The counterfactual's result; a failure to run it is recorded, not raised."""
    try:
        return verify(attribution, *args)
    except CostarError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Verification(
            status="unverifiable", reason=f"the counterfactual could not run: {first[:300]}"
        )
