"""OpenAI chat messages -> a TrialRecord with LLM and tool spans."""

from __future__ import annotations

import json
import time
from typing import Any

from costar.traces import SpanRecord, TrialRecord, Turn, new_span_id

STEP_NS = 1_000_000  # imported steps have no timing; each gets 1 ms, in order


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _args(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return {"_raw": raw}
    return raw or {}


def messages_to_trial(
    messages: list[dict[str, Any]],
    run_id: str,
    scenario_id: str,
    trial: int,
    model: str | None = None,
    usage: dict[str, int] | None = None,
) -> TrialRecord:
    """A trial from a conversation: user turns, an LLM span per assistant message (with the
    messages it answered), a TOOL span per tool call with its result from the tool message."""
    start = time.time_ns()
    clock = [start]

    def tick() -> int:
        clock[0] += STEP_NS
        return clock[0]

    results = {m.get("tool_call_id"): m for m in messages if m.get("role") == "tool"}
    turns: list[Turn] = []
    spans: list[SpanRecord] = []
    seen: list[dict[str, Any]] = []
    assistant_count = sum(1 for m in messages if m.get("role") == "assistant") or 1
    for message in messages:
        role = message.get("role")
        if role == "user":
            turns.append(Turn(user=_content(message), start_ns=tick(), span_id=new_span_id()))
        elif role == "assistant":
            if not turns:
                turns.append(Turn(user="", start_ns=tick(), span_id=new_span_id()))
            turn = turns[-1]
            llm = SpanRecord(
                name=f"chat {model or 'model'}",
                span_type="CHAT_MODEL",
                inputs={"messages": list(seen)},
                outputs=message,
                start_ns=tick(),
                parent_id=turn.span_id,
            )
            if model:
                llm.attributes["mlflow.llm.model"] = model
            if usage:  # the record's total usage, spread over its model calls
                llm.attributes["mlflow.chat.tokenUsage"] = {
                    k: v // assistant_count for k, v in usage.items()
                }
            llm.end_ns = tick()
            spans.append(llm)
            for call in message.get("tool_calls") or []:
                fn = call.get("function", {})
                answer = results.get(call.get("id"))
                text = _content(answer) if answer else None
                failed = text is not None and text.lower().startswith("error")
                spans.append(
                    SpanRecord(
                        name=fn.get("name", "tool"),
                        span_type="TOOL",
                        inputs=_args(fn.get("arguments")),
                        outputs=None
                        if failed
                        else _args(text)
                        if text and text[:1] in "[{"
                        else text,
                        error=text if failed else (None if answer else "no tool result recorded"),
                        start_ns=tick(),
                        end_ns=tick(),
                        parent_id=turn.span_id,
                    )
                )
            if _content(message):
                turn.reply = _content(message)
            turn.end_ns = clock[0]
        seen.append(message)
    if not turns:
        turns = [Turn(user="", start_ns=start, end_ns=start, span_id=new_span_id())]
    root = new_span_id()
    if len(turns) == 1:
        for s in spans:
            s.parent_id = root
    for t in turns:
        t.end_ns = t.end_ns or t.start_ns
    return TrialRecord(
        run_id=run_id,
        scenario_id=scenario_id,
        trial=trial,
        status="ok",
        turns=turns,
        start_ns=start,
        end_ns=tick(),
        spans=spans,
        root_span_id=root,
        tags={"costar.imported": "true"},
    )
