"""The model behind generation and discovery, through costar.llm: JSON answers at temperature 0
with a seed, every call and token counted, and trace content delimited as data.

The data boundary is named by a hash of the seed and of the data itself, not a random nonce: the
same request is the same prompt every time (so a model that is deterministic at temperature 0
with a seed answers alike), and text inside the data still cannot close the boundary, since it
would have to contain a hash of itself.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from costar._exceptions import ConfigError
from costar.config import current_settings
from costar.judges import data_rule, delimit


def default_model(model: str | None = None) -> str:
    """The model to use: the one given, else the `judge_model` setting, else `model`."""
    found = model or current_settings().judge_model_or_default()
    if not found:
        raise ConfigError(
            "no model configured: pass --model, or set COSTAR_JUDGE_MODEL or COSTAR_MODEL "
            "(for example openai:/gpt-4.1-mini, with its key or COSTAR_LLM_BASE_URL)"
        )
    return found


@dataclass
class ModelUse:
    """What the model calls cost."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    unreadable: int = 0  # answers that were not a JSON object

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "seconds": round(self.seconds, 3),
            "unreadable": self.unreadable,
        }


class Model:
    """One model at temperature 0 with a seed, answering JSON objects."""

    def __init__(self, model: str | None = None, seed: int = 0):
        from costar.llm import get_client

        self.name = default_model(model)
        self.seed = seed
        self.client = get_client(self.name)
        self.use = ModelUse()

    def boundary(self, payload: Any) -> str:
        digest = hashlib.sha256(
            json.dumps([self.seed, payload], sort_keys=True, default=repr).encode()
        ).hexdigest()
        return f"trace-data-{digest[:16]}"

    def ask(self, instructions: str, task: str, data: Any) -> dict[str, Any] | None:
        """Ask for a JSON object: `instructions` (system), `task` and `data` (delimited as data).
        None when the answer is not a JSON object (counted as unreadable)."""
        text, boundary = delimit(data, self.boundary(data))
        messages = [
            {"role": "system", "content": f"{instructions}\n\n{data_rule(boundary)}"},
            {"role": "user", "content": f"{task}\n\n{text}"},
        ]
        started = time.monotonic()
        result = self.client.chat(
            messages, response_format={"type": "json_object"}, temperature=0.0, seed=self.seed
        )
        self.use.calls += 1
        self.use.input_tokens += result.usage.input_tokens
        self.use.output_tokens += result.usage.output_tokens
        self.use.seconds += time.monotonic() - started
        try:
            answer = json.loads(result.text or "")
        except json.JSONDecodeError:
            answer = None
        if not isinstance(answer, dict):
            self.use.unreadable += 1
            return None
        return answer
