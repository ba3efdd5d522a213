"""The script of the fake LLM: ordered rules that match a request and say how to answer.

```yaml
version: 1
rules:
  - name: look up the order first
    when:
      last_message: "order (\\d+)"          # regex over the last message's text
      not_conversation: "lookup_order"      # and no lookup yet
    reply:
      tool_calls: [{name: lookup_order, arguments: {order_id: 1042}}]
  - name: overloaded once
    when: {model: "gpt-.*"}
    fault: {kind: "429", retry_after: 0.1, times: 1}   # first match only, then the next rule
  - when: {tool_result: "delivered"}
    reply: {text: "Your order has arrived."}
default: {text: "Sorry, I cannot help."}
faults: {rate: 0.0, kinds: ["500"], seed: 7}          # random faults on any request
```

Conditions (all optional, all must hold): `model` (regex, full match), `last_message`,
`last_role`, `conversation` and `not_conversation` (regex over every message's text),
`tool_result` (regex over tool messages), `after_tool` / `not_after_tool` (a tool has / has
not yet answered a call of that name), `user` and `system` (regex over the user's or the
system messages only). A rule with `times: N` applies at most N times.
Replies: `text`, `tool_calls`, or `json` (sent as the message text). Text and tool-call arguments
may use `{1}`, `{2}` for the groups of the `last_message` match (`"{1}"` alone keeps a number a
number). Faults: 429 (with Retry-After), 500, timeout (a
delay past the client's timeout), malformed (invalid JSON), truncated (the body is cut off).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from costar._exceptions import ConfigError
from costar._input import Document, clip, read_text, yaml_document

FaultKind = Literal["429", "500", "timeout", "malformed", "truncated"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Fault(_Strict):
    """An injected failure."""

    kind: FaultKind = Field(description="What goes wrong.")
    retry_after: float | None = Field(None, ge=0, description="Retry-After seconds (429).")
    delay: float = Field(30.0, ge=0, description="Seconds to stall (timeout).")
    times: int | None = Field(None, ge=1, description="Only the first N matches fail.")


class ScriptedToolCall(_Strict):
    """A tool call the fake model makes."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Reply(_Strict):
    """What the fake model answers."""

    text: str | None = None
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    json_value: Any = Field(None, alias="json", description="Answered as JSON text.")


class When(_Strict):
    """Conditions on the request; every given one must hold."""

    model: str | None = None
    last_message: str | None = None
    last_role: str | None = None
    conversation: str | None = None
    not_conversation: str | None = None
    tool_result: str | None = None
    after_tool: str | None = None
    not_after_tool: str | None = None
    user: str | None = None
    system: str | None = None


class Rule(_Strict):
    """One rule: conditions and the answer (a reply, a fault, or a fault then the reply)."""

    name: str | None = None
    when: When = Field(default_factory=When)
    reply: Reply | None = None
    fault: Fault | None = None
    times: int | None = Field(None, ge=1, description="The rule applies at most N times.")


class RandomFaults(_Strict):
    """Faults injected at a rate on any request, before the rules."""

    rate: float = Field(0.0, ge=0, le=1)
    kinds: list[FaultKind] = Field(default_factory=lambda: list[FaultKind](["500"]))
    seed: int = 0
    retry_after: float | None = 0.05
    delay: float = 30.0


class Script(_Strict):
    """A fake LLM script."""

    version: Literal[1] = 1
    rules: list[Rule] = Field(default_factory=list)
    default: Reply = Field(default_factory=lambda: Reply(text="(the scripted model has no rule)"))
    faults: RandomFaults = Field(default_factory=RandomFaults)


def load_script(source: Script | dict[str, Any] | str | Path) -> Script:
    """A Script from a model, a dict, YAML text or a YAML/JSON file path."""
    if isinstance(source, Script):
        return source
    where = "script"
    if isinstance(source, Path) or (
        isinstance(source, str)
        and "\n" not in source
        and source.endswith((".yaml", ".yml", ".json"))
    ):
        path = Path(source)
        where = str(path)
        source = read_text(path)
    doc = yaml_document(source, where) if isinstance(source, str) else Document(source)
    try:
        return Script.model_validate(doc.data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        line = doc.pos(*err["loc"], default=doc.pos())[0]
        raise ConfigError(
            f"{where}:{line}: '{clip(loc, 60)}': {clip(err['msg'], 120)} (see costar.llm._script)"
        ) from exc


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    parts = [str(content or "")]
    for call in message.get("tool_calls") or []:
        fn = call.get("function", {})
        parts.append(f"{fn.get('name', '')} {fn.get('arguments', '')}")
    return "\n".join(parts)


def _answered(messages: list[dict[str, Any]], tools: list[dict[str, Any]], name: str) -> bool:
    """Whether a tool message answers a call of tool `name`."""
    answered = {m.get("tool_call_id") for m in tools}
    return any(
        c.get("id") in answered
        for m in messages
        for c in m.get("tool_calls") or []
        if c.get("function", {}).get("name") == name
    )


def match(rule: Rule, model: str, messages: list[dict[str, Any]]) -> re.Match[str] | bool:
    """Whether the rule's conditions hold; the last_message match (for {1} groups) if any."""
    w = rule.when
    if w.model and not re.fullmatch(w.model, model):
        return False
    last = messages[-1] if messages else {}
    if w.last_role and last.get("role") != w.last_role:
        return False
    everything = "\n".join(_text(m) for m in messages)
    if w.conversation and not re.search(w.conversation, everything, re.S | re.I):
        return False
    if w.not_conversation and re.search(w.not_conversation, everything, re.S | re.I):
        return False
    tools = [m for m in messages if m.get("role") == "tool"]
    if w.tool_result and not any(re.search(w.tool_result, _text(m), re.I) for m in tools):
        return False
    if w.system and not any(
        re.search(w.system, _text(m), re.I) for m in messages if m.get("role") == "system"
    ):
        return False
    for name, wanted in ((w.after_tool, True), (w.not_after_tool, False)):
        if name and _answered(messages, tools, name) != wanted:
            return False
    if w.user and not any(
        re.search(w.user, _text(m), re.S | re.I) for m in messages if m.get("role") == "user"
    ):
        return False
    if w.last_message:
        found = re.search(w.last_message, _text(last), re.S | re.I)
        return found or False
    return True


def _fill(value: Any, groups: tuple[str | None, ...]) -> Any:
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\d+)\}", value)
        if whole and int(whole.group(1)) <= len(groups):
            got = groups[int(whole.group(1)) - 1] or ""
            return int(got) if got.isdigit() else got  # "{1}" alone keeps a number a number
        for i, group in enumerate(groups, start=1):
            value = value.replace(f"{{{i}}}", group or "")
        return value
    if isinstance(value, dict):
        return {k: _fill(v, groups) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, groups) for v in value]
    return value


def render(reply: Reply, found: re.Match[str] | bool) -> tuple[str | None, list[dict[str, Any]]]:
    """The reply's text and tool calls, with {1}, {2} filled from the last_message match."""
    groups = found.groups() if isinstance(found, re.Match) else ()
    text = json.dumps(reply.json_value) if reply.json_value is not None else reply.text
    calls = [{"name": c.name, "arguments": _fill(c.arguments, groups)} for c in reply.tool_calls]
    return (_fill(text, groups) if text else text), calls
