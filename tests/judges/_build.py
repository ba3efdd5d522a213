"""Hand-built TraceViews with known contents, for judge tests."""

from __future__ import annotations

from typing import Any

from costar.judges import SpanView, TraceView

S = 1_000_000_000


def span(
    sid: str,
    name: str,
    kind: str,
    start: float,
    end: float,
    parent: str | None = "root",
    inputs: Any = None,
    outputs: Any = None,
    error: str | None = None,
    **attributes: Any,
) -> SpanView:
    return SpanView(
        sid, parent, name, kind, int(start * S), int(end * S), inputs, outputs, attributes, error
    )


def tool(
    sid: str,
    name: str,
    at: float,
    args: dict | None = None,
    result: Any = None,
    error: str | None = None,
) -> SpanView:
    return span(sid, name, "TOOL", at, at + 0.1, inputs=args or {}, outputs=result, error=error)


def llm(sid: str, at: float, tokens_in: int, tokens_out: int, model: str = "m") -> SpanView:
    usage = {
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
    }
    return span(
        sid,
        "chat",
        "CHAT_MODEL",
        at,
        at + 0.5,
        **{"mlflow.chat.tokenUsage": usage, "mlflow.llm.model": model},
    )


def view(
    *spans: SpanView,
    output: Any = "done",
    inputs: Any = "hello",
    snapshot: dict | None = None,
    error: str | None = None,
    seconds: float = 10.0,
    scenario_id: str = "s",
) -> TraceView:
    root = span(
        "root",
        scenario_id,
        "AGENT",
        0,
        seconds,
        parent=None,
        inputs=inputs,
        outputs=output,
        error=error,
    )
    extra = []
    if snapshot is not None:
        extra.append(span("snap", "final_state", "UNKNOWN", seconds, seconds, outputs=snapshot))
    tags = {
        "costar.run_id": "r",
        "costar.scenario_id": scenario_id,
        "costar.trial": "0",
        "costar.status": "error" if error else "ok",
    }
    return TraceView("tr-1", tags, "ERROR" if error else "OK", (root, *spans, *extra))


def db_snapshot(rows: list[list[Any]], files: list[dict] | None = None) -> dict:
    return {
        "version": 1,
        "files": files or [],
        "sqlite": {
            "shop.db": {
                "tables": {
                    "orders": {
                        "schema": "CREATE TABLE orders (id INTEGER, status TEXT)",
                        "columns": [["id", "INTEGER"], ["status", "TEXT"]],
                        "row_count": len(rows),
                        "hash": "x",
                        "rows": rows,
                    }
                }
            }
        },
    }
