"""A small shop project for the discover tests: a suite of refund and order-status scenarios
over one SQLite fixture, and a constructed production set where cancellations (and questions
about stock) are what no scenario covers."""

from __future__ import annotations

import json
import random
from pathlib import Path

from _helpers import write_files

SUITE = {
    "scenarios/fixtures/shop.sql": (
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT);\n"
        "INSERT INTO orders VALUES (1042, 'delivered'), (1043, 'shipped');\n"
    ),
    "scenarios/refund.yaml": """
        id: refund-broken
        description: A broken item is refunded
        tags: [common, refunds]
        setup:
          sqlite:
            shop.db: {sql_file: fixtures/shop.sql}
        input: "My kettle from order 1042 arrived broken, I want a refund."
        expectations:
          guidelines: [Checks the refund policy before refunding]
    """,
    "scenarios/status.yaml": """
        id: order-status
        description: Where is my order?
        tags: [common, orders]
        setup:
          sqlite:
            shop.db: {sql_file: fixtures/shop.sql}
        input: "Where is my order 1043?"
        expectations:
          facts: [shipped]
    """,
    "scenarios/escalate.yaml": """
        id: escalate
        description: The customer asks for a human
        tags: [edge, escalation]
        input: "Let me talk to a human, please."
    """,
}

PHRASES = {
    "refund": [
        "My {item} from order {n} arrived broken, I want a refund.",
        "The {item} (order {n}) is broken. Refund please.",
        "Order {n}: the {item} came damaged, can I get a refund?",
    ],
    "status": [
        "Where is my order {n}?",
        "Where is order {n}? It has not arrived.",
        "Can you tell me where my order {n} is?",
    ],
    "human": [
        "Let me talk to a human.",
        "I want to talk to a human agent, not a bot.",
    ],
    "cancel": [
        "Please cancel order {n}, I don't need it anymore.",
        "I want to cancel my order {n} for the {item}.",
        "Cancel order {n} before it ships, please.",
    ],
    "stock": [
        "Is the {item} back in stock?",
        "When will the {item} be in stock again?",
    ],
}
COUNTS = {"refund": 12, "status": 12, "human": 6, "cancel": 10, "stock": 6}
UNCOVERED = ("cancel", "stock")


def shop_project(root: Path) -> None:
    """The suite above in `root` (a project from the `project` fixture)."""
    write_files(root, SUITE)


def production(root: Path, seed: int = 3) -> list[tuple[str, dict]]:
    """(intent, conversation) pairs in the shape `_production.log` takes, every one with the
    project's setup recorded in its `costar.setup` tag (absolute fixture paths, as a
    production agent records them)."""
    rng = random.Random(seed)
    setup = {"sqlite": {"shop.db": {"sql_file": str(root / "scenarios/fixtures/shop.sql")}}}
    out = []
    t = 1_790_000_000_000
    for intent, count in COUNTS.items():
        for _ in range(count):
            text = rng.choice(PHRASES[intent]).format(
                n=rng.randint(1000, 9999), item=rng.choice(["kettle", "toaster", "mug set"])
            )
            t += 1000
            out.append(
                (
                    intent,
                    {
                        "user": text,
                        "reply": "ok",
                        "ts_ms": t,
                        "tags": {"costar.setup": json.dumps(setup)},
                    },
                )
            )
    return out
