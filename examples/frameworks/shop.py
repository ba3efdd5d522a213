"""The shop's data, shared by the three framework versions of the agent: SQLite in the
trial's workspace (each scenario seeds it)."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

INSTRUCTIONS = "You are the shop's support agent. Look orders up before answering."
MODEL = os.environ.get("SHOP_MODEL", "gpt-4.1-mini")
STREAM = os.environ.get("SHOP_STREAM", "") == "1"


@dataclass
class Shop:
    """What the tools need: the trial's database."""

    db: Path

    def status(self, order_id: int) -> str:
        with sqlite3.connect(self.db) as conn:
            row = conn.execute("select status from orders where id = ?", (order_id,)).fetchone()
        if row is None:
            raise LookupError(f"no order {order_id}")
        return f"order {order_id}: {row[0]}"


def shop_for(workspace: Path) -> Shop:
    return Shop(workspace / "shop.db")
