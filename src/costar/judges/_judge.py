"""The Judge protocol, the @judge decorator and the registry.

A judge is a function `(view: TraceView, scenario: Scenario | None, **params) -> Outcome`
(or a bool, or `(bool, rationale)`), with a name, a kind and parameters. Its version is a hash
of its definition: source code, parameters and model, so changing a judge invalidates exactly
its own cached verdicts. What else a verdict depends on (the parts of the scenario the judge
reads, `reads=`, and an LLM judge's model) is hashed by `Judge.inputs`, so editing one scenario
re-scores only the verdicts that read what changed. The decorator only records metadata and
registers; nothing is wrapped. Other packages add judges through the `costar.judges`
entry-point group.

A scenario may narrow the judges that score it (`judges: {only: [...]}`) or ask for opt-in
judges (`judges: {also: [...]}`); a judge that does not apply gives a skipped verdict with the
reason, and that reason is part of `Judge.inputs`, so changing which judges apply re-scores
exactly the verdicts it changes. Metrics are measured on every trace.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

from costar._exceptions import ConfigError
from costar.config import current_settings
from costar.judges._verdict import JudgeKind, Outcome, Verdict
from costar.traces import READING_VERSION, TraceView

JudgeFn = Callable[..., Any]
# the entry point group through which a package adds judges
ENTRY_POINT_GROUP = "costar.judges"


@dataclass(frozen=True)
class JudgeSpec:
    """A registered judge function: the recipe judges are built from."""

    name: str
    kind: JudgeKind
    fn: JudgeFn
    description: str = ""
    reads: tuple[str, ...] | None = None  # scenario fields read; None: the whole scenario
    opt_in: bool = False  # scores only scenarios that ask for it (`judges: {also: [...]}`)


def judge_model(model: str | None) -> str | None:
    """The model an LLM judge uses: its own, else the `judge_model` setting, else `model`."""
    return model or current_settings().judge_model_or_default() or None


def _field(scenario: Any, dotted: str) -> Any:
    value = scenario
    for part in dotted.split("."):
        value = getattr(value, part, None)
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def source_of(fn: Any) -> str:
    """A function's source code (its qualified name when the source cannot be read)."""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return f"{fn.__module__}.{getattr(fn, '__qualname__', fn)}"


@dataclass
class Judge:
    """A judge ready to score: a spec plus its parameters."""

    name: str
    kind: JudgeKind
    fn: JudgeFn
    params: dict[str, Any] = field(default_factory=dict)
    uses: str = ""  # the registered spec it was built from
    reads: tuple[str, ...] | None = None  # scenario fields read; None: the whole scenario
    opt_in: bool = False  # scores only scenarios whose `judges.also` (or `only`) names it
    root: Path | None = None  # the project root `references` and tools are found from

    @cached_property
    def resources(self) -> dict[str, Any]:
        """Reference documents and project tools the judge's parameters name (see `_bind`)."""
        from costar.judges._bind import resources

        return resources(self.fn, self.params, self.root)

    def applies(self, scenario: Any) -> str | None:
        """None when this judge scores `scenario`, else why it skips it: the scenario's
        `judges.only` leaves it out, or it is opt-in and the scenario does not ask for it.
        Metrics apply to every trace, and so does the simulator-fidelity judge: every
        simulated conversation is checked (`costar.judges._fidelity`)."""
        if self.kind == "metric" or self.uses == "simulator-fidelity":
            return None
        selection = getattr(scenario, "judges", None)
        if selection is not None:
            return selection.applies(self.name, self.opt_in)
        if self.opt_in:
            return "an opt-in judge the scenario does not ask for (judges.also)"
        return None

    @cached_property
    def version(self) -> str:
        """Hash of the definition: the function's source, its parameters (and model)."""
        source = source_of(self.fn)
        payload = json.dumps(
            {
                "source": source,
                "params": self.params,
                "kind": self.kind,
                "reading": READING_VERSION,
                **{
                    f"resource:{k}": r.digest for k, r in sorted(self.resources.items())
                },  # only when there are any: other judges' versions stay as they were
            },
            sort_keys=True,
            default=repr,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def inputs(self, scenario: Any) -> str:
        """Hash of what a verdict depends on besides the trace and the judge's definition:
        the scenario fields the judge reads and, for LLM and agentic judges, the model."""
        if scenario is None or self.reads == ():
            read: Any = None
        elif self.reads is None:
            read = scenario.model_dump(mode="json") if hasattr(scenario, "model_dump") else scenario
        else:
            read = {name: _field(scenario, name) for name in self.reads}
        payload: dict[str, Any] = {"scenario": read}
        if self.kind in ("llm", "agentic"):
            payload["model"] = judge_model(self.params.get("model"))
        skipped = self.applies(scenario)
        if skipped is not None:  # only then: a judge that applies keys its verdicts as before
            payload["skipped"] = skipped
        text = json.dumps(payload, sort_keys=True, default=repr)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def score(self, view: TraceView, scenario: Any, inputs: str | None = None) -> Verdict:
        """Run the judge on one trace; an exception becomes a verdict with status error.
        `inputs` is `self.inputs(scenario)` when the caller has it already."""
        start = time.monotonic()
        base = {
            "judge": self.name,
            "judge_version": self.version,
            "inputs": self.inputs(scenario) if inputs is None else inputs,
            "kind": self.kind,
            "trace_id": view.trace_id,
            "run_id": view.run_id,
            "scenario_id": view.scenario_id,
            "trial": view.trial,
        }
        skipped = self.applies(scenario)
        if skipped is not None:
            return Verdict(**base, status="skipped", rationale=skipped)
        return self.run(view, scenario, base, start)

    def run(
        self, view: TraceView, scenario: Any, base: dict[str, Any], start: float | None = None
    ) -> Verdict:
        """Run the judge function whether or not the scenario selects it (an ensemble runs
        its members so); `base` holds the verdict's identity fields."""
        start = time.monotonic() if start is None else start
        try:
            outcome = _as_outcome(self.fn(view, scenario, **self.params, **self.resources))
        except Exception as exc:  # a judge's failure is data
            return Verdict(**base, status="error", error=f"{type(exc).__name__}: {exc}")
        outcome.cost.seconds = round(time.monotonic() - start, 6)
        return Verdict(
            **base,
            status="skipped" if outcome.skipped else "ok",
            passed=None if outcome.skipped else outcome.passed,
            value=_plain(outcome.value),
            rationale=outcome.rationale,
            evidence=outcome.evidence,
            cost=outcome.cost,
            details=outcome.details,
        )


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, default=repr)


def _as_outcome(result: Any) -> Outcome:
    if isinstance(result, Outcome):
        return result
    if isinstance(result, bool):
        return Outcome(passed=result)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], bool):
        return Outcome(passed=result[0], rationale=str(result[1]))
    if isinstance(result, (int, float)):
        return Outcome(value=result)
    raise TypeError(f"a judge returns Outcome, bool, (bool, rationale) or a number, not {result!r}")


_REGISTRY: dict[str, JudgeSpec] = {}
_entry_points_loaded = False


def judge(
    name: str | None = None,
    kind: JudgeKind = "check",
    description: str = "",
    reads: list[str] | tuple[str, ...] | None = None,
    opt_in: bool = False,
) -> Callable:
    """Register a judge function: `@costar.judge(name="refund-needs-policy", kind="check")`.

    `reads` names the scenario fields the judge reads (e.g. `["expectations.facts"]`, `[]` for
    none); its verdicts are re-scored when one of them changes. By default a judge reads the
    whole scenario, so editing any part of a scenario re-scores its verdicts on that scenario.
    With `opt_in`, the judge scores only scenarios that name it (`judges: {also: [...]}`).
    """

    def register(fn: JudgeFn) -> JudgeFn:
        spec = JudgeSpec(
            name or fn.__name__.replace("_", "-"),
            kind,
            fn,
            description or (inspect.getdoc(fn) or "").split("\n")[0],
            None if reads is None else tuple(reads),
            opt_in,
        )
        _REGISTRY[spec.name] = spec
        fn.__costar_judge__ = spec  # type: ignore[attr-defined]
        return fn

    return register


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()  # importing the module registers its @judge functions
        except Exception as exc:
            raise ConfigError(
                f"judge plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
            ) from exc


def registered() -> dict[str, JudgeSpec]:
    """Every registered judge spec: built-ins, the project's, and plugins'."""
    from costar.judges import (  # noqa: F401 - registers built-ins
        _checks,
        _ensemble,
        _fidelity,
        _inline,
        _llm_judges,
        _metrics,
        _skills,
    )

    _load_entry_points()
    return dict(_REGISTRY)


def build(
    uses: str,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    root: Path | None = None,
) -> Judge:
    """A Judge from a registered spec with parameters (`root`: where its `references` and
    tools are found; default the working directory)."""
    specs = registered()
    if uses not in specs:
        raise ConfigError(
            f"unknown judge {uses!r} (known: {', '.join(sorted(specs))}; see `costar judges list`)"
        )
    spec = specs[uses]
    params = dict(params or {})
    try:
        inspect.signature(spec.fn).bind(None, None, **params)
    except TypeError as exc:
        raise ConfigError(f"judge {name or uses!r}: bad parameters {params}: {exc}") from exc
    return Judge(
        name=name or spec.name,
        kind=spec.kind,
        fn=spec.fn,
        params=params,
        uses=uses,
        reads=spec.reads,
        opt_in=spec.opt_in,
        root=root,
    )
