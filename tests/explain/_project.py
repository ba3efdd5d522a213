"""The planted-cause project: scenario, fake LLM script (agent and attributor), helpers."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from _helpers import write_files
from costar.llm import FakeLLM, close_clients

HERE = Path(__file__).parent
STALE = {"1042": {"id": 1042, "status": "refunded", "total": 39.9}}  # the wrong answer
RIGHT = {"id": 1042, "status": "delivered", "total": 39.9}

SCENARIO = f"""
    id: refund-kettle
    input: "My kettle (order 1042) arrived broken. Please refund it."
    setup:
      sqlite:
        shop.db:
          orders: [{{id: 1042, status: delivered, total: 39.9}}]
          notes: [{{order_id: 0, note: seed}}]
      files:
        cache.json: '{json.dumps(STALE)}'
        policy.md: "Damaged items are refunded in full within 30 days."
    expectations:
      state:
        - sql: "select status from orders where id = 1042"
          rows: [[refunded]]
    """

AGENT_RULES: list[dict[str, Any]] = [
    {
        "when": {"system": "refund agent", "last_role": "user", "last_message": r"order (\d+)"},
        "reply": {"tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "{1}"}}]},
    },
    {
        "when": {"system": "refund agent", "last_role": "tool", "not_after_tool": "read_policy"},
        "reply": {"tool_calls": [{"name": "read_policy", "arguments": {}}]},
    },
    {
        "when": {"system": "refund agent", "after_tool": "issue_refund"},
        "reply": {"text": "I have refunded 39.90 for order 1042."},
    },
    {
        "when": {"system": "refund agent", "after_tool": "add_note"},
        "reply": {"text": "Order 1042 was already refunded; I noted your message."},
    },
    {
        "when": {"system": "refund agent", "tool_result": '"status": "delivered"'},
        "reply": {"tool_calls": [{"name": "issue_refund", "arguments": {"order_id": 1042}}]},
    },
    {
        "when": {"system": "refund agent", "after_tool": "read_policy"},
        "reply": {
            "tool_calls": [
                {"name": "add_note", "arguments": {"order_id": 1042, "note": "already refunded"}}
            ]
        },
    },
]


def attributor_rules(step: int, kind: str, correction: Any) -> list[dict[str, Any]]:
    """The scripted attributor: it lists the steps, then blames `step`."""
    return [
        {
            "when": {"system": "costar's attributor", "last_role": "user"},
            "reply": {"tool_calls": [{"name": "list_steps", "arguments": {}}]},
        },
        {
            "when": {"system": "costar's attributor", "last_role": "tool"},
            "reply": {
                "tool_calls": [
                    {
                        "name": "blame",
                        "arguments": {
                            "step": step,
                            "kind": kind,
                            "confidence": 0.8,
                            "reason": f"step {step} is where it went wrong",
                            "correction": correction,
                        },
                    }
                ]
            },
        },
    ]


def script(step: int = 3, kind: str = "tool_result", correction: Any = RIGHT) -> dict:
    return {"version": 1, "rules": [*attributor_rules(step, kind, correction), *AGENT_RULES]}


def make_project(root: Path, command: bool = False) -> Path:
    shutil.copyfile(HERE / "refund_agent.py", root / "refund_agent.py")
    agent = f"cmd:{sys.executable} refund_agent.py" if command else "refund_agent:RefundAgent"
    write_files(
        root,
        {
            "costar.toml": f"[costar]\nsuite = 'scenarios'\nagent = '{agent}'\n"
            "read_only = ['lookup_order', 'read_policy']\n",
            "scenarios/refund-kettle.yaml": SCENARIO,
        },
    )
    return root


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    """start(script) -> a FakeLLM the agent and the attributor use (COSTAR_MODEL)."""
    servers: list[FakeLLM] = []

    def start(rules: dict | None = None) -> FakeLLM:
        server = FakeLLM(rules or script()).start()
        for key, value in server.env("openai:/scripted").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("COSTAR_LLM_MAX_RETRIES", "0")
        servers.append(server)
        return server

    yield start
    close_clients()
    for server in servers:
        server.stop()


@pytest.fixture
def refund_project(project: Path) -> Path:
    return make_project(project)
