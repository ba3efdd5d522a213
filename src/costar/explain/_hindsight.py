"""Whether a counterfactual would test the claim or inject hindsight.

A one-step counterfactual shows a correction is enough to fix the failure, not that its step is
the earliest cause: a later model decision that acted on an earlier wrong result, "corrected" to
the right action, flips the verdict too. Two checks, both on what the agent could have known:

- the correction of a model decision may only use facts the agent had seen by then: a number or
  id in it (its text or its call's arguments) that appears nowhere before the step (user turns,
  tool calls and results, earlier model replies, the system prompt) is hindsight;
- a model decision before the attributed step whose call arguments carry an id or amount (a
  number of 3 digits or more) the agent had not seen (a hallucinated argument, e.g. another
  order than the customer's) is an earlier cause: whatever follows acted on its result.

Either makes the attribution unverifiable, never confirmed; the second names the earlier step.
Facts are numbers (ids, amounts, dates' parts), compared as decimals, so "39.90" is "39.9".
"""

from __future__ import annotations

import contextlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from costar.traces import TraceStep, canonical

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def facts(value: Any) -> set[str]:
    """The numbers in `value` (any JSON-like data), normalised: '039.90' and '39.9' are one."""
    text = value if isinstance(value, str) else canonical(value)
    found = set()
    for token in _NUMBER.findall(text):
        try:
            found.add(format(Decimal(token).normalize(), "f"))
        except InvalidOperation:  # pragma: no cover - the pattern only matches decimals
            found.add(token)
    return found


def _calls(message: Any) -> list[Any]:
    """The arguments of each tool call an assistant message makes (OpenAI or flat shape)."""
    if not isinstance(message, dict):
        return []
    out = []
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        args = (call.get("function") or call).get("arguments")
        if isinstance(args, str):
            with contextlib.suppress(ValueError):
                args = json.loads(args)
        out.append(args)
    return out


def _said(message: Any) -> set[str]:
    """The facts a model decision states: its text and its calls' arguments, not call ids."""
    if isinstance(message, dict):
        return facts(message.get("content") or "") | facts(_calls(message))
    return facts(str(message)) if message is not None else set()


def _system(inputs: Any) -> Any:
    """The system messages a model call was sent. Only those: a recorded messages list may
    have grown after the call (it can hold later turns), so the rest is read from the steps."""
    if isinstance(inputs, dict) and isinstance(inputs.get("messages"), list):
        return [m for m in inputs["messages"] if isinstance(m, dict) and m.get("role") == "system"]
    return None


def seen(steps: list[TraceStep], index: int) -> set[str]:
    """The facts the agent had seen when it took step `index`: the user's turns, tool calls and
    results, and model replies before it, and the system prompt of the model calls up to it (a
    turn's recorded output, its final reply, is not counted: it comes at the turn's end)."""
    known: set[str] = set()
    for s in steps:
        if s.index > index:
            break
        if s.kind == "llm":
            known |= facts(_system(s.inputs))
        if s.index == index:
            break
        if s.kind == "user_turn":
            known |= facts(s.inputs)
        else:
            known |= facts(s.outputs) | facts(s.error or "")
            known |= facts(s.inputs) if s.kind == "tool" else set()
    return known


def earlier_guess(steps: list[TraceStep], index: int) -> tuple[int, set[str]] | None:
    """The first model decision before step `index` whose calls carry facts it had not seen."""
    for s in steps:
        if s.index >= index:
            break
        if s.kind != "llm":
            continue
        # ids and amounts only (3 digits or more): a small number is often a parameter the
        # model picks (a limit, a page), and a false hit here would block every later claim
        said = {f for f in facts(_calls(s.outputs)) if sum(c.isdigit() for c in f) >= 3}
        unseen = said - seen(steps, s.index)
        if unseen:
            return s.index, unseen
    return None


def hindsight(
    steps: list[TraceStep], step: TraceStep, correction: Any
) -> tuple[str, int | None] | None:
    """Why the counterfactual at `step` would not test the claim (and the earlier step to look
    at, when one shows), or None when it would."""
    guess = earlier_guess(steps, step.index)
    if guess is not None:
        at, unseen = guess
        return (
            f"step {at} already called a tool with {', '.join(sorted(unseen))}, which the agent "
            f"had not seen: the cause is at or before step {at}, not step {step.index}",
            at,
        )
    if step.kind != "llm":
        return None  # a tool may know what the agent did not: its result is not hindsight
    unseen = _said(correction) - seen(steps, step.index)
    if unseen:
        return (
            f"the correction uses facts the agent had not seen at step {step.index} "
            f"({', '.join(sorted(unseen))}): it injects hindsight; the cause is earlier",
            None,
        )
    return None
