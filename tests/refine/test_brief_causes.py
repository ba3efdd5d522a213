"""The refine brief names each failure's attributed step (confirmed first) and the report says
whether the accepted change touched it."""

from __future__ import annotations

from _helpers import make_verdict
from costar.explain import Attribution
from costar.refine._brief import build_brief, cause_report
from costar.refine._loop import Attempt, RefineResult
from costar.refine._report import render


def _cause(trace_id: str, status: str, step: int, kind: str, name: str) -> Attribution:
    return Attribution(
        trace_id=trace_id,
        judge="final-state",
        step=step,
        span_id=f"s{step}",
        kind=kind,
        name=name,
        reason=f"step {step} did it",
        method="agentic",
        status=status,
        correction={"status": "delivered"},
    )


def test_confirmed_causes_come_first_and_the_report_says_what_the_change_touched() -> None:
    a = make_verdict("final-state", "a-refund", passed=False, rationale="not refunded")
    b = make_verdict("final-state", "b-refund", passed=False, rationale="not refunded")
    causes = {
        (a.trace_id, "final-state"): _cause(a.trace_id, "refuted", 5, "tool_result", "read_policy"),
        (b.trace_id, "final-state"): _cause(b.trace_id, "confirmed", 2, "llm", "chat"),
    }
    brief = build_brief("", [a, b], {}, {"a-refund", "b-refund"}, ["agent.py"], [], causes)
    assert [f.scenario_id for f in brief.failures] == ["b-refund", "a-refund"]
    text = brief.to_markdown()
    assert text.index("Attributed cause (confirmed") < text.index("Attributed cause (refuted")
    assert "step 2, llm `chat` (span s2)" in text

    diff = "--- a/prompts/system.md\n+++ b/prompts/system.md\n@@ -1 +1 @@\n+Read the policy.\n"
    attempt = Attempt(
        iteration=1, status="accepted", reason="fixed", diff=diff, causes=cause_report(brief, diff)
    )
    assert [(c["scenario_id"], c["touched"]) for c in attempt.causes] == [
        ("b-refund", True),  # a model decision: its prompt changed
        ("a-refund", False),  # read_policy's code did not
    ]
    result = RefineResult(
        "s", "abc", "run", ["a-refund", "b-refund"], [], ["a-refund"], [attempt], "accepted"
    )
    report = render(result)
    assert "| b-refund | final-state | 2 (llm `chat`) | confirmed | yes |" in report
    assert "| a-refund | final-state | 5 (tool_result `read_policy`) | refuted | no |" in report
