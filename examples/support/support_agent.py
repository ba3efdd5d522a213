"""An LLM-driven example agent: customer support over a SQLite shop and a refund policy.

At the start of a conversation it reads its system prompt and skills file (prompts/), then runs
a tool-calling loop through `costar.llm.chat`. The model is whatever COSTAR_MODEL names; the
offline demo points it at the scripted fake LLM (fake_llm.yaml). Tools work on the trial's
workspace: `shop.db` (customers, orders, products, refunds, escalations) and `policy.md`.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import costar
from costar.llm import chat

PROMPTS = Path(__file__).parent / "prompts"
MAX_STEPS = 8


def _tool(name: str, description: str, **params: str) -> dict[str, Any]:
    properties = {
        key: {"type": "integer" if kind == "int" else "string"} for key, kind in params.items()
    }
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": list(params)},
        },
    }


TOOLS = [
    _tool("lookup_customer", "Look up a customer by id.", customer_id="int"),
    _tool("lookup_order", "Look up an order by id.", order_id="int"),
    _tool("read_policy", "Read the refund policy."),
    _tool("issue_refund", "Refund an order in full.", order_id="int", reason="str"),
    _tool(
        "change_address", "Change the delivery address of an order.", order_id="int", address="str"
    ),
    _tool("escalate_to_human", "Hand the conversation to a human colleague.", reason="str"),
]


class Tools:
    """The agent's tools over the trial's workspace; each call is a TOOL span."""

    def __init__(self, workspace: Path):
        self.workspace = workspace

    def _db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.workspace / "shop.db")
        conn.row_factory = sqlite3.Row
        return conn

    def _row(self, sql: str, *args: Any) -> dict[str, Any] | None:
        conn = self._db()
        try:
            row = conn.execute(sql, args).fetchone()
        finally:
            conn.close()
        return dict(row) if row else None

    @costar.tool
    def lookup_customer(self, customer_id: int) -> dict[str, Any]:
        found = self._row("SELECT * FROM customers WHERE id = ?", customer_id)
        if found is None:
            raise LookupError(f"customer {customer_id} not found")
        return found

    @costar.tool
    def lookup_order(self, order_id: int) -> dict[str, Any]:
        found = self._row("SELECT * FROM orders WHERE id = ?", order_id)
        if found is None:
            raise LookupError(f"order {order_id} not found")
        return found

    @costar.tool
    def read_policy(self) -> str:
        return (self.workspace / "policy.md").read_text(encoding="utf-8")

    @costar.tool
    def issue_refund(self, order_id: int, reason: str = "") -> dict[str, Any]:
        order = self.lookup_order(order_id)
        conn = self._db()
        try:
            conn.execute("UPDATE orders SET status = 'refunded' WHERE id = ?", (order_id,))
            conn.execute("INSERT INTO refunds VALUES (?, ?, ?)", (order_id, order["total"], reason))
            conn.commit()
        finally:
            conn.close()
        return {"refunded": order["total"], "order_id": order_id}

    @costar.tool
    def change_address(self, order_id: int, address: str) -> dict[str, Any]:
        order = self.lookup_order(order_id)
        if order["status"] != "processing":
            raise ValueError(f"order {order_id} is {order['status']}; its address is fixed")
        conn = self._db()
        try:
            conn.execute("UPDATE orders SET address = ? WHERE id = ?", (address, order_id))
            conn.commit()
        finally:
            conn.close()
        return {"order_id": order_id, "address": address}

    @costar.tool
    def escalate_to_human(self, reason: str) -> str:
        conn = self._db()
        try:
            conn.execute("INSERT INTO escalations VALUES (?)", (reason,))
            conn.commit()
        finally:
            conn.close()
        return "escalated to a human colleague"

    def dispatch(self, name: str, arguments: dict[str, Any]) -> Any:
        """Run a tool the model asked for; failures go back to the model as data."""
        method = (
            getattr(self, name, None) if name in {t["function"]["name"] for t in TOOLS} else None
        )
        if method is None:
            return {"error": f"unknown tool {name!r}"}
        try:
            return method(**arguments)
        except (LookupError, ValueError, TypeError) as exc:
            return {"error": str(exc)}


class SupportAgent:
    """One customer conversation (costar makes one per trial)."""

    def __init__(self) -> None:
        system = (PROMPTS / "system.md").read_text(encoding="utf-8")
        skills = (PROMPTS / "skills.md").read_text(encoding="utf-8")
        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": f"{system}\n\n{skills}"}
        ]

    def __call__(self, ctx: costar.AgentContext) -> str:
        tools = Tools(ctx.workspace)
        self.messages.append({"role": "user", "content": ctx.input})
        for _ in range(MAX_STEPS):
            result = chat(self.messages, tools=TOOLS, temperature=0)
            self.messages.append(result.message())
            if not result.tool_calls:
                return result.text or ""
            for call in result.tool_calls:
                output = tools.dispatch(call.name, call.arguments)
                self.messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps(output)}
                )
        return "Sorry, I could not finish that. A colleague will follow up."
