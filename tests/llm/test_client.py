"""The LLM client against the scripted fake over real HTTP: replies, faults, concurrency."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from costar._exceptions import (
    ConfigError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
)
from costar.llm import (
    FakeLLM,
    LLMClient,
    ModelCall,
    add_call_observer,
    chat,
    close_clients,
    embed,
    resolve_endpoint,
)
from costar.traces import Recorder, record_llm_call, recording

SCRIPT = {
    "rules": [
        {
            "name": "order",
            "when": {"last_message": r"order (\d+)"},
            "reply": {"tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "{1}"}}]},
        },
        {
            "name": "after lookup",
            "when": {"last_role": "tool", "last_message": r'"status": "(\w+)"'},
            "reply": {"text": "Your order is {1}."},
        },
        {"name": "json", "when": {"last_message": "as json"}, "reply": {"json": {"ok": True}}},
        {"name": "model", "when": {"model": "special-.*"}, "reply": {"text": "special"}},
    ],
    "default": {"text": "hello there"},
}


_open: list[LLMClient] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _open:
        _open.pop().close()


@pytest.fixture
def fake():
    with FakeLLM(SCRIPT) as server:
        yield server


def client(fake: FakeLLM, model: str = "openai:/fake", **kw) -> LLMClient:
    c = LLMClient(model, base_url=kw.pop("base_url", fake.base_url), api_key="k", **kw)
    _open.append(c)
    return c


def test_text_reply_with_usage_counted_from_the_text(fake: FakeLLM) -> None:
    result = client(fake).chat([{"role": "user", "content": "hi, how are you?"}])
    assert result.text == "hello there" and result.tool_calls == []
    assert result.usage.input_tokens > 0 and result.usage.output_tokens == 2
    assert result.attempts == 1 and result.latency > 0 and result.finish_reason == "stop"


def test_tool_call_then_answer_from_the_tool_result(fake: FakeLLM) -> None:
    c = client(fake)
    messages = [{"role": "user", "content": "where is order 1042?"}]
    tools = [{"type": "function", "function": {"name": "lookup_order", "parameters": {}}}]
    first = c.chat(messages, tools=tools)
    (call,) = first.tool_calls
    assert (call.name, call.arguments) == ("lookup_order", {"order_id": 1042})
    messages += [
        first.message(),
        {"role": "tool", "tool_call_id": call.id, "content": '{"status": "delivered"}'},
    ]
    second = c.chat(messages, tools=tools)
    assert second.text == "Your order is delivered."
    assert fake.requests[0]["tools"] == tools


def test_json_output_and_model_matching(fake: FakeLLM) -> None:
    c = client(fake)
    result = c.chat(
        [{"role": "user", "content": "answer as json"}], response_format={"type": "json_object"}
    )
    assert result.json() == {"ok": True}
    special = client(fake, "openai:/special-1")
    assert special.chat([{"role": "user", "content": "x"}]).text == "special"


FAULTS = ["429", "500", "timeout", "malformed", "truncated"]
ERRORS = {
    "429": LLMRateLimitError,
    "500": LLMServerError,
    "timeout": LLMTimeoutError,
    "malformed": LLMResponseError,
    "truncated": LLMResponseError,
}


@pytest.mark.parametrize("kind", FAULTS)
def test_each_fault_is_retried_and_then_succeeds(kind: str) -> None:
    script = {
        "rules": [
            {
                "fault": {"kind": kind, "times": 1, "delay": 3, "retry_after": 0.05},
                "reply": {"text": "recovered"},
            }
        ]
    }
    with FakeLLM(script) as fake:
        result = client(fake, timeout=0.5, backoff=0.01).chat([{"role": "user", "content": "x"}])
    assert (result.text, result.attempts) == ("recovered", 2)


@pytest.mark.parametrize("kind", FAULTS)
def test_each_persistent_fault_raises_its_typed_error_in_bounded_time(kind: str) -> None:
    script = {"rules": [{"fault": {"kind": kind, "delay": 3, "retry_after": 0.05}}]}
    with FakeLLM(script) as fake:
        start = time.monotonic()
        with pytest.raises(ERRORS[kind]) as info:
            client(fake, timeout=0.4, max_retries=2, backoff=0.01).chat(
                [{"role": "user", "content": "x"}]
            )
        elapsed = time.monotonic() - start
    assert info.value.attempts == 3 and "after 3 attempts" in str(info.value)
    assert elapsed < 3 * 0.4 + 2  # three attempts of at most the timeout, plus backoff


def test_retry_after_is_honoured() -> None:
    script = {
        "rules": [
            {"fault": {"kind": "429", "times": 1, "retry_after": 0.6}, "reply": {"text": "ok"}}
        ]
    }
    with FakeLLM(script) as fake:
        start = time.monotonic()
        client(fake, backoff=0.01).chat([{"role": "user", "content": "x"}])
        assert time.monotonic() - start >= 0.6


def test_a_refused_request_is_not_retried(fake: FakeLLM) -> None:
    wrong = client(fake, base_url=fake.base_url.replace("/v1", "/nope"))
    with pytest.raises(LLMRequestError, match="HTTP 404") as info:
        wrong.chat([{"role": "user", "content": "x"}])
    assert info.value.attempts == 1


def test_fifty_concurrent_calls(fake: FakeLLM) -> None:
    c = client(fake)
    with ThreadPoolExecutor(50) as pool:
        results = list(
            pool.map(lambda i: c.chat([{"role": "user", "content": f"order {i}"}]), range(50))
        )
    assert sorted(r.tool_calls[0].arguments["order_id"] for r in results) == list(range(50))
    assert len(fake.requests) == 50


@pytest.fixture
def traced():
    """costar.traces' model-call observer installed, as the harness installs it."""
    remove = add_call_observer(record_llm_call)
    yield
    remove()


def test_calls_inside_a_trial_record_llm_spans_with_usage(fake: FakeLLM, traced) -> None:
    recorder = Recorder(default_parent=1)
    with recording(recorder):
        result = client(fake).chat([{"role": "user", "content": "order 7"}])
    (span,) = recorder.spans
    assert span.span_type == "CHAT_MODEL" and span.name == "chat fake"
    assert span.attributes["mlflow.chat.tokenUsage"] == result.usage.to_dict()
    assert span.outputs["tool_calls"][0]["function"]["name"] == "lookup_order"
    assert span.inputs["messages"][0]["content"] == "order 7"


def test_a_failed_call_inside_a_trial_is_a_span_with_its_error(fake: FakeLLM, traced) -> None:
    wrong = client(fake, base_url=fake.base_url.replace("/v1", "/nope"))
    recorder = Recorder(default_parent=1)
    with recording(recorder), pytest.raises(LLMRequestError):
        wrong.chat([{"role": "user", "content": "x"}])
    (span,) = recorder.spans
    assert span.span_type == "CHAT_MODEL" and "HTTP 404" in (span.error or "")


class _Watcher:
    """An observer that sees every call, and serves a canned answer for one prompt."""

    def __init__(self) -> None:
        self.calls: list[ModelCall] = []
        self.results: list[str | None] = []

    def __call__(self, call: ModelCall):
        from contextlib import contextmanager

        self.calls.append(call)
        canned = {"role": "assistant", "content": "canned"}
        watcher = self

        @contextmanager
        def around():
            class Seen:
                served = canned if call.messages[-1]["content"] == "serve me" else None

                def finished(self, result) -> None:
                    watcher.results.append(result.text)

            yield Seen()

        return around()


def test_call_observers_see_each_call_and_may_serve_the_answer(fake: FakeLLM) -> None:
    watcher = _Watcher()
    remove = add_call_observer(watcher)
    add_call_observer(watcher)  # twice: still seen once
    try:
        c = client(fake)
        assert c.chat([{"role": "user", "content": "hi"}], tools=None).text == "hello there"
        served = c.chat([{"role": "user", "content": "serve me"}])
        assert served.text == "canned" and served.finish_reason == "replayed"
    finally:
        remove()
    c.chat([{"role": "user", "content": "unseen"}])
    assert [call.messages[-1]["content"] for call in watcher.calls] == ["hi", "serve me"]
    assert watcher.calls[0].model == "fake" and watcher.results == ["hello there", "canned"]
    assert len(fake.requests) == 2  # the served call never reached the model


def test_removing_a_second_add_keeps_the_observer_the_first_add_installed(fake: FakeLLM) -> None:
    # costar.agents installs the trace recorder once per process; a step that adds it again
    # for a while must not take it away from every later trial when it is done
    watcher = _Watcher()
    remove_first = add_call_observer(watcher)
    try:
        add_call_observer(watcher)()
        client(fake).chat([{"role": "user", "content": "still seen"}])
    finally:
        remove_first()
    client(fake).chat([{"role": "user", "content": "unseen"}])
    assert [call.messages[-1]["content"] for call in watcher.calls] == ["still seen"]


def test_outside_a_trial_the_trace_observer_stays_out(fake: FakeLLM, traced) -> None:
    assert record_llm_call(ModelCall("fake", "openai", [{"role": "user", "content": "hi"}])) is None
    assert client(fake).chat([{"role": "user", "content": "hi"}]).text == "hello there"


def test_module_level_chat_uses_costar_model(fake: FakeLLM, monkeypatch) -> None:
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    assert chat([{"role": "user", "content": "hi"}]).text == "hello there"
    close_clients()
    monkeypatch.delenv("COSTAR_MODEL")
    with pytest.raises(ConfigError, match="no model configured"):
        chat([{"role": "user", "content": "hi"}])


def test_embeddings_are_deterministic_unit_vectors(fake: FakeLLM) -> None:
    data = httpx.post(f"{fake.base_url}/embeddings", json={"input": ["a", "b", "a"]}).json()
    vectors = [d["embedding"] for d in data["data"]]
    assert vectors[0] == vectors[2] == embed("a") != vectors[1]
    assert abs(sum(v * v for v in vectors[0]) - 1) < 1e-3


def test_random_fault_rate_is_reproducible() -> None:
    script = {"faults": {"rate": 0.5, "kinds": ["500"], "seed": 3}}
    outcomes = []
    for _ in range(2):
        with FakeLLM(script) as fake:
            c = client(fake, max_retries=0)
            row = []
            for _ in range(10):
                try:
                    c.chat([{"role": "user", "content": "x"}])
                    row.append("ok")
                except LLMServerError:
                    row.append("500")
            outcomes.append(row)
    assert outcomes[0] == outcomes[1] and set(outcomes[0]) == {"ok", "500"}


@pytest.mark.parametrize(
    ("model", "message"),
    [("gpt-4", "expected PROVIDER:/MODEL"), ("azure:/x", "expected PROVIDER:/MODEL")],
)
def test_bad_model_strings(model: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_endpoint(model)


def test_providers_resolve_base_urls(monkeypatch) -> None:
    monkeypatch.delenv("COSTAR_LLM_BASE_URL", raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:11434")
    assert (
        resolve_endpoint("ollama:/llama3").chat_url == "http://127.0.0.1:11434/v1/chat/completions"
    )
    monkeypatch.setenv("DATABRICKS_HOST", "https://dbc.example")
    monkeypatch.setenv("DATABRICKS_TOKEN", "t")
    db = resolve_endpoint("databricks:/my-endpoint")
    assert db.base_url == "https://dbc.example/serving-endpoints" and db.api_key == "t"
    assert resolve_endpoint("openai:/m", base_url="http://127.0.0.1:8000/v1").model == "m"
