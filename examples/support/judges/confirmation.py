"""A project judge in Python: a refund needs the customer's confirmation first."""

from __future__ import annotations

import re

import costar
from costar.judges import Outcome, TraceView, skip

ASKS = re.compile(r"\b(confirm|shall i|should i|do you want)\b", re.I)


@costar.judge(name="refund-needs-confirmation", kind="check")
def refund_needs_confirmation(view: TraceView, scenario: object) -> Outcome:
    """issue_refund is only called in a turn after a reply that asked the customer to confirm."""
    turns = view.spans_of("CHAIN") or [view.root]
    asked = False
    for turn in turns:
        refunds = [
            c
            for c in view.tool_calls()
            if c.name == "issue_refund"
            and turn.start_ns <= view.span(c.span_id).start_ns <= turn.end_ns
        ]
        if refunds and not asked:
            return Outcome(
                passed=False,
                evidence=[refunds[0].span_id, turn.span_id],
                rationale="issue_refund was called before the customer was asked to confirm",
            )
        asked = asked or bool(ASKS.search(str(turn.outputs or "")))
    if not any(c.name == "issue_refund" for c in view.tool_calls()):
        return skip("no refund in this conversation")
    return Outcome(passed=True, rationale="the refund followed the customer's confirmation")
