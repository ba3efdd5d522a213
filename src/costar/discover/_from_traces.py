"""`costar scenario generate --from-traces EXPERIMENT`: one draft per group of production
conversations that no scenario covers.

The groups are those of coverage (`_analysis`). Each uncovered group of at least `min_size`
conversations, largest first, becomes a draft from its medoid trace, written the way
`costar scenario from-trace` writes one (the user's turns; the recorded setup from the trace
tag `costar.setup` when there is one; the failing verdicts as expectation skeletons), marked as
a generated draft, with the group's size and example traces as comments. A candidate whose
medoid is within the threshold of a scenario (drafts included), or of an earlier candidate, is a
near-duplicate: dropped, and reported with what it duplicates.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from costar.assess import VerdictStore
from costar.config import Settings, given_flags
from costar.discover._analysis import (
    DEFAULT_THRESHOLD,
    analyse,
    centroid,
    scenario_topic,
)
from costar.discover._drafts import (
    DRAFTS_FOLDER,
    GENERATED_TAG,
    Rejected,
    slug,
    unique_id,
    write_draft,
)
from costar.discover._result import Duplicate, GenerateResult
from costar.discover._texts import read_conversations
from costar.monitor import scenario_text
from costar.scenarios import load_suite
from costar.traces import TraceStore


class FromTracesConfig(BaseModel):
    """What `costar scenario generate --from-traces` needs."""

    suite: Path = Field(description="Suite folder.")
    tracking_uri: str
    experiment: str = Field(description="Production experiment.")
    verdict_store: str | None = Field(None, description="For failing verdicts' rationales.")
    out: Path | None = Field(None, description="Drafts folder (default SUITE/generated).")
    threshold: float = Field(DEFAULT_THRESHOLD, gt=0, le=1)
    distance: float | None = Field(None, gt=0, lt=2, description="Grouping distance.")
    min_size: int = Field(3, ge=1, description="Smallest group that becomes a draft.")
    max_drafts: int = Field(10, ge=1)
    limit: int | None = Field(None, ge=1, description="Newest conversations read.")
    seed: int = 0
    embedding_model: str | None = None
    allow_outside_fixtures: bool = False
    force: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, experiment: str, **fields: Any) -> FromTracesConfig:
        """The project's suite, stores and `embedding_model`, then `fields` (the flags; None
        means the setting)."""
        project = {
            "suite": settings.resolve(settings.suite),
            "tracking_uri": settings.store_uri(),
            "verdict_store": settings.verdict_url(),
            "embedding_model": settings.embedding_model,
            "allow_outside_fixtures": settings.allow_outside_fixtures,
        }
        given = given_flags(fields)
        return cls(experiment=experiment, **{**project, **given})


def generate_from_traces(config: FromTracesConfig) -> GenerateResult:
    """Drafts for the uncovered groups of production (see the module docstring)."""
    import numpy as np

    started = time.monotonic()
    suite = load_suite(
        config.suite, allow_outside_fixtures=config.allow_outside_fixtures, include_drafts=True
    )
    out = config.out or config.suite / DRAFTS_FOLDER
    store = TraceStore(config.tracking_uri, config.experiment)
    conversations = read_conversations(store, config.limit)
    analysis = analyse(
        [c.text for c in conversations],
        [scenario_topic(s) for s in suite.scenarios],
        config.threshold,
        config.distance,
        config.embedding_model,
        config.seed,
    )
    result = GenerateResult("traces", config.threshold, analysis.representation)
    space = analysis.space
    n = len(conversations)
    taken = set(suite.ids)
    kept: list[tuple[str, Any]] = []  # (draft id, centroid)
    groups = analysis.uncovered_groups(config.min_size)
    result.candidates = len(groups)
    verdicts = VerdictStore(config.verdict_store) if config.verdict_store else None
    for group in groups:
        if len(result.written) >= config.max_drafts or space is None:
            break
        sid = unique_id(f"gen-{slug(' '.join(group.terms[:2]), 32)}", taken)
        medoid = group.medoid
        if suite.scenarios and analysis.similarity[medoid] >= config.threshold:
            near = suite.scenarios[analysis.nearest[medoid]].id
            result.duplicates.append(Duplicate(sid, near, analysis.similarity[medoid]))
            continue
        c = centroid(space, group.members)
        twins = [(k, float(np.dot(c, v))) for k, v in kept]
        twin = max(twins, key=lambda kv: kv[1], default=None)
        if twin and twin[1] >= config.threshold:
            result.duplicates.append(Duplicate(sid, twin[0], round(twin[1], 4)))
            continue
        trace_id = conversations[medoid].trace_id
        (view,) = store.views([trace_id])
        examples = [conversations[m].trace_id for m in group.members[:5]]
        share = len(group.members) / n
        comments = [
            f"Generated by `costar scenario generate --from-traces {config.experiment}`: a group "
            f"of {len(group.members)} production conversations ({share:.1%}) about "
            f"'{group.name}' that no scenario covers (nearest similarity {group.similarity:.2f}, "
            f"threshold {config.threshold:g}).",
            f"Example traces: {', '.join(examples)}",
            "A draft: never run or gated until you accept it (costar scenario accept).",
        ]
        _, text = scenario_text(
            view,
            verdicts.for_traces([trace_id]) if verdicts else [],
            out.resolve(),
            sid=sid,
            tags=[GENERATED_TAG, "production", slug(group.terms[0] if group.terms else "", 30)],
            description=f"Production intent '{group.name}': {len(group.members)} conversations "
            f"({share:.1%}) no scenario covered",
            comments=comments,
            draft=True,
        )
        detail = {
            "group": group.name,
            "conversations": len(group.members),
            "share": round(share, 4),
            "trace_id": trace_id,
            "examples": examples,
            "nearest_similarity": group.similarity,
        }
        done = write_draft(
            sid,
            text,
            out,
            config.suite,
            "traces",
            detail,
            confine=not config.allow_outside_fixtures,
            force=config.force,
        )
        if isinstance(done, Rejected):
            result.rejected.append(done)
        else:
            result.written.append(done)
            kept.append((sid, c))
    result.seconds = round(time.monotonic() - started, 3)
    return result
