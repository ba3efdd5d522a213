"""Opt-in smoke test against a real model: `pytest -m real_llm` with COSTAR_MODEL and a key."""

from __future__ import annotations

import os

import pytest

from costar.llm import LLMClient

pytestmark = pytest.mark.real_llm


@pytest.mark.skipif(not os.environ.get("COSTAR_MODEL"), reason="set COSTAR_MODEL and a key")
def test_a_real_model_answers_and_reports_usage() -> None:
    with LLMClient(os.environ["COSTAR_MODEL"]) as client:
        result = client.chat([{"role": "user", "content": "Reply with the single word: pong"}])
    assert "pong" in (result.text or "").lower()
    assert result.usage.total_tokens > 0
