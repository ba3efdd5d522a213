"""FakeLLM: a scripted OpenAI-compatible server on 127.0.0.1 for tests and the offline demo.

Serves POST /v1/chat/completions and POST /v1/responses (answers from a Script; both streamed
as server-sent events when the request says `stream: true`, usage included), POST
/v1/embeddings (deterministic vectors) and GET /v1/models. Token usage is counted from the
text. Every request leaves one log line naming the rule that answered it (`FakeLLM.log`, and
the `log` stream if given). Real clients reach it over real HTTP; nothing is patched::

    with FakeLLM("script.yaml") as fake:
        client = LLMClient("openai:/fake", base_url=fake.base_url)
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from costar._serve import serve_in_background, stop_server
from costar.config import env_var
from costar.llm._script import Fault, Script, load_script, match, render
from costar.llm._wire import chat_chunks, response_events, response_object, responses_to_chat

EMBEDDING_DIM = 64
_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """A deterministic token count: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def embed(text: str, dim: int = EMBEDDING_DIM) -> list[float]:
    """A deterministic unit vector for `text` (equal texts, equal vectors), drawn from a hash
    of it: it carries no meaning (two paraphrases are as far apart as two unrelated texts), so
    a test can check that the embedding path is taken, never what embeddings would find."""
    values: list[float] = []
    counter = 0
    while len(values) < dim:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    vec = values[:dim]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [round(v / norm, 6) for v in vec]


class _State:
    def __init__(self, script: Script):
        self.script = script
        self.lock = threading.Lock()
        self.rule_uses: dict[int, int] = {}
        self.fault_uses: dict[int, int] = {}
        self.random = random.Random(script.faults.seed)
        self.requests: list[dict[str, Any]] = []
        self.log: list[str] = []
        self.usage: list[dict[str, int]] = []
        self.log_stream: Any = None
        self.call_ids = 0

    def note(self, line: str) -> None:
        with self.lock:
            self.log.append(line)
        if self.log_stream is not None:
            print(line, file=self.log_stream, flush=True)

    def decide(self, body: dict[str, Any]) -> tuple[Fault | None, str | None, list[dict], str]:
        """The fault to inject (if any), else the text and tool calls; and the rule's name."""
        model = str(body.get("model", ""))
        messages = body.get("messages") or []
        with self.lock:
            self.requests.append(body)
            faults = self.script.faults
            if faults.rate and self.random.random() < faults.rate:
                kind = self.random.choice(faults.kinds)
                return (
                    Fault(kind=kind, retry_after=faults.retry_after, delay=faults.delay),
                    None,
                    [],
                    "random fault",
                )
            for index, rule in enumerate(self.script.rules):
                if rule.times is not None and self.rule_uses.get(index, 0) >= rule.times:
                    continue
                found = match(rule, model, messages)
                if not found:
                    continue
                fault = rule.fault
                if fault is not None:
                    used = self.fault_uses.get(index, 0)
                    if fault.times is None or used < fault.times:
                        self.fault_uses[index] = used + 1
                        return fault, None, [], rule.name or f"rule {index + 1}"
                    if rule.reply is None:
                        continue  # fault spent: fall through to the next rule
                self.rule_uses[index] = self.rule_uses.get(index, 0) + 1
                text, calls = render(rule.reply or self.script.default, found)
                return None, text, calls, rule.name or f"rule {index + 1}"
            text, calls = render(self.script.default, True)
            return None, text, calls, "default"

    def next_call_id(self) -> str:
        with self.lock:
            self.call_ids += 1
            return f"call_{self.call_ids}"


def _completion(
    state: _State, body: dict[str, Any], text: str | None, calls: list[dict], rule: str
) -> dict[str, Any]:
    prompt = " ".join(
        json.dumps(m.get("content")) + json.dumps(m.get("tool_calls") or "")
        for m in body.get("messages") or []
    )
    if body.get("tools"):
        prompt += json.dumps(body["tools"])
    tool_calls: list[dict[str, Any]] = [
        {
            "id": state.next_call_id(),
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
        }
        for c in calls
    ]
    completion_text = (text or "") + " ".join(c["function"]["arguments"] for c in tool_calls)
    prompt_tokens, completion_tokens = count_tokens(prompt), count_tokens(completion_text)
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-fake-{len(state.requests)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": f"costar-fake:{rule}",
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else keep-alive replies wait ~40 ms for a delayed ACK

    def log_message(self, *args: Any) -> None:
        pass

    def _send(
        self,
        status: int,
        payload: bytes,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload) if length is None else length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _route(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        return path.removeprefix("/v1")

    def do_GET(self) -> None:  # noqa: N802
        if self._route() == "/models":
            data = {"object": "list", "data": [{"id": "fake", "object": "model"}]}
            self._send(200, json.dumps(data).encode())
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:  # noqa: N802
        try:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, json.JSONDecodeError):
            self._send(400, b'{"error": {"message": "request body is not JSON"}}')
            return
        route = self._route()
        if route == "/embeddings":
            self._embeddings(body)
        elif route == "/chat/completions":
            self._chat(body, route)
        elif route == "/responses":
            self._chat(responses_to_chat(body), route, responses=body)
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def _embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input", "")
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
        self.server.state.note(
            f"fake-llm: POST /v1/embeddings model={body.get('model', '')!s} -> "
            f"{len(texts)} vectors (hashes of the texts, no meaning)"
        )
        data = {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": embed(t)}
                for i, t in enumerate(texts)
            ],
            "model": body.get("model", "fake-embedding"),
            "usage": {
                "prompt_tokens": sum(count_tokens(t) for t in texts),
                "total_tokens": sum(count_tokens(t) for t in texts),
            },
        }
        self._send(200, json.dumps(data).encode())

    def _chat(
        self, body: dict[str, Any], route: str, responses: dict[str, Any] | None = None
    ) -> None:
        state = self.server.state
        fault, text, calls, rule = state.decide(body)
        stream = bool((responses or body).get("stream"))
        if fault is not None:
            what = f"fault {fault.kind}"
        elif calls:
            what = "tool calls " + ", ".join(c["name"] for c in calls)
        else:
            what = f"text ({len(text or '')} characters)"
        state.note(
            f"fake-llm: POST /v1{route} model={body.get('model', '')!s} "
            f"stream={'yes' if stream else 'no'} -> {rule}: {what}"
        )
        if fault is not None:
            self._fault(fault)
            return
        completion = _completion(state, body, text, calls, rule)
        with state.lock:
            state.usage.append(dict(completion["usage"]))
        if responses is not None:
            response = response_object(completion, responses)
            if stream:
                self._stream(b"".join(response_events(response)))
            else:
                self._send(200, json.dumps(response).encode())
        elif stream:
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(b"".join(chat_chunks(completion, usage)))
        else:
            self._send(200, json.dumps(completion).encode())

    def _stream(self, payload: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _fault(self, fault: Fault) -> None:
        if fault.kind == "429":
            retry = (
                {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            )
            self._send(429, b'{"error": {"message": "rate limited (scripted)"}}', retry)
        elif fault.kind == "500":
            self._send(500, b'{"error": {"message": "server error (scripted)"}}')
        elif fault.kind == "timeout":
            time.sleep(fault.delay)
            self._send(504, b'{"error": {"message": "too late (scripted)"}}')
        elif fault.kind == "malformed":
            self._send(200, b'{"choices": [{"message": {"content": "cut')
        else:  # truncated: promise more bytes than are sent, then hang up
            self._send(200, b'{"id": "x", "choices": [', length=4096)
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is normal
            super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], state: _State):
        super().__init__(address, _Handler)
        self.state = state


class FakeLLM:
    """A scripted chat-completions server on loopback. Use as a context manager or start/stop."""

    def __init__(
        self,
        script: Script | dict[str, Any] | str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        log: Any = None,
    ):
        self.script = load_script(script)
        self.host, self.port = host, port
        self.log_stream = log  # a text stream for the per-request log lines (e.g. sys.stderr)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeLLM:
        self._server = _Server((self.host, self.port), _State(self.script))
        self._server.state.log_stream = self.log_stream
        self.port = int(self._server.server_address[1])
        self._thread = serve_in_background(self._server, "costar-fake-llm")
        return self

    def stop(self) -> None:
        if self._server is not None:
            stop_server(self._server)
            self._server = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every chat request received, in order (Responses API requests in chat form)."""
        return self._server.state.requests if self._server else []

    @property
    def usage(self) -> list[dict[str, int]]:
        """The token usage of every answer given, in order (prompt, completion, total)."""
        return self._server.state.usage if self._server else []

    @property
    def log(self) -> list[str]:
        """One line per request: route, model, streaming, the rule that answered and how."""
        return self._server.state.log if self._server else []

    def env(self, model: str = "openai:/fake") -> dict[str, str]:
        """Variables that point costar and OpenAI clients (MLflow's judges) at this server."""
        return {
            env_var("model"): model,
            env_var("llm_base_url"): self.base_url,
            env_var("llm_api_key"): "fake-key",
            "OPENAI_API_BASE": self.base_url,
            "OPENAI_BASE_URL": self.base_url,
            "OPENAI_API_KEY": "fake-key",
        }


@contextmanager
def serve(script: Script | dict[str, Any] | str | Path, port: int = 0) -> Iterator[FakeLLM]:
    """Run a FakeLLM for the duration of a with-block."""
    fake = FakeLLM(script, port=port).start()
    try:
        yield fake
    finally:
        fake.stop()
