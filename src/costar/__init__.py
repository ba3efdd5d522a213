"""costar: test and refine AI agents with scenarios, traces, judges and refinement (coSTAR).

The names below load on first use, so `import costar` (and `costar --help`) stays fast and
never imports mlflow.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "tool": "costar.traces",
    "span": "costar.traces",
    "AgentContext": "costar.agents",
    "Scenario": "costar.scenarios",
    "load_suite": "costar.scenarios",
    "RunConfig": "costar.harness",
    "run_suite": "costar.harness",
    "CostarError": "costar._exceptions",
    "chat": "costar.llm",
    "judge": "costar.judges",
    "judge_tool": "costar.judges",
    "Outcome": "costar.judges",
    "TraceView": "costar.traces",
    "LLMClient": "costar.llm",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'costar' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
