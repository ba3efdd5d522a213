"""`costar discover RUN...`: failures grouped into named failure modes, and a draft judge for
each mode that no judge checks.

1. Findings: failing verdicts with their rationales, and traces that no judge failed whose
   metrics stand out (`_findings`).
2. Grouping: findings are clustered by what they say (the text representation of `_space`,
   agglomerative clustering at a cosine distance; no randomness, so the same findings give the
   same clusters). The model then names each cluster (one call each, temperature 0 and a seed);
   clusters it gives the same name are one mode. An answer that is not a usable name is
   rejected and counted, and the cluster keeps a name made of its most distinctive terms.
3. A mode no judge failed (only anomalies) gets a proposed judge (`_propose`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from costar._exceptions import NotFoundError
from costar.assess import VerdictStore
from costar.config import Settings, given_flags
from costar.discover._findings import Finding, anomalies, failing, outliers
from costar.discover._model import Model, ModelUse
from costar.discover._space import agglomerate, embed_texts, top_terms
from costar.judges import Verdict
from costar.traces import TraceStore, TraceView

NAME_INSTRUCTIONS = """You name failure modes of an AI agent under test. You get findings from \
one cluster: failing judges' rationales, or traces whose metrics stood out. Answer with JSON: \
{"name": "a short name of what went wrong, 3 to 8 words", "description": "one sentence: what \
the agent did wrong, in general terms"}. Findings of the same failure get the same name."""
MAX_EXAMPLES = 6


class DiscoverConfig(BaseModel):
    """What `costar discover` needs."""

    root: Path = Field(description="Project root.")
    runs: list[str] = Field(description="Run ids (or prefixes), or monitor window prefixes.")
    tracking_uri: str
    experiment: str = "costar"
    verdict_store: str
    judge_paths: list[str] = Field(default_factory=lambda: ["judges"])
    model: str | None = Field(None, description="Model that names modes and proposes judges.")
    seed: int = Field(0, description="Seed for the model.")
    z: float = Field(5.0, gt=0, description="Robust z-score above which a metric stands out.")
    distance: float = Field(
        0.75, gt=0, lt=2, description="Cosine distance under which findings are one cluster."
    )
    embedding_model: str | None = Field(None, description="Embeddings instead of TF-IDF.")
    out: Path | None = Field(None, description="Folder of proposed judges (judges/proposed).")
    propose: bool = Field(True, description="Propose a judge for each unchecked mode.")

    @classmethod
    def from_settings(cls, settings: Settings, runs: list[str], **fields: Any) -> DiscoverConfig:
        """The project's stores, judges and `embedding_model`, then `fields` (the flags; None
        means the setting)."""
        project = {
            **settings.step_fields(),
            "embedding_model": settings.embedding_model,
        }
        given = given_flags(fields)
        return cls(runs=runs, **{**project, **given})


@dataclass
class FailureMode:
    """A named kind of failure: how often, where, and which judges saw it."""

    name: str
    description: str
    findings: list[Finding]
    named_by: str  # model | terms
    proposal: dict[str, Any] | None = None

    @property
    def traces(self) -> list[str]:
        return sorted({f.trace_id for f in self.findings})

    @property
    def judges(self) -> list[str]:
        return sorted({f.judge for f in self.findings if f.judge})

    @property
    def checked(self) -> bool:
        """Whether any judge failed a trace of this mode."""
        return bool(self.judges)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "traces": len(self.traces),
            "findings": len(self.findings),
            "judges": self.judges,
            "checked": self.checked,
            "anomalies": sum(f.judge is None for f in self.findings),
            "examples": [
                {"trace_id": f.trace_id, "scenario_id": f.scenario_id, "text": f.text[:300]}
                for f in _examples(self.findings, 3)
            ],
            "named_by": self.named_by,
            "proposal": self.proposal,
        }


@dataclass
class DiscoverResult:
    """Every mode found, largest first, and what finding them cost."""

    runs: list[str]
    verdicts: int
    failing: int
    anomalies: int
    modes: list[FailureMode] = field(default_factory=list)
    representation: str = ""
    naming_rejected: int = 0
    proposals_rejected: list[dict[str, str]] = field(default_factory=list)
    model: ModelUse = field(default_factory=ModelUse)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "verdicts": self.verdicts,
            "failing_verdicts": self.failing,
            "anomalous_traces": self.anomalies,
            "representation": self.representation,
            "modes": [m.to_json() for m in self.modes],
            "naming_rejected": self.naming_rejected,
            "proposals_rejected": self.proposals_rejected,
            "llm": self.model.to_json(),
            "seconds": round(self.seconds, 3),
        }


def _examples(findings: list[Finding], n: int) -> list[Finding]:
    """Up to `n` findings with different texts, in a stable order."""
    seen: dict[str, Finding] = {}
    for f in sorted(findings, key=lambda f: (f.text, f.trace_id)):
        seen.setdefault(f.text, f)
    return list(seen.values())[:n]


def resolve_runs(names: list[str], store: TraceStore, verdicts: VerdictStore) -> list[str]:
    """Run ids for `names`: a costar run (id or prefix), or a prefix of verdict-store runs
    such as monitor windows (`monitor:NAME`)."""
    out: list[str] = []
    for name in names:
        windows = verdicts.run_ids(name) if name.startswith("monitor:") else []
        if windows:
            out += windows
            continue
        try:
            out.append(store.get_run(name).run_id)
        except NotFoundError:
            raise NotFoundError(
                f"no run {name!r} (see `costar runs`; monitor windows are named monitor:NAME)"
            ) from None
    return list(dict.fromkeys(out))


def _clean_name(answer: dict[str, Any] | None) -> tuple[str, str] | None:
    if not answer:
        return None
    name, description = answer.get("name"), answer.get("description", "")
    if not isinstance(name, str) or not isinstance(description, str):
        return None
    name = " ".join(name.split())
    if not 3 <= len(name) <= 80:
        return None
    return name, " ".join(description.split())[:300]


def name_clusters(
    clusters: list[list[Finding]], terms: list[list[str]], model: Model | None
) -> tuple[list[FailureMode], int]:
    """Name each cluster with the model, merge clusters it named alike; (modes, rejected)."""
    by_name: dict[str, FailureMode] = {}
    rejected = 0
    for cluster, words in zip(clusters, terms, strict=True):
        named = None
        if model is not None:
            data = {"findings": [f.text[:600] for f in _examples(cluster, MAX_EXAMPLES)]}
            named = _clean_name(
                model.ask(NAME_INSTRUCTIONS, "Name the failure mode of these findings.", data)
            )
            rejected += named is None
        name, description, how = (
            (*named, "model") if named else (", ".join(words) or "unnamed", "", "terms")
        )
        key = re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()
        if key in by_name:
            by_name[key].findings += cluster
        else:
            by_name[key] = FailureMode(name, description, list(cluster), how)
    modes = sorted(by_name.values(), key=lambda m: (-len(m.traces), m.name))
    return modes, rejected


def discover(config: DiscoverConfig, progress: Any = None) -> DiscoverResult:
    """Find, group, name the runs' failure modes; propose judges for unchecked ones."""
    import time

    from costar.discover._propose import propose_judges

    started = time.monotonic()
    store = TraceStore(config.tracking_uri, config.experiment)
    verdict_store = VerdictStore(config.verdict_store)
    run_ids = resolve_runs(config.runs, store, verdict_store)
    verdicts: list[Verdict] = [v for r in run_ids for v in verdict_store.for_run(r)]
    fails = failing(verdicts)
    odd = outliers(verdicts, config.z, {f.trace_id for f in fails})
    views = _views(store, sorted({o.trace_id for o in odd}))
    found = fails + anomalies(odd, views)
    found.sort(key=lambda f: (f.text, f.trace_id, f.judge or ""))
    result = DiscoverResult(run_ids, len(verdicts), len(fails), len({o.trace_id for o in odd}))
    if not found:
        result.seconds = time.monotonic() - started
        return result
    space = embed_texts([f.text for f in found], config.embedding_model, config.seed)
    result.representation = space.representation
    labels = agglomerate(space.vectors, config.distance)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(i)
    ordered = sorted(groups.values(), key=lambda rows: (-len(rows), rows[0]))
    clusters = [[found[i] for i in rows] for rows in ordered]
    terms = [top_terms(space, rows, 4) for rows in ordered]
    model = Model(config.model, config.seed)
    if progress:
        progress(f"{len(found)} findings in {len(clusters)} clusters; naming them")
    result.modes, result.naming_rejected = name_clusters(clusters, terms, model)
    if config.propose:
        out = config.out or config.root / "judges" / "proposed"
        result.proposals_rejected = propose_judges(
            result.modes, model, config.root, config.judge_paths, out, store, views
        )
    result.model = model.use
    result.seconds = time.monotonic() - started
    return result


def _views(store: TraceStore, trace_ids: list[str]) -> dict[str, TraceView]:
    return {view.trace_id: view for view in store.views(trace_ids)}
