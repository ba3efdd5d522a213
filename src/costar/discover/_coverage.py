"""`costar coverage EXPERIMENT`: how much of production the suite covers, and what it misses.

The share of production conversations whose nearest scenario is within the similarity
threshold (with its Wilson 95% interval), the largest uncovered groups with example traces, and
the suite's distribution over production intents (the groups its scenarios fall in) and over
its tags. Reads stored traces only.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from costar.assess import wilson
from costar.config import Settings, given_flags
from costar.discover._analysis import (
    DEFAULT_THRESHOLD,
    Analysis,
    analyse,
    scenario_topic,
)
from costar.discover._texts import Conversation, read_conversations
from costar.scenarios import Suite, load_suite
from costar.traces import TraceStore


class CoverageConfig(BaseModel):
    """What `costar coverage` needs."""

    suite: Path = Field(description="Suite folder.")
    tracking_uri: str = Field(description="Store holding the production experiment.")
    experiment: str = Field(description="Production experiment.")
    threshold: float = Field(DEFAULT_THRESHOLD, gt=0, le=1, description="Covered at or above.")
    distance: float | None = Field(None, gt=0, lt=2, description="Grouping distance.")
    limit: int | None = Field(None, ge=1, description="Newest conversations read (None: all).")
    seed: int = 0
    embedding_model: str | None = None
    top: int = Field(5, ge=1, description="Uncovered groups shown.")
    examples: int = Field(3, ge=1, description="Example traces per group.")
    include_drafts: bool = Field(False, description="Count draft scenarios as coverage.")
    allow_outside_fixtures: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, experiment: str, **fields: Any) -> CoverageConfig:
        """The project's suite, store and `embedding_model`, then `fields` (the flags; None
        means the setting)."""
        project = {
            "suite": settings.resolve(settings.suite),
            "tracking_uri": settings.store_uri(),
            "embedding_model": settings.embedding_model,
            "allow_outside_fixtures": settings.allow_outside_fixtures,
        }
        given = given_flags(fields)
        return cls(experiment=experiment, **{**project, **given})


@dataclass
class GroupSummary:
    """One production group as coverage reports it."""

    name: str
    conversations: int
    share: float
    covered: bool
    nearest_scenario: str | None
    similarity: float
    scenarios: int  # scenarios of the suite whose nearest group this is
    examples: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class CoverageResult:
    """Coverage of production by the suite."""

    experiment: str
    conversations: int
    covered: int
    threshold: float
    representation: str
    groups: list[GroupSummary]
    suite_scenarios: int
    suite_tags: dict[str, int]
    seconds: float = 0.0

    @property
    def share(self) -> float:
        return self.covered / self.conversations if self.conversations else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.covered, self.conversations) if self.conversations else (0.0, 1.0)

    @property
    def uncovered(self) -> list[GroupSummary]:
        return [g for g in self.groups if not g.covered]

    def line(self) -> str:
        """The one-line summary."""
        lo, hi = self.interval
        gaps = self.uncovered
        largest = f"; largest uncovered: {gaps[0].name} ({gaps[0].conversations})" if gaps else ""
        return (
            f"coverage: {self.share:.0%} of {self.conversations} production conversations "
            f"[95% CI {lo:.0%}, {hi:.0%}] have a scenario within similarity {self.threshold:g}; "
            f"{len(gaps)} uncovered group(s){largest}"
        )

    def to_json(self) -> dict[str, Any]:
        lo, hi = self.interval
        return {
            "experiment": self.experiment,
            "conversations": self.conversations,
            "covered": self.covered,
            "share": round(self.share, 4),
            "ci": [round(lo, 4), round(hi, 4)],
            "threshold": self.threshold,
            "representation": self.representation,
            "groups": [g.to_json() for g in self.groups],
            "uncovered": [g.to_json() for g in self.uncovered],
            "suite": {"scenarios": self.suite_scenarios, "tags": self.suite_tags},
            "seconds": round(self.seconds, 3),
        }


def summarise_groups(
    analysis: Analysis, conversations: list[Conversation], suite: Suite, examples: int
) -> list[GroupSummary]:
    """Every group, largest first, with its example traces and the scenarios in it."""
    import numpy as np

    space = analysis.space
    n = len(conversations)
    in_group: Counter[int] = Counter()
    if space is not None and analysis.groups and suite.scenarios:
        centroids = np.vstack(
            [space.compared[g.members].mean(axis=0) for g in analysis.groups]
        )  # which group each scenario is nearest to: the suite's spread over intents
        scen = space.compared[n : n + len(suite.scenarios)]
        in_group.update(int(i) for i in (scen @ centroids.T).argmax(axis=1))
    out = []
    for i, g in enumerate(analysis.groups):
        picked = [g.medoid] + [m for m in g.members if m != g.medoid][: examples - 1]
        out.append(
            GroupSummary(
                name=g.name,
                conversations=len(g.members),
                share=round(len(g.members) / n, 4) if n else 0.0,
                covered=g.covered,
                nearest_scenario=suite.scenarios[g.nearest].id if g.nearest is not None else None,
                similarity=g.similarity,
                scenarios=in_group.get(i, 0),
                examples=[
                    {"trace_id": conversations[m].trace_id, "text": conversations[m].text[:200]}
                    for m in picked
                ],
            )
        )
    return out


def coverage(config: CoverageConfig) -> CoverageResult:
    """Coverage of the experiment's conversations by the suite (see the module docstring)."""
    started = time.monotonic()
    suite = load_suite(
        config.suite,
        allow_outside_fixtures=config.allow_outside_fixtures,
        include_drafts=config.include_drafts,
    )
    conversations = read_conversations(
        TraceStore(config.tracking_uri, config.experiment), config.limit
    )
    analysis = analyse(
        [c.text for c in conversations],
        [scenario_topic(s) for s in suite.scenarios],
        config.threshold,
        config.distance,
        config.embedding_model,
        config.seed,
    )
    tags: Counter[str] = Counter(t for s in suite.scenarios for t in s.scenario.tags)
    return CoverageResult(
        experiment=config.experiment,
        conversations=len(conversations),
        covered=sum(analysis.covered),
        threshold=config.threshold,
        representation=analysis.representation,
        groups=summarise_groups(analysis, conversations, suite, config.examples),
        suite_scenarios=len(suite.scenarios),
        suite_tags=dict(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))),
        seconds=round(time.monotonic() - started, 3),
    )
