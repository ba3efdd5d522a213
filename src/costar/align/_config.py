"""What `costar align` is given."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from costar.assess import AssessConfig
from costar.config import Project, Settings, given_flags


class AlignConfig(BaseModel):
    """What `costar align` needs: the judge and optimizer, and the project whose golden set
    and traces it reads (`assess`, which also re-scores the held-out folds)."""

    assess: AssessConfig = Field(description="The project's stores and judges.")
    judge: str = Field(description="The LLM judge (or ensemble over one) to align.")
    optimizer: str = Field("memalign", description="memalign, gepa or simba (MLflow's).")
    folds: int = Field(3, ge=2, description="Cross-validation folds.")
    model: str | None = Field(None, description="The optimizer's model; default the judge's.")
    budget: int | None = Field(None, description="gepa: max metric calls; simba: max steps.")
    embedding_model: str | None = Field(None, description="memalign's embedding model.")
    seed: int = Field(0, description="Seed of the fold split.")
    write: bool = Field(True, description="Write the aligned judge when it is accepted.")

    @classmethod
    def from_settings(cls, settings: Settings, **fields: Any) -> AlignConfig:
        """The project's stores and judges, then `fields` (the flags; None means the default)."""
        given = given_flags(fields)
        return cls(assess=AssessConfig.from_settings(settings), **given)

    def project(self) -> Project:
        """The project's root, stores and `.costar/` paths."""
        return self.assess.project()
