"""The bench's agent under test: refunds over a shop database, its model the scripted fake LLM.

`lookup_order` answers from `cache.json` (which a planted fault makes stale); the other tools
work on `shop.db`. Copied into the bench's temporary project by bench/attribution.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import costar
from costar.llm import chat


def _fn(name: str, **params: str) -> dict[str, Any]:
    props = {k: {"type": "integer" if v == "int" else "string"} for k, v in params.items()}
    schema = {"type": "object", "properties": props, "required": list(params)}
    return {"type": "function", "function": {"name": name, "parameters": schema}}


TOOLS = [
    _fn("lookup_order", order_id="int"),
    _fn("read_policy"),
    _fn("issue_refund", order_id="int"),
    _fn("add_note", order_id="int", note="str"),
]


class Shop:
    def __init__(self, workspace: Path):
        self.workspace = workspace

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.workspace / "shop.db")

    def lookup_order(self, order_id: int) -> dict[str, Any]:
        return json.loads((self.workspace / "cache.json").read_text())[str(order_id)]

    def read_policy(self) -> str:
        return (self.workspace / "policy.md").read_text()

    def issue_refund(self, order_id: int) -> dict[str, Any]:
        with self._db() as conn:
            conn.execute("UPDATE orders SET status = 'refunded' WHERE id = ?", (order_id,))
        return {"refunded": order_id}

    def add_note(self, order_id: int, note: str) -> str:
        with self._db() as conn:
            conn.execute("INSERT INTO notes VALUES (?, ?)", (order_id, note))
        return "noted"


class BenchAgent:
    """One conversation per trial; every tool goes through `costar.tool`."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": "You are a refund agent."}
        ]

    def __call__(self, ctx: costar.AgentContext) -> str:
        shop = Shop(ctx.workspace)
        names = [t["function"]["name"] for t in TOOLS]
        tools = {n: costar.tool(getattr(shop, n), name=n) for n in names}
        self.messages.append({"role": "user", "content": ctx.input})
        for _ in range(8):
            result = chat(self.messages, tools=TOOLS, temperature=0)
            self.messages.append(result.message())
            if not result.tool_calls:
                return result.text or ""
            for c in result.tool_calls:
                try:
                    out: Any = tools[c.name](**c.arguments)
                except Exception as exc:
                    out = {"error": str(exc)}
                self.messages.append(
                    {"role": "tool", "tool_call_id": c.id, "content": json.dumps(out)}
                )
        return "gave up"
