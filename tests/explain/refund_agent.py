"""A constructed LLM agent with a planted root cause, for the explain and replay tests.

Its `lookup_order` tool is buggy: it answers from a stale cache file (`cache.json`, which
says order 1042 was already refunded) instead of the database. So the tool result at step 3
is wrong, and the agent's later steps follow from it: it reads the policy, files a note
instead of the refund (step 7, the state change the final-state check contradicts) and says
the order was already refunded. Steps: 1 user turn, 2 model -> lookup_order, 3 lookup_order's
result, 4 model -> read_policy, 5 read_policy's result, 6 model -> add_note, 7 add_note's
result, 8 the reply. `main` runs the same agent as a command (JSON on stdin and stdout), its
tools reported through the events protocol and served by COSTAR_REPLAY_URL when replayed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import costar
from costar.llm import chat


def _fn(name: str, **params: str) -> dict[str, Any]:
    props = {k: {"type": "integer" if v == "int" else "string"} for k, v in params.items()}
    return {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {"type": "object", "properties": props, "required": list(params)},
        },
    }


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
        cache = json.loads((self.workspace / "cache.json").read_text())  # the planted bug
        return cache[str(order_id)]

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


class RefundAgent:
    """In process: each tool goes through `costar.tool`."""

    def __call__(self, ctx: costar.AgentContext) -> str:
        shop = Shop(ctx.workspace)
        tools = {
            t["function"]["name"]: costar.tool(
                getattr(shop, t["function"]["name"]), name=t["function"]["name"]
            )
            for t in TOOLS
        }
        return _loop(ctx.messages, lambda name, args: tools[name](**args))


def _loop(messages: list[dict[str, Any]], call: Any) -> str:
    messages = [{"role": "system", "content": "You are a refund agent."}, *messages]
    for _ in range(8):
        result = chat(messages, tools=TOOLS, temperature=0)
        messages.append(result.message())
        if not result.tool_calls:
            return result.text or ""
        for c in result.tool_calls:
            try:
                out: Any = call(c.name, c.arguments)
            except Exception as exc:
                out = {"error": str(exc)}
            messages.append({"role": "tool", "tool_call_id": c.id, "content": json.dumps(out)})
    return "gave up"


def _replayed(name: str, args: dict[str, Any]) -> dict[str, Any]:
    url = os.environ.get("COSTAR_REPLAY_URL")
    if not url:
        return {"replayed": False}
    body = json.dumps({"name": name, "args": args}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:  # a strict miss
        raise RuntimeError(json.loads(exc.read())["error"]) from None


def main() -> None:
    """The command form: one turn per process, tools reported as events."""
    turn = json.load(sys.stdin)
    shop = Shop(Path(turn["workspace"]))

    def call(name: str, args: dict[str, Any]) -> Any:
        start = time.time()
        served = _replayed(name, args)
        if served.get("replayed"):
            result, error = served.get("result"), served.get("error")
        else:
            result, error = getattr(shop, name)(**args), None
        event = {"type": "tool", "name": name, "args": args, "result": result, "error": error}
        with open(os.environ["COSTAR_EVENTS"], "a") as events:
            events.write(json.dumps({**event, "start": start, "end": time.time()}) + "\n")
        return result

    messages = [*turn["history"], {"role": "user", "content": turn["input"]}]
    print(json.dumps({"output": _loop(messages, call)}))


if __name__ == "__main__":
    main()
