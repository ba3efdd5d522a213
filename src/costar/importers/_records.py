"""The shapes of the records importers read, checked before anything is written.

The models are strict (no coercion of `"5"` to 5) and allow extra fields, so any real export
passes and any record costar cannot convert is refused with one line that says where.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from costar._input import clip


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class ToolFunction(_Record):
    name: str = "tool"
    arguments: str | dict[str, Any] | list[Any] | None = None


class ToolCall(_Record):
    id: str | int | None = None
    function: ToolFunction = Field(default_factory=ToolFunction)


class ChatMessage(_Record):
    """One OpenAI chat message."""

    role: str
    content: str | list[Any] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | int | None = None


class ChatRecord(_Record):
    """One line of an openai-chat JSONL file."""

    messages: list[ChatMessage] = Field(min_length=1)
    id: str | int | None = None
    scenario_id: str | int | None = None
    model: str | None = None
    usage: dict[str, int] | None = None
    expectations: dict[str, Any] | None = None


# tau-bench's field name `kwargs` clashes with the **kwargs of the pydantic plugin's __init__
class TauAction(_Record):  # type: ignore[no-redef]
    name: str
    kwargs: dict[str, Any] | None = None


class TauTask(_Record):
    user_id: Any = None
    instruction: str | None = None
    actions: list[TauAction] | None = None
    outputs: list[Any] | None = None


class TauInfo(_Record):
    task: TauTask


class TauRecord(_Record):
    """One result of a tau-bench results file."""

    task_id: int | str
    trial: int = Field(0, ge=0)
    reward: float | None = Field(None, allow_inf_nan=False)
    info: TauInfo
    traj: list[ChatMessage]


def describe(exc: ValidationError) -> str:
    """The first problem of a validation error as `field: what`, clipped."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "record"
    return f"{clip(loc, 60)}: {clip(err['msg'], 100)}"
