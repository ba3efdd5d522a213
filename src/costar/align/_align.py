"""Align an LLM judge to the golden set with MLflow's `judge.align`, under k-fold
cross-validation, and keep the result only if held-out agreement improves.

The costar judge is handed to MLflow as a `make_judge` judge with the same criteria; the
optimizer (MemAlign, GEPA or SIMBA) returns new criteria: distilled guidelines (MemAlign) or
rewritten instructions (GEPA, SIMBA). costar puts them back into its own judge definition, so
the judge keeps what MLflow's optimizers drop (base URL, model, temperature, tool caps) and is
scored by costar's own engine. The held-out folds are scored before and after; the new version
is written to `judges/aligned/NAME.yaml` (reviewable in git) only when the pooled held-out
agreement rises, otherwise the old version stays and the reason is returned.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from costar._exceptions import CostarError
from costar.align._agreement import Agreement, Pair, agreement
from costar.align._golden import Consensus, GoldenSet, consensus
from costar.align._measure import judge_pairs
from costar.assess import AssessConfig
from costar.judges import Judge, build, load_judges
from costar.judges._llm_judges import criteria_text
from costar.llm._endpoint import resolve_endpoint
from costar.traces import TraceStore

OPTIMIZERS = ("memalign", "gepa", "simba")
ALIGNABLE = ("guidelines", "agentic")
ALIGNED_DIR = "aligned"
_TEMPLATE = "\n\nThe user's request: {{ inputs }}\nThe agent's response: {{ outputs }}"


class AlignError(CostarError):
    """Alignment cannot run (too few labels, a judge that is not an LLM judge, ...)."""

    exit_code = 2


@dataclass
class FoldResult:
    fold: int
    train: int
    test: int
    before: Agreement
    after: Agreement
    change: str  # what the optimizer changed, in one line


@dataclass
class AlignResult:
    judge: str
    optimizer: str
    labels: int
    conflicts: int
    folds: list[FoldResult]
    before: Agreement  # pooled over the held-out folds
    after: Agreement
    accepted: bool
    reason: str
    old_version: str
    new_version: str | None = None
    path: Path | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "optimizer": self.optimizer,
            "labels": self.labels,
            "conflicts": self.conflicts,
            "accepted": self.accepted,
            "reason": self.reason,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "path": str(self.path) if self.path else None,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "folds": [
                {
                    "fold": f.fold,
                    "train": f.train,
                    "test": f.test,
                    "before": f.before.score,
                    "after": f.after.score,
                    "change": f.change,
                }
                for f in self.folds
            ],
            "params": self.params,
        }


# -- the bridge to MLflow ------------------------------------------------------------------
def judge_model(judge: Judge) -> str:
    model = (
        judge.params.get("model")
        or os.environ.get("COSTAR_JUDGE_MODEL")
        or os.environ.get("COSTAR_MODEL")
    )
    if not model:
        raise AlignError(
            f"judge {judge.name!r} has no model: set params.model, COSTAR_JUDGE_MODEL or "
            "COSTAR_MODEL (for example openai:/gpt-4.1-mini)"
        )
    return model


def base_criteria(judge: Judge) -> str:
    p = judge.params
    text = criteria_text(p.get("instructions"), p.get("guidelines"), p.get("learned"))
    if p.get("guidelines") is None and not p.get("instructions"):
        lead = "Judge whether the agent followed the guidelines of its scenario."
        text = lead + ("\n\n" + text if text else "")
    return text


def to_mlflow_judge(judge: Judge, model: str) -> Any:
    """The costar LLM judge as an MLflow `make_judge` judge with the same criteria."""
    from mlflow.genai.judges import make_judge

    return make_judge(
        name=judge.name,
        instructions=base_criteria(judge) + _TEMPLATE,
        model=model,
        feedback_value_type=bool,
    )


@contextlib.contextmanager
def provider_env(*models: str) -> Iterator[None]:
    """Point MLflow's model adapters (litellm, the openai SDK) at the endpoints costar would
    use for these models, restoring the environment afterwards."""
    saved = dict(os.environ)
    try:
        for model in models:
            ep = resolve_endpoint(model)
            if ep.provider == "openai":
                os.environ["OPENAI_BASE_URL"] = os.environ["OPENAI_API_BASE"] = ep.base_url
                os.environ["OPENAI_API_KEY"] = ep.api_key or "unused"
            elif ep.provider == "ollama":
                os.environ["OLLAMA_API_BASE"] = ep.base_url.removesuffix("/v1")
        os.environ.setdefault("TQDM_DISABLE", "1")  # the optimizers' progress bars
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _quiet_optimizers() -> None:
    """DSPy and litellm log every optimization step at INFO; costar reports the outcome."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("dspy", "LiteLLM", "litellm", "gepa", "httpx", "mlflow.genai")):
            logging.getLogger(name).setLevel(logging.WARNING)


def make_optimizer(name: str, model: str, budget: int | None, embedding_model: str | None) -> Any:
    """MLflow's alignment optimizer by costar's name for it."""
    from mlflow.genai.judges import optimizers

    if name == "memalign":
        kwargs = {"embedding_model": embedding_model} if embedding_model else {}
        return optimizers.MemAlignOptimizer(reflection_lm=model, **kwargs)
    if name == "gepa":
        return optimizers.GEPAAlignmentOptimizer(model=model, max_metric_calls=budget)
    if name == "simba":
        extra = {"max_steps": budget} if budget else {}
        return optimizers.SIMBAAlignmentOptimizer(model=model, simba_kwargs=extra or None)
    raise AlignError(f"unknown optimizer {name!r} (use one of {', '.join(OPTIMIZERS)})")


_INPUT_SECTION = re.compile(r"\n*(Inputs for assessment|The user's request:).*", re.S)


def aligned_params(judge: Judge, aligned: Any, optimizer: str) -> tuple[dict[str, Any], str]:
    """The costar judge's parameters after alignment, and a one-line account of the change."""
    params = dict(judge.params)
    if optimizer == "memalign":
        found = [g.guideline_text for g in getattr(aligned, "_semantic_memory", [])]
        learned = list(params.get("learned") or [])
        new = [g for g in found if g not in learned]
        params["learned"] = learned + new
        return params, f"{len(new)} guideline(s) learned: " + "; ".join(new)[:300]
    text = _INPUT_SECTION.sub("", aligned.instructions).replace("{{ inputs }}", "the request")
    text = text.replace("{{ outputs }}", "the response").strip()
    params["instructions"] = text
    params.pop("learned", None)
    if judge.uses == "guidelines" and params.get("guidelines") is not None:
        params["guidelines"] = []  # the fixed guidelines are part of the rewritten text now
    return params, f"instructions rewritten ({len(text)} chars)"


# -- folds and scoring ---------------------------------------------------------------------
def make_folds(items: list[Consensus], k: int, seed: int = 0) -> list[list[Consensus]]:
    """k folds, stratified by label value, assigned by a stable hash (reproducible)."""

    def order(c: Consensus) -> str:
        return hashlib.sha256(f"{seed}:{c.trace_id}".encode()).hexdigest()

    folds: list[list[Consensus]] = [[] for _ in range(k)]
    position = 0
    for value in sorted({json.dumps(c.value) for c in items}):
        for c in sorted((c for c in items if json.dumps(c.value) == value), key=order):
            folds[position % k].append(c)
            position += 1
    return [f for f in folds if f]


def _better(before: Agreement, after: Agreement) -> bool:
    if before.kappa is not None and after.kappa is not None:
        return after.kappa > before.kappa + 1e-9
    return (after.accuracy or 0.0) > (before.accuracy or 0.0) + 1e-9


def _figure(a: Agreement) -> str:
    if a.kappa is not None:
        return f"kappa {a.kappa:.2f}, accuracy {a.accuracy or 0:.0%}"
    return f"accuracy {a.accuracy or 0:.0%}"


# -- the whole procedure -------------------------------------------------------------------
def align_judge(
    config: AssessConfig,
    judge_name: str,
    optimizer: str = "memalign",
    folds: int = 3,
    model: str | None = None,
    budget: int | None = None,
    embedding_model: str | None = None,
    seed: int = 0,
    write: bool = True,
    progress: Callable[[str], None] | None = None,
) -> AlignResult:
    """Align one judge; see the module docstring. `model` is the optimizer's model (default:
    the judge's own)."""
    say = progress or (lambda _msg: None)
    if optimizer not in OPTIMIZERS:
        raise AlignError(f"unknown optimizer {optimizer!r} (use one of {', '.join(OPTIMIZERS)})")
    judge = load_judges(config.root, config.judge_paths, [judge_name])[0]
    if judge.uses not in ALIGNABLE:
        raise AlignError(
            f"judge {judge.name!r} is a {judge.kind} judge built on {judge.uses!r}; only LLM "
            f"judges ({', '.join(ALIGNABLE)}) can be aligned"
        )
    jmodel = judge_model(judge)
    omodel = model or jmodel
    store = TraceStore(config.tracking_uri, config.experiment)
    everyone = consensus(GoldenSet(store).labels(judge=judge.name))
    conflicts = sum(1 for c in everyone if c.value is None)
    items = [c for c in everyone if isinstance(c.value, bool)]
    if len(items) < 2 * folds or len({c.value for c in items}) < 2:
        raise AlignError(
            f"judge {judge.name!r} has {len(items)} usable pass/fail labels "
            f"({conflicts} in conflict); alignment with {folds} folds needs at least "
            f"{2 * folds}, with both passes and fails (label more with `costar label`)"
        )
    traces = {t.info.trace_id: t for t in store.get_traces([c.trace_id for c in items])}
    results: list[FoldResult] = []
    before_pairs: list[Pair] = []
    after_pairs: list[Pair] = []
    before_unscored = after_unscored = 0
    split = make_folds(items, folds, seed)
    os.environ.setdefault("DSPY_CACHEDIR", str(config.costar_dir / "cache" / "dspy"))
    with provider_env(jmodel, omodel), _tracing_off(), _dspy_uncached():
        for i, test in enumerate(split):
            train = [c for f in split if f is not test for c in f]
            say(f"fold {i + 1}/{len(split)}: aligning on {len(train)}, testing on {len(test)}")
            candidate, change = _align_once(
                judge, jmodel, omodel, traces, train, optimizer, budget, embedding_model
            )
            b_pairs, b_un = judge_pairs(test, config, judge, cached=True)
            a_pairs, a_un = judge_pairs(test, config, candidate, cached=False)
            before_pairs += b_pairs
            after_pairs += a_pairs
            before_unscored += b_un
            after_unscored += a_un
            results.append(
                FoldResult(
                    i + 1,
                    len(train),
                    len(test),
                    agreement(judge.name, b_pairs, b_un),
                    agreement(judge.name, a_pairs, a_un),
                    change,
                )
            )
        before = agreement(judge.name, before_pairs, before_unscored, seed)
        after = agreement(judge.name, after_pairs, after_unscored, seed)
        result = AlignResult(
            judge.name,
            optimizer,
            len(items),
            conflicts,
            results,
            before,
            after,
            accepted=False,
            reason="",
            old_version=judge.version,
        )
        held = f"over {before.n + before.unscored} held-out labels in {len(split)} folds"
        if after.unscored > before.unscored:
            result.reason = (
                f"rejected: the aligned judge could not score {after.unscored} held-out traces "
                f"(the current one missed {before.unscored})"
            )
        elif not _better(before, after):
            result.reason = (
                f"rejected: held-out agreement did not improve ({_figure(before)} -> "
                f"{_figure(after)} {held}); the current version {judge.version} stays"
            )
        else:
            say(f"held-out agreement rose ({_figure(after)}); aligning on all labels")
            final, change = _align_once(
                judge, jmodel, omodel, traces, items, optimizer, budget, embedding_model
            )
            if final.version == judge.version:
                result.reason = (
                    f"rejected: the folds improved ({_figure(before)} -> {_figure(after)}) but "
                    "the final alignment on every label changed nothing (raise --budget?)"
                )
                _log_history(config, result)
                return result
            result.accepted = True
            result.params = final.params
            result.new_version = final.version
            result.reason = (
                f"accepted: held-out agreement rose ({_figure(before)} -> {_figure(after)} "
                f"{held}); {change}"
            )
    if result.accepted and write:
        result.path = write_aligned(config.root, config.judge_paths, judge, result)
    _log_history(config, result)
    return result


@contextlib.contextmanager
def _dspy_uncached() -> Iterator[None]:
    """DSPy caches model answers on disk, keyed without the base URL: an answer recorded
    against one server (or script) would be replayed for another. Alignment always asks."""
    try:
        import dspy
    except ImportError as exc:
        raise AlignError(
            "costar align needs MLflow's optimizer dependencies (dspy, gepa): "
            "pip install 'costar[align]'"
        ) from exc
    saved = dspy.cache
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    try:
        yield
    finally:
        dspy.cache = saved


@contextlib.contextmanager
def _tracing_off() -> Iterator[None]:
    """The optimizers' own judge calls are not the project's traces: keep them out."""
    import mlflow

    mlflow.tracing.disable()
    try:
        yield
    finally:
        mlflow.tracing.enable()


def _align_once(
    judge: Judge,
    jmodel: str,
    omodel: str,
    traces: dict[str, Any],
    train: list[Consensus],
    optimizer: str,
    budget: int | None,
    embedding_model: str | None,
) -> tuple[Judge, str]:
    from mlflow.exceptions import MlflowException

    chosen = [traces[c.trace_id] for c in train if c.trace_id in traces]
    try:
        engine = make_optimizer(optimizer, omodel, budget, embedding_model)
        _quiet_optimizers()
        aligned = to_mlflow_judge(judge, jmodel).align(chosen, engine)
    except MlflowException as exc:
        message = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0]
        raise AlignError(f"{optimizer} alignment of {judge.name!r} failed: {message}") from exc
    params, change = aligned_params(judge, aligned, optimizer)
    return build(judge.uses, judge.name, params), change


def write_aligned(root: Path, judge_paths: list[str], judge: Judge, result: AlignResult) -> Path:
    """Write the aligned definition to `<judges dir>/aligned/NAME.yaml`; it overrides the
    judge of the same name elsewhere in the project (see `costar.judges.load_judges`)."""
    base = next((root / p for p in judge_paths if (root / p).is_dir()), root / judge_paths[0])
    folder = base / ALIGNED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", judge.name)
    path = folder / f"{safe}.yaml"
    header = (
        f"# Written by `costar align {judge.name} --optimizer {result.optimizer}` on "
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}.\n"
        f"# {result.reason}\n"
        "# Review it like code. Delete this file to go back to the previous version.\n"
    )
    body = {
        "judges": [{"name": judge.name, "use": judge.uses, "params": result.params}],
        "alignment": {
            "optimizer": result.optimizer,
            "from_version": result.old_version,
            "labels": result.labels,
            "held_out_before": result.before.score,
            "held_out_after": result.after.score,
        },
    }
    path.write_text(header + yaml.safe_dump(body, sort_keys=False, width=100), encoding="utf-8")
    return path


def _log_history(config: AssessConfig, result: AlignResult) -> None:
    folder = config.costar_dir / "align"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (folder / f"{result.judge}-{stamp}.json").write_text(
        json.dumps(result.to_json(), indent=2, default=str), encoding="utf-8"
    )
