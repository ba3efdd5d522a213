"""Judge context: an agentic judge on a 2,000-span trace, against reading the trace whole; then
the same trace with a 200-document reference folder, against reading trace and documents whole.

The fake LLM's script navigates like a capable judge model would: search for the evidence,
read that one span, (with references) search the documents and read the passage's page, give
the verdict. Figures: the judge's total input tokens over the tokens of the whole trace (and
of the whole trace plus every document) serialised into one prompt, counted with the same
tokenizer. Targets: <= 10% (trace), <= 3% (trace + references).

Usage: .venv/bin/python bench/judge_context.py [--quick]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, quick  # noqa: E402

SPANS = 500 if quick() else 2_000


def _call(name: str, **arguments: object) -> dict:
    """A scripted reply that calls one tool."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


VERDICT = {"passed": False, "rationale": "refund issued without the policy"}
SCRIPT = {
    "rules": [
        {
            "when": {"last_role": "tool", "after_tool": "get_span"},
            "reply": _call("finish", **VERDICT),
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


REFERENCE_SCRIPT = {
    "rules": [
        {
            "when": {"last_role": "tool", "after_tool": "read_reference"},
            "reply": _call("finish", **VERDICT, references=["docs/refund-policy.md#0"]),
        },
        {
            "when": {
                "last_role": "tool",
                "after_tool": "search_references",
                "last_message": r'"ref": "([^"#]+)#(\d+)"',
            },
            "reply": {
                "tool_calls": [
                    {"name": "read_reference", "arguments": {"doc": "{1}", "offset": "{2}"}}
                ]
            },
        },
        {
            "when": {"last_role": "tool", "after_tool": "get_span"},
            "reply": {
                "tool_calls": [
                    {
                        "name": "search_references",
                        "arguments": {"query": "read the refund policy before issue_refund"},
                    }
                ]
            },
        },
        *SCRIPT["rules"][1:],
    ]
}
DOCUMENTS = 200
_VOCABULARY = [
    "order",
    "shipping",
    "delivery",
    "invoice",
    "customer",
    "account",
    "address",
    "warehouse",
    "parcel",
    "courier",
    "payment",
    "card",
    "discount",
    "voucher",
    "loyalty",
    "tier",
    "gold",
    "silver",
    "return",
    "exchange",
    "repair",
    "warranty",
    "kettle",
    "blender",
    "mug",
    "toaster",
    "damaged",
    "missing",
    "late",
    "tracking",
    "email",
    "phone",
    "chat",
    "escalation",
    "manager",
    "approval",
    "weekday",
    "weekend",
    "holiday",
    "stock",
    "supplier",
    "catalogue",
    "price",
    "tax",
    "receipt",
]


def reference_folder(root: Path) -> Path:
    """200 Markdown documents of a support knowledge base (about 3 KB each), seeded; one of
    them holds the refund rule the judge needs."""
    import random

    rng = random.Random(7)
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for i in range(DOCUMENTS - 1):
        sections = []
        for j in range(4):
            words = " ".join(rng.choice(_VOCABULARY) for _ in range(110))
            sections.append(f"## Section {j + 1}\n\n{words.capitalize()}.\n")
        (docs / f"kb-{i:03}.md").write_text(f"# Article {i}\n\n" + "\n".join(sections))
    (docs / "refund-policy.md").write_text(
        "# Refund policy\n\nRead the refund policy before you issue_refund: refunds are "
        "possible within 30 days of delivery, and the customer confirms first.\n"
    )
    return docs


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
    with tempfile.TemporaryDirectory() as tmp:
        docs = reference_folder(Path(tmp))
        texts = {p.name: p.read_text() for p in sorted(docs.iterdir())}
        refs_tokens = count_tokens(json.dumps(texts))
        with FakeLLM(REFERENCE_SCRIPT) as fake:
            os.environ.update(fake.env("openai:/judge"))
            params = {
                "instructions": "Was the refund policy of the docs followed?",
                "references": ["docs"],
            }
            cited = build("agentic", params=params, root=Path(tmp)).score(view, None)
            close_clients()
            read = [
                json.loads(c["function"]["arguments"])["doc"]
                for m in fake.requests[-1]["messages"]
                for c in m.get("tool_calls") or []
                if c["function"]["name"] == "read_reference"
            ]
    assert cited.status == "ok" and cited.passed is False, cited.error
    assert cited.details and cited.details["references"], cited.details
    both = whole_tokens + refs_tokens
    share = cited.cost.input_tokens / both
    print(f"machine: {machine()}")
    print(
        f"trace: {SPANS} spans, {whole_tokens} tokens serialised whole "
        f"({len(render_trace(view))} conversation events)"
    )
    print(
        f"agentic judge: {verdict.cost.llm_calls} calls, {verdict.cost.input_tokens} input "
        f"tokens in all = {ratio:.1%} of the whole trace (target <= 10%)"
    )
    print(
        f"references: {len(texts)} documents, {refs_tokens} tokens serialised whole; "
        f"trace + references {both} tokens; the search ranked first and the judge read: "
        f"{read[0] if read else 'nothing'}"
    )
    print(
        f"agentic judge with references: {cited.cost.llm_calls} calls, "
        f"{cited.cost.input_tokens} input tokens in all = {share:.2%} of trace + references "
        "(target <= 3%)"
    )
    finish(
        {
            "bench": "judge_context",
            "spans": SPANS,
            "whole_trace_tokens": whole_tokens,
            "judge_input_tokens": verdict.cost.input_tokens,
            "judge_calls": verdict.cost.llm_calls,
            "token_ratio": round(ratio, 4),
            "documents": len(texts),
            "whole_references_tokens": refs_tokens,
            "references_judge_input_tokens": cited.cost.input_tokens,
            "references_judge_calls": cited.cost.llm_calls,
            "references_token_share": round(share, 4),
            "reference_read": read[0] if read else None,
        }
    )


if __name__ == "__main__":
    main()
