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

import dataclasses
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from costar._exceptions import ConfigError
from costar.align._agreement import Agreement, Pair, agreement
from costar.align._golden import Consensus, GoldenSet, consensus
from costar.align._measure import judge_pairs
from costar.align._mlflow import (
    OPTIMIZERS,
    AlignError,
    aligned_params,
    dspy_uncached,
    judge_model,
    make_optimizer,
    provider_env,
    quiet_optimizers,
    to_mlflow_judge,
    tracking_at,
)
from costar.assess import AssessConfig
from costar.judges import Ensemble, Judge, build, load_judges
from costar.traces import TraceStore, tracing_off

ALIGNABLE = ("guidelines", "agentic")
ALIGNED_DIR = "aligned"


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
    """One judge's alignment: agreement with the humans before and after on held-out folds,
    whether the aligned version was accepted and why, and where it was written."""

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
    # An ensemble over one LLM judge is aligned through that judge: the labels are the
    # ensemble's, agreement is the ensemble's, and the aligned member is what gets written.
    labelled: Judge = judge
    wrap: Callable[[Judge], Judge] = _same
    if isinstance(judge, Ensemble):
        ensemble = judge
        try:
            judge = ensemble.llm_member()
        except ConfigError as exc:
            raise AlignError(str(exc)) from exc
        wrap = ensemble.with_member
    if judge.uses not in ALIGNABLE:
        raise AlignError(
            f"judge {judge.name!r} is a {judge.kind} judge built on {judge.uses!r}; only LLM "
            f"judges ({', '.join(ALIGNABLE)}) can be aligned"
        )
    jmodel = judge_model(judge)
    omodel = model or jmodel
    store = TraceStore(config.tracking_uri, config.experiment)
    everyone = consensus(GoldenSet(store).labels(judge=labelled.name))
    conflicts = sum(1 for c in everyone if c.value is None)
    items = [c for c in everyone if isinstance(c.value, bool)]
    if len(items) < 2 * folds or len({c.value for c in items}) < 2:
        raise AlignError(
            f"judge {labelled.name!r} has {len(items)} usable pass/fail labels "
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
    with (
        tracking_at(config.tracking_uri),
        provider_env(jmodel, omodel),
        tracing_off(),
        dspy_uncached(),
    ):
        for i, test in enumerate(split):
            train = [c for f in split if f is not test for c in f]
            say(f"fold {i + 1}/{len(split)}: aligning on {len(train)}, testing on {len(test)}")
            candidate, change = _align_once(
                judge,
                jmodel,
                omodel,
                traces,
                train,
                optimizer,
                budget,
                embedding_model,
                labelled.name,
            )
            b_pairs, b_un = judge_pairs(test, config, labelled, cached=True)
            a_pairs, a_un = judge_pairs(test, config, wrap(candidate), cached=False)
            before_pairs += b_pairs
            after_pairs += a_pairs
            before_unscored += b_un
            after_unscored += a_un
            results.append(
                FoldResult(
                    i + 1,
                    len(train),
                    len(test),
                    agreement(labelled.name, b_pairs, b_un),
                    agreement(labelled.name, a_pairs, a_un),
                    change,
                )
            )
        before = agreement(labelled.name, before_pairs, before_unscored, seed)
        after = agreement(labelled.name, after_pairs, after_unscored, seed)
        result = AlignResult(
            labelled.name,
            optimizer,
            len(items),
            conflicts,
            results,
            before,
            after,
            accepted=False,
            reason="",
            old_version=labelled.version,
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
                f"{_figure(after)} {held}); the current version {labelled.version} stays"
            )
        else:
            say(f"held-out agreement rose ({_figure(after)}); aligning on all labels")
            final, change = _align_once(
                judge,
                jmodel,
                omodel,
                traces,
                items,
                optimizer,
                budget,
                embedding_model,
                labelled.name,
            )
            if wrap(final).version == labelled.version:
                result.reason = (
                    f"rejected: the folds improved ({_figure(before)} -> {_figure(after)}) but "
                    "the final alignment on every label changed nothing (raise --budget?)"
                )
                _log_history(config, result)
                return result
            result.accepted = True
            result.params = final.params
            result.new_version = wrap(final).version
            result.reason = (
                f"accepted: held-out agreement rose ({_figure(before)} -> {_figure(after)} "
                f"{held}); {change}"
            )
    if result.accepted and write:
        result.path = write_aligned(config.root, config.judge_paths, judge, result)
    _log_history(config, result)
    return result


def _same(judge: Judge) -> Judge:
    return judge


def _align_once(
    judge: Judge,
    jmodel: str,
    omodel: str,
    traces: dict[str, Any],
    train: list[Consensus],
    optimizer: str,
    budget: int | None,
    embedding_model: str | None,
    labels_of: str | None = None,
) -> tuple[Judge, str]:
    from mlflow.exceptions import MlflowException

    chosen = [traces[c.trace_id] for c in train if c.trace_id in traces]
    try:
        engine = make_optimizer(optimizer, omodel, budget, embedding_model)
        quiet_optimizers()
        # MLflow reads the human labels by the judge's name: the ensemble's, for its member
        named = dataclasses.replace(judge, name=labels_of) if labels_of else judge
        aligned = to_mlflow_judge(named, jmodel).align(chosen, engine)
    except MlflowException as exc:
        message = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0]
        raise AlignError(f"{optimizer} alignment of {judge.name!r} failed: {message}") from exc
    params, change = aligned_params(judge, aligned, optimizer)
    return build(judge.uses, judge.name, params, judge.root), change


def write_aligned(root: Path, judge_paths: list[str], judge: Judge, result: AlignResult) -> Path:
    """Write the aligned definition to `<judges dir>/aligned/NAME.yaml`; it overrides the
    judge of the same name elsewhere in the project (see `costar.judges.load_judges`)."""
    base = next((root / p for p in judge_paths if (root / p).is_dir()), root / judge_paths[0])
    folder = base / ALIGNED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", judge.name)
    path = folder / f"{safe}.yaml"
    header = (
        f"# Written by `costar align {result.judge} --optimizer {result.optimizer}` on "
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}.\n"
        f"# {result.reason}\n"
        "# Review it like code. Delete this file to go back to the previous version.\n"
    )
    entry: dict[str, Any] = {"name": judge.name, "use": judge.uses, "params": result.params}
    if judge.opt_in:  # the aligned judge scores the same scenarios as the one it replaces
        entry["opt_in"] = True
    body = {
        "judges": [entry],
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
