"""The fake LLM speaks what real SDKs send: streamed chat completions with usage, the Responses
API (text and tool calls, plain and streamed), and says which rule answered each request."""

from __future__ import annotations

import json

import openai
import pytest

from costar.llm import FakeLLM, count_tokens

SCRIPT = {
    "rules": [
        {
            "name": "look up first",
            "when": {"last_message": r"order (\d+)", "not_after_tool": "lookup"},
            "reply": {"tool_calls": [{"name": "lookup", "arguments": {"order_id": "{1}"}}]},
        },
        {
            "name": "answer after lookup",
            "when": {"tool_result": "shipped"},
            "reply": {"text": "Your order shipped yesterday and arrives on Friday."},
        },
    ],
    "default": {"text": "Hello from the fake model, how can I help you today?"},
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "integer"}}},
        },
    }
]


@pytest.fixture
def fake():
    with FakeLLM(SCRIPT) as server:
        yield server


def client(fake: FakeLLM) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="fake-key", max_retries=0)


def test_streamed_chat_equals_the_plain_answer_with_usage(fake: FakeLLM) -> None:
    c = client(fake)
    messages = [{"role": "user", "content": "hi"}]
    plain = c.chat.completions.create(model="fake", messages=messages)
    chunks = list(
        c.chat.completions.create(
            model="fake", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert len(chunks) > 3 and text == plain.choices[0].message.content
    assert chunks[-1].usage.model_dump()["total_tokens"] == plain.usage.total_tokens > 0
    assert fake.log[-1].endswith("stream=yes -> default: text (52 characters)")


def test_streamed_tool_call_reassembles(fake: FakeLLM) -> None:
    stream = client(fake).chat.completions.create(
        model="fake",
        messages=[{"role": "user", "content": "where is order 1042"}],
        tools=TOOLS,
        stream=True,
    )
    name, args, finish = "", "", None
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or []:
            name += delta.function.name or ""
            args += delta.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert (name, json.loads(args), finish) == ("lookup", {"order_id": 1042}, "tool_calls")
    assert "look up first: tool calls lookup" in fake.log[-1]


def test_responses_api_text_and_tool_calls(fake: FakeLLM) -> None:
    c = client(fake)
    tools = [{"type": "function", **TOOLS[0]["function"]}]
    first = c.responses.create(model="fake", input="where is order 1042", tools=tools)
    (call,) = [item for item in first.output if item.type == "function_call"]
    assert (call.name, json.loads(call.arguments)) == ("lookup", {"order_id": 1042})
    follow = [
        {"role": "user", "content": "where is order 1042"},
        {"type": "function_call", "call_id": call.call_id, "name": "lookup",
         "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": '{"s": "shipped"}'},
    ]  # fmt: skip
    second = c.responses.create(model="fake", input=follow, tools=tools, instructions="Be brief")
    assert second.output_text == "Your order shipped yesterday and arrives on Friday."
    assert second.usage.input_tokens > 0
    assert second.usage.output_tokens == count_tokens(second.output_text) == 9
    assert fake.requests[-1]["messages"][0] == {"role": "system", "content": "Be brief"}
    assert fake.log[-1].startswith("fake-llm: POST /v1/responses model=fake stream=no")
    assert "-> answer after lookup: text" in fake.log[-1]


def test_streamed_responses_end_with_the_complete_response(fake: FakeLLM) -> None:
    events = list(client(fake).responses.create(model="fake", input="hi", stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    final = events[-1].response
    assert deltas == final.output_text == "Hello from the fake model, how can I help you today?"
    assert final.usage.total_tokens == final.usage.input_tokens + final.usage.output_tokens
    assert [e.sequence_number for e in events] == list(range(len(events)))
