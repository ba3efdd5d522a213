"""What a chat call returns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model asked for."""

    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str = ""

    def to_message(self) -> dict[str, Any]:
        """The call in chat-completions shape, for the assistant message of the history."""
        return {
            "id": self.id,
            "type": "function",
            "function": {
                "name": self.name,
                "arguments": self.raw_arguments or json.dumps(self.arguments),
            },
        }


@dataclass(frozen=True)
class Usage:
    """Token counts as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class ChatResult:
    """A model's answer: text and/or tool calls, usage, latency and how many tries it took."""

    text: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    latency: float = 0.0
    model: str = ""
    finish_reason: str | None = None
    attempts: int = 1

    def json(self) -> Any:
        """The text parsed as JSON (for response_format calls)."""
        return json.loads(self.text or "")

    def message(self) -> dict[str, Any]:
        """The answer as an assistant message to append to the history."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            msg["tool_calls"] = [call.to_message() for call in self.tool_calls]
        return msg
