"""Judge context: an agentic judge on a 2,000-span trace, against reading the trace whole.

The fake LLM's script navigates like a capable judge model would: search for the evidence,
read that one span, give the verdict. Figure: the judge's total input tokens over the tokens
of the whole trace serialised into one prompt (counted with the same tokenizer).

Usage: .venv/bin/python bench/judge_context.py [--quick]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, quick  # noqa: E402

SPANS = 500 if quick() else 2_000
SCRIPT = {
    "rules": [
        {
            "when": {"last_role": "tool", "after_tool": "get_span"},
            "reply": {
                "tool_calls": [
                    {
                        "name": "finish",
                        "arguments": {
                            "passed": False,
                            "rationale": "refund issued without the policy",
                        },
                    }
                ]
            },
        },
        {
            "when": {
                "last_role": "tool",
                "last_message": r'"span_id": "(\w+)", "name": "issue_refund"',
            },
            "reply": {
                "tool_calls": [
                    {"name": "get_span", "arguments": {"span_id": "{1}", "field": "inputs"}}
                ]
            },
        },
        {
            "when": {"last_role": "user"},
            "reply": {"tool_calls": [{"name": "search", "arguments": {"pattern": "issue_refund"}}]},
        },
    ]
}


def big_trace():
    from costar.judges import SpanView, TraceView

    spans = [SpanView("root", None, "support", "AGENT", 0, SPANS * 1000, "refund my order", "done")]
    for i in range(SPANS - 1):
        name = "issue_refund" if i == SPANS // 2 else f"lookup_{i % 40}"
        spans.append(
            SpanView(
                f"s{i}",
                "root",
                name,
                "TOOL",
                i * 1000,
                i * 1000 + 500,
                {"order_id": i, "query": "status of the order " * 3},
                {"status": "delivered", "items": ["kettle", "mug"], "note": "customer record " * 6},
            )
        )
    return TraceView("tr-big", {"costar.scenario_id": "s"}, "OK", tuple(spans))


def main() -> None:
    from costar.judges import build
    from costar.judges._prompt import render_trace
    from costar.llm import FakeLLM, close_clients, count_tokens

    view = big_trace()
    whole = json.dumps({"spans": [s.__dict__ for s in view.spans]}, default=repr)
    whole_tokens = count_tokens(whole)
    with FakeLLM(SCRIPT) as fake:
        os.environ.update(fake.env("openai:/judge"))
        verdict = build(
            "agentic", params={"instructions": "Was the policy read before any refund?"}
        ).score(view, None)
        close_clients()
    assert verdict.status == "ok" and verdict.passed is False, verdict.error
    ratio = verdict.cost.input_tokens / whole_tokens
    print(f"machine: {machine()}")
    print(
        f"trace: {SPANS} spans, {whole_tokens} tokens serialised whole "
        f"({len(render_trace(view))} conversation events)"
    )
    print(
        f"agentic judge: {verdict.cost.llm_calls} calls, {verdict.cost.input_tokens} input "
        f"tokens in all = {ratio:.1%} of the whole trace"
    )
    finish(
        {
            "bench": "judge_context",
            "spans": SPANS,
            "whole_trace_tokens": whole_tokens,
            "judge_input_tokens": verdict.cost.input_tokens,
            "judge_calls": verdict.cost.llm_calls,
            "token_ratio": round(ratio, 4),
        }
    )


if __name__ == "__main__":
    main()
