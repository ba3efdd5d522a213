"""What a stored trace says about itself without its spans: its info and its assessments.

MLflow's entities are read here and nowhere else, so the steps that read labels or watch a
store (align, monitor) see costar's own small records, and the ones that write feedback
(assess, align) hand over plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SOURCE_TYPES = ("HUMAN", "LLM_JUDGE", "CODE")  # MLflow's assessment sources costar writes


@dataclass(frozen=True)
class Assessment:
    """One assessment on a stored trace, as MLflow keeps it: a human label or a judge's
    feedback (`kind` "feedback"), an expected value ("expectation"), or another ("other")."""

    name: str
    kind: str
    value: Any
    source_type: str  # HUMAN, LLM_JUDGE or CODE
    source_id: str
    rationale: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    created_ms: int = 0
    valid: bool = True  # False once another assessment overrides it
    error: str | None = None


@dataclass(frozen=True)
class TraceInfo:
    """A stored trace without its spans: id, request time (ms since the epoch), state (OK,
    ERROR or IN_PROGRESS), duration, tags and assessments."""

    trace_id: str
    request_time_ms: int
    state: str
    execution_ms: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    assessments: tuple[Assessment, ...] = ()


def info_of(found: Any) -> TraceInfo:
    """A TraceInfo from an MLflow Trace or TraceInfo."""
    info = found.info if hasattr(found, "info") else found
    return TraceInfo(
        trace_id=info.trace_id,
        request_time_ms=int(info.request_time or 0),
        state=str(getattr(info.state, "value", info.state)),
        execution_ms=info.execution_duration,
        tags=dict(info.tags or {}),
        assessments=tuple(_assessment(a) for a in info.assessments or []),
    )


def _assessment(a: Any) -> Assessment:
    source = getattr(a, "source", None)
    body = a.feedback if a.feedback is not None else getattr(a, "expectation", None)
    kind = "feedback" if a.feedback is not None else "expectation" if body is not None else "other"
    error = getattr(a.feedback, "error", None) if a.feedback is not None else None
    return Assessment(
        name=a.name,
        kind=kind,
        value=getattr(body, "value", None),
        source_type=str(getattr(source, "source_type", "") or ""),
        source_id=str(getattr(source, "source_id", "") or ""),
        rationale=a.rationale or "",
        metadata=dict(a.metadata or {}),
        created_ms=int(a.create_time_ms or 0),
        valid=a.valid is not False,
        error=getattr(error, "error_message", None) if error is not None else None,
    )


def feedback(
    name: str,
    value: Any,
    source_type: str,
    source_id: str,
    rationale: str | None,
    metadata: dict[str, str] | None,
    error: str | None,
) -> Any:
    """An MLflow Feedback entity (imports mlflow)."""
    if source_type not in SOURCE_TYPES:
        raise ValueError(f"unknown assessment source {source_type!r} (one of {SOURCE_TYPES})")
    from mlflow.entities import AssessmentError, AssessmentSource, Feedback

    return Feedback(
        name=name,
        value=value,
        rationale=rationale or None,
        source=AssessmentSource(source_type=source_type, source_id=source_id),
        error=AssessmentError(error_code="JUDGE_ERROR", error_message=error)
        if error is not None
        else None,
        metadata=metadata or None,
    )
