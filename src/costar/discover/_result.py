"""What `costar scenario generate` did: drafts written, candidates rejected, near-duplicates
dropped (with the scenario each was too close to), and what it cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from costar.discover._drafts import Rejected, Written
from costar.discover._model import ModelUse


@dataclass
class Duplicate:
    """A candidate dropped because an existing scenario (or an earlier candidate) says nearly
    the same."""

    id: str
    similar_to: str
    similarity: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "similar_to": self.similar_to, "similarity": self.similarity}


@dataclass
class GenerateResult:
    """The outcome of one generation."""

    origin: str  # spec | traces
    threshold: float
    representation: str = ""
    written: list[Written] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    candidates: int = 0
    model: ModelUse = field(default_factory=ModelUse)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "threshold": self.threshold,
            "representation": self.representation,
            "candidates": self.candidates,
            "written": [w.to_json() for w in self.written],
            "rejected": [r.to_json() for r in self.rejected],
            "duplicates": [d.to_json() for d in self.duplicates],
            "llm": self.model.to_json(),
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
        }
