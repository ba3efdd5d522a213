"""What `costar refine` is given, and its error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from costar._exceptions import ConfigError, RefineError  # noqa: F401 - RefineError is re-exported
from costar.config import Settings, given_flags


class RefineConfig(BaseModel):
    """What `costar refine` needs."""

    root: Path
    tracking_uri: str
    experiment: str = "costar"
    verdict_store: str
    judge_paths: list[str] = Field(default_factory=lambda: ["judges"])
    suite: str = "scenarios"
    allow_outside_fixtures: bool = False
    agent_files: list[str] = Field(default_factory=list)
    assistant: str = Field(description="A command template, or 'gepa' for the built-in one.")
    assistant_timeout: float = 1800.0
    components: list[str] = Field(default_factory=list, description="gepa: text components.")
    model: str | None = None
    gepa_budget: int = 12
    holdout_tag: str = "holdout"
    holdout_fraction: float = Field(0.25, ge=0, lt=1)
    max_iterations: int = Field(3, ge=1)
    max_tokens: int | None = None
    max_minutes: float | None = None
    trials: int = Field(1, ge=1)
    baseline_run: str | None = None
    judges: list[str] = Field(default_factory=list, description="Gated judges; default all.")
    alpha: float = 0.05

    @classmethod
    def from_settings(cls, settings: Settings, **fields: Any) -> RefineConfig:
        """The project's store, suite, judges and refine settings, then `fields` (the flags;
        None means the setting). The assistant comes from a flag or `refine_assistant`."""
        given = given_flags(fields)
        given["assistant"] = given.get("assistant") or settings.refine_assistant
        if not given["assistant"]:
            raise ConfigError(
                "name a coding assistant: --assistant 'claude -p {brief}' (any command), "
                "--assistant gepa, or refine_assistant in costar.toml"
            )
        project = {
            **settings.step_fields(),
            "suite": settings.suite,
            "allow_outside_fixtures": settings.allow_outside_fixtures,
            "agent_files": settings.agent_files,
            "components": settings.refine_components,
            "holdout_tag": settings.holdout_tag,
        }
        return cls(**{**project, **given})
