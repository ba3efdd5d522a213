"""The scripted fake LLM as the judge model (import the fixture: `from _fake import judge_llm`)."""

from __future__ import annotations

import pytest

from costar.llm import FakeLLM, close_clients


@pytest.fixture
def judge_llm(monkeypatch):
    """start(script) -> a running FakeLLM that every judge's client reaches over HTTP."""
    servers: list[FakeLLM] = []

    def start(script: dict) -> FakeLLM:
        fake = FakeLLM(script).start()
        for key, value in fake.env("openai:/judge-model").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("COSTAR_LLM_MAX_RETRIES", "1")
        monkeypatch.setenv("COSTAR_LLM_TIMEOUT", "5")
        servers.append(fake)
        return fake

    yield start
    close_clients()
    for fake in servers:
        fake.stop()
