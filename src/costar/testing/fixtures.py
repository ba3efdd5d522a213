"""pytest fixtures for projects that test with costar: `fake_llm`, the scripted fake LLM.

Load them with `pytest_plugins = ["costar.testing.fixtures"]` in a conftest.py (costar's own
suite does). `fake_llm(script, model="openai:/fake-model", **env)` starts a FakeLLM on 127.0.0.1
serving `script` (a dict, a Script or a YAML file), points costar, MLflow's judges and OpenAI
clients at it through the environment for this test only (extra `env` variables too, e.g.
`COSTAR_LLM_MAX_RETRIES="1"`), and returns the server (`.base_url`, the `.requests` it got).
Every server started is stopped, and costar's cached model clients closed, when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from costar.llm import FakeLLM, Script, close_clients

StartFakeLLM = Callable[..., FakeLLM]


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[StartFakeLLM]:
    """Start scripted fake LLM servers for this test; see the module docstring."""
    servers: list[FakeLLM] = []

    def start(
        script: Script | dict[str, Any] | str | Path,
        model: str = "openai:/fake-model",
        **env: str,
    ) -> FakeLLM:
        fake = FakeLLM(script).start()
        servers.append(fake)
        for key, value in {**fake.env(model), **env}.items():
            monkeypatch.setenv(key, str(value))
        return fake

    yield start
    close_clients()
    for fake in servers:
        fake.stop()
