"""The scoring engine: every judge over every trace of a run, cached, in parallel.

Traces come from the derived cache, else the MLflow store (then cached). A verdict is computed
only when the store has none for (trace, judge, judge version) with status ok or skipped and the
same inputs (`Judge.inputs`: the scenario fields the judge reads, an LLM judge's model), so a
second assess after changing one judge runs only that judge, and after editing one scenario only
the verdicts that read what changed. Judge errors are verdicts with status error, retried by the
next assess. Verdicts are mirrored to MLflow as Feedback so they
show in the MLflow UI. Judging never calls the agent.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from costar._exceptions import ConfigError, CostarError, ScenarioError
from costar.assess._report import simulator_faults
from costar.assess._verdicts import VerdictStore
from costar.config import Project, Settings, given_flags
from costar.judges import FIDELITY_JUDGE, Judge, Verdict, build, load_judges, narrow, unknown_judges
from costar.scenarios import load_suite
from costar.traces import TraceCache, TraceStore, TraceView

_CHUNK = 500  # traces loaded and scored at once


class AssessConfig(BaseModel):
    """What `costar assess` needs."""

    root: Path
    tracking_uri: str
    experiment: str = "costar"
    run_ids: list[str] = Field(default_factory=list, description="Runs to assess (id prefixes).")
    all_runs: bool = False
    last: bool = Field(False, description="Assess the newest run.")
    judges: list[str] = Field(default_factory=list, description="Only these judge names.")
    judge_paths: list[str] = Field(default_factory=lambda: ["judges"])
    concurrency: int = Field(8, ge=1, description="LLM and agentic judges scored at once.")
    mirror: bool = Field(True, description="Mirror verdicts to MLflow as Feedback.")
    verdict_store: str | None = Field(None, description="Verdict store URL; default the project's.")
    allow_outside_fixtures: bool = Field(
        False, description="Scenario fixture paths may point outside the suite folder."
    )
    redact: list[str] = Field(default_factory=list, description="Extra secret patterns.")
    executor: str = Field("local", description="Where judges run: local (threads) or ray.")
    address: str | None = Field(None, description="Ray cluster address (default: start one).")

    @classmethod
    def from_settings(cls, settings: Settings, **fields: Any) -> AssessConfig:
        """The project's store, judges, verdict store and redaction, then `fields` (the
        flags; None means the setting), including where judges run (`executor`,
        `ray_address`)."""
        project = {
            **settings.step_fields(),
            "executor": settings.executor,
            "address": settings.ray_address,
            "allow_outside_fixtures": settings.allow_outside_fixtures,
            "redact": settings.redact,
        }
        return cls(**{**project, **given_flags(fields)})

    def project(self) -> Project:
        """The project's root, stores and `.costar/` paths."""
        return Project.at(self.root, self.tracking_uri, self.verdict_store)

    @property
    def costar_dir(self) -> Path:
        return self.project().costar_dir


@dataclass
class JudgeTally:
    """One judge's verdicts in a run: counts, and the sum and count of numeric values."""

    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    total: float = 0.0
    numbers: int = 0

    def merge(self, row: dict[str, Any]) -> None:
        self.passed += row["passed"]
        self.failed += row["failed"]
        self.error += row["error"]
        self.skipped += row["skipped"]
        self.total += row["sum"]
        self.numbers += row["n"]


@dataclass
class AssessSummary:
    """What an assess did, and the verdict tally per judge for each run."""

    runs: list[str] = field(default_factory=list)
    traces: int = 0
    judges: int = 0
    scored: int = 0
    cached: int = 0
    errors: int = 0
    mirrored: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    per_judge: dict[str, JudgeTally] = field(default_factory=dict)
    simulator_faults: dict[str, Any] = field(default_factory=dict)  # run id -> SimulatorFaults

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for tally in data["per_judge"].values():
            total, numbers = tally.pop("total"), tally.pop("numbers")
            tally["mean"] = round(total / numbers, 6) if numbers else None
        return data


def trace_views(store: TraceStore, cache: TraceCache, ids: list[str]) -> list[TraceView]:
    """TraceViews for `ids`: from the cache, else from the store (then cached). The same as
    `store.views(ids, cache)`, which new code calls."""
    return store.views(ids, cache)


def _scenarios(
    store: TraceStore,
    run_id: str,
    summary: AssessSummary,
    allow_outside: bool = False,
    known: set[str] | None = None,
) -> dict[str, Any]:
    """The run's scenarios by id, from its suite as it is now. With `known` (the project's
    judge names), a scenario whose `judges:` block names another judge is a ScenarioError."""
    suite_path = store.get_run(run_id).params.get("suite")
    if not suite_path:
        return {}
    try:
        loaded = load_suite(
            suite_path, allow_outside_fixtures=allow_outside, include_drafts=True
        ).scenarios
    except CostarError as exc:
        first = str(exc).splitlines()[0]
        summary.warnings.append(
            f"run {run_id[:12]}: suite {suite_path} not loadable ({first}); stored verdicts are "
            "kept and new ones are scored without expectations"
        )
        return {}
    if known is not None and (problems := unknown_judges(loaded, known)):
        raise ScenarioError(problems)
    return {s.id: s.scenario for s in loaded}


def with_fidelity(
    judges: list[Judge], project: list[Judge], scenarios: dict[str, Any]
) -> list[Judge]:
    """`judges` plus the simulator-fidelity judge when a scenario has a simulated user: the
    project's definition of it (`use: simulator-fidelity`, say with its own model) if any, else
    the built-in. It is added whatever `--judges` names: without it no simulator fault is seen."""
    if not any(getattr(s, "user", None) for s in scenarios.values()):
        return judges
    if any(j.name == FIDELITY_JUDGE for j in judges):
        return judges
    own = next((j for j in project if j.uses == FIDELITY_JUDGE), None)
    return [
        *judges,
        dataclasses.replace(own, name=FIDELITY_JUDGE) if own else build(FIDELITY_JUDGE),
    ]


def _input_keys(judges: list[Judge], scenarios: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Per (judge, scenario id): the inputs a stored verdict must have read to be reused."""
    return {(j.name, sid): j.inputs(s) for j in judges for sid, s in scenarios.items()}


def _fresh(stored: str | None, wanted: str | None) -> bool:
    """A stored verdict (its inputs, None when there is none) needs no re-scoring. An unknown
    scenario (suite not loadable, scenario gone from it) leaves nothing to compare with."""
    return stored is not None and (wanted is None or stored == wanted)


def score_traces(
    config: AssessConfig,
    trace_ids: list[str],
    judges: list[Judge],
    cached: bool = True,
    write: bool = True,
) -> list[Verdict]:
    """Verdicts of `judges` on these traces, from any runs: stored verdicts of the same judge
    versions are reused unless `cached` is false; new ones are stored when `write` is true.
    Used where a set of traces, not a run, is the unit (the golden set, alignment folds)."""
    store = TraceStore(config.tracking_uri, config.experiment)
    verdicts = VerdictStore(
        config.verdict_store or config.costar_dir / "verdicts.db", config.redact
    )
    cache = TraceCache.in_project(config.root)
    summary = AssessSummary()
    suites: dict[str, dict[str, Any]] = {}
    keys: dict[str, dict[tuple[str, str], str]] = {}

    def run_keys(run_id: str) -> dict[tuple[str, str], str]:
        if run_id not in keys:
            suites[run_id] = (
                _scenarios(store, run_id, summary, config.allow_outside_fixtures) if run_id else {}
            )
            keys[run_id] = _input_keys(judges, suites[run_id])
        return keys[run_id]

    try:
        found: dict[tuple[str, str], Verdict] = {}
        if cached:
            versions = {j.name: j.version for j in judges}
            for old in verdicts.for_traces(trace_ids, versions):
                wanted = run_keys(old.run_id).get((old.judge, old.scenario_id))
                if old.status != "error" and _fresh(old.inputs, wanted):
                    found[(old.trace_id, old.judge)] = old
        for start in range(0, len(trace_ids), _CHUNK):
            views = store.views(trace_ids[start : start + _CHUNK], cache)
            todo = [(v, j) for v in views for j in judges if (v.trace_id, j.name) not in found]
            by_run: dict[str, list[tuple[TraceView, Judge]]] = {}
            for v, j in todo:
                by_run.setdefault(v.run_id, []).append((v, j))
            for run_id, items in by_run.items():
                run_key = run_keys(run_id)
                results = _score(items, suites[run_id], run_key, config.concurrency)
                if write:
                    verdicts.write(results)
                found.update(((r.trace_id, r.judge), r) for r in results)
        return list(found.values())
    finally:
        verdicts.close()
        cache.close()


def _mirror(store: TraceStore, verdicts: list[Verdict]) -> list[tuple[str, str, str]]:
    """Log `verdicts` to MLflow as Feedback on their traces (for the MLflow UI); their keys."""
    done = []
    for v in verdicts:
        value = v.passed if v.passed is not None else v.value
        store.log_feedback(
            v.trace_id,
            v.judge,
            value if v.status == "ok" else None,
            source_type="LLM_JUDGE" if v.kind in ("llm", "agentic") else "CODE",
            source_id=f"costar:{v.judge}@{v.judge_version}",
            rationale=v.rationale or None,
            error=(v.error or "judge error") if v.status == "error" else None,
            metadata={
                "costar.judge_version": v.judge_version,
                "costar.status": v.status,
                "costar.evidence": ",".join(v.evidence)[:1000],
            },
        )
        done.append(v.key())
    return done


def assess(
    config: AssessConfig, progress: Callable[[int, int], None] | None = None
) -> AssessSummary:
    """Score the runs' traces with the project's judges; see the module docstring."""
    started = time.monotonic()
    store = TraceStore(config.tracking_uri, config.experiment)
    verdicts = VerdictStore(
        config.verdict_store or config.costar_dir / "verdicts.db", config.redact
    )
    cache = TraceCache.in_project(config.root)
    project = load_judges(config.root, config.judge_paths)
    judges = narrow(project, config.judges)
    summary = AssessSummary(judges=len(judges))
    if config.all_runs:
        run_ids = [r.run_id for r in store.list_runs(limit=100_000)]
    elif config.last:
        run_ids = [store.newest_run().run_id]
    else:
        run_ids = [store.get_run(r).run_id for r in config.run_ids]
    try:
        for run_id in run_ids:
            summary.runs.append(run_id)
            known = {j.name for j in project} | {FIDELITY_JUDGE}
            _assess_run(
                run_id, judges, store, verdicts, cache, config, summary, progress, known, project
            )
    finally:
        verdicts.close()
        cache.close()
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


def _score(
    todo: list[tuple[TraceView, Judge]],
    scenarios: dict[str, Any],
    keys: dict[tuple[str, str], str],
    concurrency: int,
) -> list[Verdict]:
    """Checks and metrics inline (fast); LLM and agentic judges on a thread pool."""

    def one(item: tuple[TraceView, Judge]) -> Verdict:
        view, judge = item
        sid = view.scenario_id
        return judge.score(view, scenarios.get(sid), keys.get((judge.name, sid)))

    fast = [(v, j) for v, j in todo if j.kind in ("check", "metric")]
    slow = [(v, j) for v, j in todo if j.kind not in ("check", "metric")]
    results = [one(item) for item in fast]
    if slow:
        with ThreadPoolExecutor(concurrency) as pool:
            results += pool.map(one, slow)
    return results


def _scored_chunks(
    store: TraceStore,
    verdicts: VerdictStore,
    cache: TraceCache,
    config: AssessConfig,
    pending: list[str],
    due: dict[str, list[Judge]],
    scenarios: dict[str, Any],
    keys: dict[tuple[str, str], str],
) -> Iterator[list[Verdict]]:
    """Each chunk's verdicts, written to the verdict store: here, a chunk at a time (memory
    stays bounded whatever the run's size), or on Ray workers (`assess._ray`)."""
    if config.executor == "ray":
        from costar.assess._ray import score_on_ray

        due = {i: due[i] for i in pending}
        yield from score_on_ray(config, due, scenarios, keys, verdicts.url)
        return
    if config.executor != "local":
        raise ConfigError(f"unknown executor {config.executor!r} (choose one of: local, ray)")
    for start in range(0, len(pending), _CHUNK):
        views = store.views(pending[start : start + _CHUNK], cache)
        todo = [(v, j) for v in views for j in due[v.trace_id]]
        results = _score(todo, scenarios, keys, config.concurrency)
        verdicts.write(results)
        yield results


def _assess_run(
    run_id: str,
    judges: list[Judge],
    store: TraceStore,
    verdicts: VerdictStore,
    cache: TraceCache,
    config: AssessConfig,
    summary: AssessSummary,
    progress: Callable[[int, int], None] | None,
    known: set[str] | None = None,
    project: list[Judge] | None = None,
) -> None:
    rows = store.run_traces(run_id)
    ids = [row.trace_id for row in rows]
    scenario_of = {row.trace_id: row.scenario_id for row in rows}
    done = verdicts.done(run_id)
    scenarios = _scenarios(store, run_id, summary, config.allow_outside_fixtures, known)
    judges = with_fidelity(judges, project or [], scenarios)
    summary.judges = max(summary.judges, len(judges))
    keys = _input_keys(judges, scenarios)

    def due(trace_id: str, judge: Judge) -> bool:
        stored = done.get((trace_id, judge.name, judge.version))
        return not _fresh(stored, keys.get((judge.name, scenario_of[trace_id])))

    summary.traces += len(ids)
    due_judges = {i: found for i in ids if (found := [j for j in judges if due(i, j)])}
    pending = list(due_judges)
    summary.cached += len(ids) * len(judges)
    finished, total = 0, sum(map(len, due_judges.values()))
    chunks = _scored_chunks(store, verdicts, cache, config, pending, due_judges, scenarios, keys)
    for results in chunks:
        summary.cached -= len(results)
        summary.scored += len(results)
        summary.errors += sum(1 for r in results if r.status == "error")
        finished += len(results)
        if progress:
            progress(finished, total)
    while config.mirror and (batch := verdicts.unmirrored(run_id, limit=_CHUNK)):
        verdicts.mark_mirrored(_mirror(store, batch))
        summary.mirrored += len(batch)
    versions = {j.name: j.version for j in judges}
    for name, row in verdicts.tally(run_id, versions).items():
        summary.per_judge.setdefault(name, JudgeTally()).merge(row)
    if FIDELITY_JUDGE in versions:
        fidelity = verdicts.for_run(run_id, {FIDELITY_JUDGE: versions[FIDELITY_JUDGE]})
        if (faults := simulator_faults(fidelity)) is not None:
            summary.simulator_faults[run_id] = faults
