"""The generic conversation format: multi-agent logs recorded elsewhere, one span per message.

A file holds one conversation or several. JSON: a list of messages, an object with `messages`
(or `history`, as the Who&When logs name it), or a list of such objects. JSONL: one message per
line (one conversation), or one conversation object per line. A message has `role`, optional
`name` (or `agent`: which agent spoke) and `content`. A conversation may carry `id`, `question`
(the task; default its first user message), `passed` (bool) or `reward` (number: recorded as the
`imported:reward` verdict), and labels kept as trace tags `costar.label.<key>`
(`mistake_agent`, `mistake_step`, `mistake_reason`), for comparing attributions against them.

Each message becomes one span carrying `costar.step` (its index in the file's list, from 0),
`costar.step_kind` (user_turn for user messages, tool for tool messages, llm for the rest) and
`costar.agent`, so attribution names steps as the log numbers them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from costar._exceptions import InputError
from costar._input import clip, load_json, load_jsonl
from costar.traces import (
    AGENT_ATTRIBUTE,
    KIND_ATTRIBUTE,
    STEP_ATTRIBUTE,
    SpanRecord,
    TrialRecord,
    Turn,
    new_span_id,
)

LABELS = ("mistake_agent", "mistake_step", "mistake_reason")
_NS = 1_000_000


def _is_message(item: Any) -> bool:
    return isinstance(item, dict) and "role" in item and not ({"messages", "history"} & set(item))


def read_conversations(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, conversation object) for each conversation in the file."""
    if path.suffix == ".jsonl":
        lines = load_jsonl(path)
        if lines and all(_is_message(d) for _, d in lines):
            return [(f"{path}:1", {"messages": [d for _, d in lines]})]
        return [(f"{path}:{n}", d) for n, d in lines]
    data = load_json(path)
    if isinstance(data, list) and data and all(_is_message(d) for d in data):
        return [(f"{path}:1", {"messages": data})]
    if isinstance(data, dict):
        return [(f"{path}:1", data)]
    if isinstance(data, list):
        return [(f"{path}: conversation {i}", d) for i, d in enumerate(data)]
    raise InputError(f"{path}:1: expected a list of messages or conversation objects")


def _messages(where: str, conv: Any) -> list[dict[str, Any]]:
    if not isinstance(conv, dict):
        raise InputError(f"{where}: expected an object with a 'messages' list")
    messages = conv.get("messages", conv.get("history"))
    if not isinstance(messages, list) or not messages:
        raise InputError(f"{where}: expected a non-empty 'messages' (or 'history') list")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise InputError(f"{where}: message {i} needs a 'role' string (and 'content')")
    return messages


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", p)) if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else content if isinstance(content, str) else json.dumps(content)


def conversation_trial(where: str, conv: Any, scenario_id: str) -> TrialRecord:
    """One conversation as a trial: one span per message, numbered as in the file."""
    messages = _messages(where, conv)
    start = 1_700_000_000 * 1_000_000_000
    users = [_text(m.get("content")) for m in messages if m["role"] in ("user", "human")]
    question = str(conv.get("question") or (users[0] if users else ""))
    root = new_span_id()
    turn = Turn(user=question, start_ns=start + _NS, span_id=new_span_id())
    spans = []
    for i, m in enumerate(messages):
        role = m["role"]
        kind = (
            "user_turn"
            if role in ("user", "human")
            else "tool"
            if role in ("tool", "function")
            else "llm"
        )
        agent = m.get("name") or m.get("agent") or role
        at = start + (i + 2) * _NS
        spans.append(
            SpanRecord(
                name=str(agent),
                span_type={"tool": "TOOL", "llm": "CHAT_MODEL"}.get(kind, "UNKNOWN"),
                inputs={"role": role},
                outputs=_text(m.get("content")),
                attributes={STEP_ATTRIBUTE: i, KIND_ATTRIBUTE: kind, AGENT_ATTRIBUTE: str(agent)},
                start_ns=at,
                end_ns=at + _NS // 2,
                parent_id=turn.span_id,
            )
        )
    replies = [s.outputs for s in spans if s.attributes[KIND_ATTRIBUTE] == "llm"]
    turn.reply = replies[-1] if replies else None
    turn.end_ns = start + (len(messages) + 2) * _NS
    tags = {"costar.imported": "conversation"}
    for key in LABELS:
        if conv.get(key) is not None:
            tags[f"costar.label.{key}"] = clip(str(conv[key]), 1000)
    return TrialRecord(
        run_id="",
        scenario_id=scenario_id,
        trial=0,
        status="ok",
        turns=[turn],
        start_ns=start,
        end_ns=turn.end_ns + _NS,
        spans=spans,
        root_span_id=root,
        tags=tags,
    )


def reward_of(conv: dict[str, Any]) -> float | None:
    """The recorded outcome: `reward`, else `passed` as 1.0 / 0.0, else None."""
    if isinstance(conv.get("reward"), int | float) and not isinstance(conv.get("reward"), bool):
        return float(conv["reward"])
    if isinstance(conv.get("passed"), bool):
        return 1.0 if conv["passed"] else 0.0
    return None
