"""Production conversations against the suite: which are covered, and how they group.

Both sides go into one space (`_space`): a conversation is its user's turns; a scenario is its
turns plus what it says it is about (description, guidelines, facts), so a scenario written as
one phrasing still meets conversations that say the same in other words it names. A
conversation is covered when its nearest scenario is within the similarity `threshold`, in the
space's coarse rows (few LSA dimensions: a scenario's one phrasing meets the other phrasings of
its intent).

Conversations are grouped (agglomerative clustering of the production side only, in the finer
rows, so that two intents that share words such as "order" stay apart). A group is covered
when its centroid is within the threshold of a scenario, or when most of its members are.
Uncovered groups, largest first, are what the suite misses; each is represented by its medoid
(the member nearest the centroid) and named by its most distinctive terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from costar.discover._space import Space, agglomerate, embed_texts, top_terms
from costar.scenarios import LoadedScenario

DEFAULT_THRESHOLD = 0.25  # cosine similarity at which a conversation counts as covered
# average-linkage cosine distance under which conversations group: LSA (and embeddings) pack
# a topic's texts closer than plain TF-IDF of a few texts does
DEFAULT_DISTANCE = 0.9
DISTANCE_PLAIN_TFIDF = 0.85  # character grams make every pair of texts a little closer


def scenario_topic(item: LoadedScenario) -> str:
    """A scenario's side in the comparison: its turns and what it says it is about."""
    s = item.scenario
    parts = [*s.turns, s.description, *s.expectations.guidelines, *s.expectations.facts]
    return "\n".join(p for p in parts if p)


@dataclass
class Group:
    """Production conversations that say much the same thing."""

    members: list[int]  # indices into the conversations
    terms: list[str]
    medoid: int
    nearest: int | None  # index of the nearest scenario (to the centroid)
    similarity: float  # of the centroid to that scenario
    covered_share: float  # of its members, the share whose own nearest scenario is near
    covered: bool = False

    @property
    def name(self) -> str:
        return ", ".join(self.terms) or "(no distinctive words)"


@dataclass
class Analysis:
    """Per conversation its nearest scenario; the groups; the space they were compared in."""

    threshold: float
    nearest: list[int]
    similarity: list[float]
    groups: list[Group] = field(default_factory=list)
    representation: str = ""
    space: Space | None = None
    distance: float = DEFAULT_DISTANCE

    @property
    def covered(self) -> list[bool]:
        return [s >= self.threshold for s in self.similarity]

    def uncovered_groups(self, min_size: int = 1) -> list[Group]:
        return [g for g in self.groups if not g.covered and len(g.members) >= min_size]


def analyse(
    conversations: list[str],
    scenarios: list[str],
    threshold: float = DEFAULT_THRESHOLD,
    distance: float | None = None,
    embedding_model: str | None = None,
    seed: int = 0,
) -> Analysis:
    """Compare production texts with scenario texts (see the module docstring). `distance`
    defaults to DEFAULT_DISTANCE, or DISTANCE_PLAIN_TFIDF when the texts are too few for LSA."""
    import numpy as np

    n = len(conversations)
    space = embed_texts(conversations + scenarios, embedding_model, seed)
    prod = np.arange(n)
    scen = np.arange(n, n + len(scenarios))
    if len(scenarios):
        sims = space.similarity(prod, scen)
        nearest = sims.argmax(axis=1)
        best = sims[np.arange(n), nearest]
    else:
        nearest, best = np.zeros(n, dtype=int), np.zeros(n)
    result = Analysis(
        threshold,
        [int(i) for i in nearest],
        [round(float(b), 4) for b in best],
        representation=space.representation,
        space=space,
    )
    if n == 0:
        return result
    if distance is None:
        plain = space.representation.startswith("tf-idf") and "lsa" not in space.representation
        distance = DISTANCE_PLAIN_TFIDF if plain else DEFAULT_DISTANCE
    result.distance = distance
    labels = agglomerate(space.vectors[prod], distance, seed)
    covered = best >= threshold
    for g in sorted(set(int(x) for x in labels)):
        rows = np.where(labels == g)[0]
        medoid = int(rows[np.argmax(space.vectors[rows] @ centroid(space, rows, fine=True))])
        if len(scenarios):
            to_scen = space.compared[scen] @ centroid(space, rows)
            near, sim = int(to_scen.argmax()), float(to_scen.max())
        else:
            near, sim = None, 0.0
        share = float(covered[rows].mean())
        result.groups.append(
            Group(
                members=[int(r) for r in rows],
                terms=top_terms(space, rows, 3),
                medoid=medoid,
                nearest=near,
                similarity=round(sim, 4),
                covered_share=round(share, 4),
                covered=sim >= threshold or share >= 0.5,
            )
        )
    result.groups.sort(key=lambda g: (-len(g.members), g.medoid))
    return result


def centroid(space: Space, rows: Any, fine: bool = False) -> Any:
    """The unit-length mean of these rows: in the space's compared rows, or its `fine` ones."""
    import numpy as np

    c = (space.vectors if fine else space.compared)[rows].mean(axis=0)
    return c / (float(np.linalg.norm(c)) or 1.0)
