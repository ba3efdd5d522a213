"""An example agent under test: a rule-based shop clerk (no LLM needed).

It keeps stock in a SQLite database (`shop.db`, table `stock(item, qty)`), notes in files, and
makes real tool calls recorded with `costar.tool`. It has the usual agent shape (understand the
request, call tools, answer) so the whole costar flow can be tried offline. It also has one
deliberate weakness: it sells without checking that the item exists when asked in a hurry.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import costar


class ShopAgent:
    """One conversation with the clerk; costar creates one per trial."""

    def __init__(self) -> None:
        self.pending: dict | None = None  # last restock, for "actually make it N"

    def __call__(self, ctx: costar.AgentContext) -> str:
        tools = Tools(ctx.workspace)
        text = ctx.input.strip().lower()
        shop = os.environ.get("SHOP_NAME") or ctx.env.get("SHOP_NAME") or "the shop"
        if m := re.search(r"(?:stock of|how many) ([a-z ]+?)s?\??$", text):
            item = m.group(1).strip()
            try:
                qty = tools.query_stock(item)
            except LookupError:
                return f"Sorry, we do not sell {item}."
            return f"We have {qty} {item} in stock."
        if m := re.search(r"restock ([a-z ]+?) by (\d+)", text):
            item, qty = m.group(1).strip(), int(m.group(2))
            self.pending = {"item": item, "qty": qty, "before": tools.query_stock(item)}
            new = tools.restock(item, qty)
            return f"Restocked {item}: now {new}."
        if (m := re.search(r"actually (?:make it )?(\d+)", text)) and self.pending:
            item, qty = self.pending["item"], int(m.group(1))
            tools.set_stock(item, self.pending["before"] + qty)
            return f"Changed the restock of {item} to {qty}: now {self.pending['before'] + qty}."
        if m := re.search(r"sell (\d+) ([a-z ]+?)s?( quickly)?$", text):
            qty, item, hurry = int(m.group(1)), m.group(2).strip(), bool(m.group(3))
            if not hurry:
                try:
                    have = tools.query_stock(item)
                except LookupError:
                    return f"Sorry, we do not sell {item}."
                if have < qty:
                    return f"Sorry, only {have} {item} left; I cannot sell {qty}."
            left = tools.sell(item, qty)
            return f"Sold {qty} {item}; {left} left."
        if m := re.match(r"note:\s*(.+)", ctx.input.strip(), re.IGNORECASE):
            tools.append_note(m.group(1))
            return "Noted."
        if "policy" in text:
            policy = tools.read_file("policy.md")
            return f"Our policy: {policy.strip().splitlines()[0]}"
        if "report" in text:
            path = tools.write_report()
            return f"Stock report written to {path}."
        if re.search(r"\b(hello|hi)\b", text):
            return f"Welcome to {shop}! How can I help?"
        return "Sorry, I can't help with that."


class Tools:
    """The clerk's tools; each call becomes a TOOL span in the trace."""

    def __init__(self, workspace: Path):
        self.workspace = workspace
        self.db = workspace / "shop.db"

    def _conn(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db)

    @costar.tool
    def query_stock(self, item: str) -> int:
        with self._conn() as conn:
            row = conn.execute("SELECT qty FROM stock WHERE item = ?", (item,)).fetchone()
        if row is None:
            raise LookupError(f"no item {item!r}")
        return int(row[0])

    @costar.tool
    def restock(self, item: str, qty: int) -> int:
        with self._conn() as conn:
            conn.execute("UPDATE stock SET qty = qty + ? WHERE item = ?", (qty, item))
            return int(conn.execute("SELECT qty FROM stock WHERE item = ?", (item,)).fetchone()[0])

    @costar.tool
    def set_stock(self, item: str, qty: int) -> int:
        with self._conn() as conn:
            conn.execute("UPDATE stock SET qty = ? WHERE item = ?", (qty, item))
        return qty

    @costar.tool
    def sell(self, item: str, qty: int) -> int:
        with self._conn() as conn:
            conn.execute("UPDATE stock SET qty = qty - ? WHERE item = ?", (qty, item))
            row = conn.execute("SELECT qty FROM stock WHERE item = ?", (item,)).fetchone()
        return int(row[0]) if row else -qty

    @costar.tool
    def append_note(self, text: str) -> str:
        with (self.workspace / "notes.md").open("a", encoding="utf-8") as fh:
            fh.write(f"- {text}\n")
        return "notes.md"

    @costar.tool
    def read_file(self, path: str) -> str:
        return (self.workspace / path).read_text(encoding="utf-8")

    @costar.tool
    def write_report(self) -> str:
        with self._conn() as conn:
            rows = conn.execute("SELECT item, qty FROM stock ORDER BY item").fetchall()
        out = self.workspace / "reports" / "stock.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({item: qty for item, qty in rows}, indent=2), encoding="utf-8")
        return "reports/stock.json"
