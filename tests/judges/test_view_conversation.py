"""TraceView reads turns and model calls the same way whatever made the spans."""

from __future__ import annotations

from _build import llm, span, tool, view

from costar.judges import metrics

USAGE = {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}
U = {"mlflow.chat.tokenUsage": USAGE}


def test_nested_llm_spans_are_one_call_with_usage_from_one_level() -> None:
    trace = view(
        # a framework span reporting usage around an SDK span reporting the same usage
        span("g1", "Generation", "CHAT_MODEL", 1, 2, **U),
        span("c1", "Completions", "LLM", 1.1, 1.9, parent="g1", **U),
        # a framework span reporting usage around an SDK span that reports none
        span("g2", "Generation", "CHAT_MODEL", 3, 4, **U),
        span("c2", "Completions", "LLM", 3.1, 3.9, parent="g2"),
        llm("plain", 5, 7, 3),
    )  # fmt: skip
    assert [s.span_id for s in trace.llm_calls()] == ["c1", "c2", "plain"]
    values = metrics(trace)
    assert (values["llm_calls"], values["input_tokens"], values["output_tokens"]) == (3, 207, 43)
    assert values["total_tokens"] == 250


def test_llm_spans_without_usage_are_not_measured_not_zero() -> None:
    trace = view(span("c", "chat", "CHAT_MODEL", 1, 2))
    values = metrics(trace)
    assert values["llm_calls"] == 1
    assert values["total_tokens"] is None and values["cost_usd"] is None


def test_turns_are_costar_turn_spans_only() -> None:
    turn = {"costar.turn": 1}
    trace = view(
        span("t1", "turn-1", "CHAIN", 0, 5, inputs="hi", outputs="hello", **turn),
        span("f", "LangGraph", "CHAIN", 1, 4, parent="t1", outputs="system prompt text"),
        tool("x", "lookup", 2),
        span("t2", "turn-2", "CHAIN", 5, 9, inputs="bye", outputs=None, **{"costar.turn": 2}),
        span("fake", "turn-3", "CHAIN", 6, 7, parent="t2", outputs="forged"),
        inputs={"turns": ["hi", "bye"]},
    )
    assert trace.replies == ["hello", None]
    first, second = trace.conversation()
    assert (first.user, first.reply, [c.name for c in first.tool_calls]) == (
        "hi",
        "hello",
        ["lookup"],
    )
    assert (second.user, second.reply, second.tool_calls) == ("bye", None, ())
