"""Record real model traffic once, replay it in CI: an OpenAI-compatible proxy on 127.0.0.1.

`costar run --llm-record DIR` starts the proxy in front of the real model (the base URL from the
usual settings: COSTAR_LLM_BASE_URL, OPENAI_BASE_URL, OPENAI_API_BASE, else OpenAI's) and points
the agent at it (those variables now name the proxy, for the agent process and in-process
clients created after the run starts). Every POST under /v1 (chat completions, Responses API,
embeddings), streamed or not, is forwarded and stored. `--llm-replay DIR` serves the stored
answers without any model.

Recordings are plain JSON files, one per request key, fit for git: `DIR/<key>.json` holds the
request and the answers given to it, in order (the same request asked twice in one run, e.g.
by two trials, gets the recorded answers in turn; the last repeats). Headers are never stored,
so keys and tokens stay out of the files.

The request key is the sha256 of the route and the request body as canonical JSON, without
fields that do not change the answer (`user`, `metadata`, `store`, `prompt_cache_key`,
`safety_identifier`): model, messages or input, tools and parameters. Ids of earlier tool calls
and output items in the conversation (`id`, `call_id`, `tool_call_id`) are replaced by their
order of first appearance: the model chose them, they differ between runs, and they do not
change what a conversation says. A request with no
recording gets HTTP 404 with a message saying so (clients do not retry it, so the agent fails
at once), and is reported by scenario, trial and turn at the end of the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from costar._exceptions import ConfigError
from costar._serve import serve_in_background, stop_server
from costar.config import current_settings, env_var

RECORDING_VERSION = 1
IGNORED = ("user", "metadata", "store", "prompt_cache_key", "safety_identifier")
# where in-process clients and child processes look for the base URL (the proxy sets them all)
BASE_URL_VARIABLES = (env_var("llm_base_url"), "OPENAI_BASE_URL", "OPENAI_API_BASE")
DEFAULT_UPSTREAM = "https://api.openai.com/v1"


_ID_FIELDS = ("id", "call_id", "tool_call_id")


def _stable_ids(value: Any, seen: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _ID_FIELDS and isinstance(v, str):
                out[k] = seen.setdefault(v, f"id-{len(seen) + 1}")
            else:
                out[k] = _stable_ids(v, seen)
        return out
    if isinstance(value, list):
        return [_stable_ids(v, seen) for v in value]
    return value


def request_key(route: str, body: dict[str, Any]) -> str:
    """The stable key of a request: its route and body, minus what does not change the answer."""
    kept = _stable_ids({k: v for k, v in body.items() if k not in IGNORED}, {})
    text = json.dumps({"route": route, "body": kept}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _last_message(body: dict[str, Any]) -> str:
    items = body.get("messages") or body.get("input") or []
    if isinstance(items, str):
        return items[:120]
    for item in reversed(items if isinstance(items, list) else []):
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if content:
            return str(content)[:120]
    return ""


@dataclass
class Miss:
    """A request the recordings do not hold."""

    at_ns: int
    route: str
    model: str
    key: str
    last_message: str


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802
        data = {"object": "list", "data": [{"id": "recorded", "object": "model"}]}
        self._send(200, json.dumps(data).encode())

    def do_POST(self) -> None:  # noqa: N802
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        except ValueError:
            self._send(400, b'{"error": {"message": "request body is not JSON"}}')
            return
        route = self.path.split("?", 1)[0].rstrip("/").removeprefix("/v1")
        proxy = self.server.proxy
        if proxy.mode == "record":
            status, kind, payload = proxy.forward(route, body, self.headers.get("Authorization"))
        else:
            status, kind, payload = proxy.replay(route, body)
        self._send(status, payload, kind)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: LLMProxy):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up; its request is already recorded or answered


class LLMProxy:
    """The recording or replaying proxy (see the module docstring)."""

    def __init__(
        self, folder: Path, mode: Literal["record", "replay"], upstream: str | None = None
    ):
        self.folder, self.mode = folder, mode
        self.upstream = (upstream or DEFAULT_UPSTREAM).rstrip("/")
        self.misses: list[Miss] = []
        self._lock = threading.Lock()
        self._served: dict[str, int] = {}
        self._fresh: set[str] = set()  # keys re-recorded in this session
        if mode == "replay" and not folder.is_dir():
            raise ConfigError(f"--llm-replay {folder}: no such folder of recordings")
        folder.mkdir(parents=True, exist_ok=True)
        self._server = _Server(self)
        serve_in_background(self._server, "costar-llm")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def close(self) -> None:
        stop_server(self._server)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def forward(self, route: str, body: dict[str, Any], auth: str | None) -> tuple[int, str, bytes]:
        import httpx

        headers = {"Content-Type": "application/json"}
        key_env = current_settings().api_key() or os.environ.get("OPENAI_API_KEY")
        if auth or key_env:
            headers["Authorization"] = auth or f"Bearer {key_env}"
        try:
            response = httpx.post(
                f"{self.upstream}{route}", json=body, headers=headers, timeout=300
            )
        except httpx.HTTPError as exc:
            message = json.dumps({"error": {"message": f"costar llm record: {exc}"}})
            return 502, "application/json", message.encode()
        kind = response.headers.get("Content-Type", "application/json")
        if response.status_code < 400:  # errors are not answers worth replaying
            self._store(route, body, response.status_code, kind, response.text)
        return response.status_code, kind, response.content

    def _store(self, route: str, body: dict[str, Any], status: int, kind: str, text: str) -> None:
        key = request_key(route, body)
        answer = {"status": status, "content_type": kind, "body": text}
        with self._lock:
            path = self._path(key)
            if key in self._fresh and path.exists():
                data = json.loads(path.read_text(encoding="utf-8"))
                data["answers"].append(answer)
            else:
                self._fresh.add(key)
                data = {"version": RECORDING_VERSION, "route": route, "request": body}
                data["answers"] = [answer]
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            tmp.replace(path)

    def replay(self, route: str, body: dict[str, Any]) -> tuple[int, str, bytes]:
        key = request_key(route, body)
        path = self._path(key)
        if not path.exists():
            miss = Miss(time.time_ns(), route, str(body.get("model", "")), key, _last_message(body))
            with self._lock:
                self.misses.append(miss)
            message = (
                f"costar llm replay: no recording for POST /v1{route} (model {miss.model!r}, "
                f"key {key}, last message {miss.last_message!r}) in {self.folder}; "
                "the request changed since it was recorded: record again with --llm-record"
            )
            error = {"error": {"message": message, "type": "costar_replay_miss"}}
            return 404, "application/json", json.dumps(error).encode()
        answers = json.loads(path.read_text(encoding="utf-8"))["answers"]
        with self._lock:
            index = self._served.get(key, 0)
            self._served[key] = index + 1
        answer = answers[min(index, len(answers) - 1)]
        return int(answer["status"]), answer["content_type"], answer["body"].encode()


def upstream_url() -> str:
    """The real model's base URL: the `llm_base_url` setting, else OpenAI's variables."""
    found = current_settings().llm_base_url
    for name in BASE_URL_VARIABLES[1:]:
        found = found or os.environ.get(name)
    return found or DEFAULT_UPSTREAM


@contextmanager
def llm_traffic(record: Path | None, replay: Path | None) -> Iterator[LLMProxy | None]:
    """Run the block with model traffic recorded to or replayed from a folder (or neither)."""
    if record is None and replay is None:
        yield None
        return
    if record is not None and replay is not None:
        raise ConfigError("--llm-record and --llm-replay exclude each other: choose one")
    folder = record or replay
    assert folder is not None
    proxy = LLMProxy(folder, "record" if record else "replay", upstream_url())
    saved = {name: os.environ.get(name) for name in BASE_URL_VARIABLES}
    os.environ.update(dict.fromkeys(BASE_URL_VARIABLES, proxy.base_url))
    if replay is not None:  # clients want some key; the proxy never sends it anywhere
        os.environ.setdefault("OPENAI_API_KEY", "costar-replay")
    try:
        yield proxy
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        proxy.close()


def describe_misses(misses: list[Miss], views: list[Any]) -> list[str]:
    """One line per miss, naming the scenario, trial and turn that was running when it came."""
    lines = []
    for miss in misses:
        where = []
        for view in views:
            for number, turn in enumerate(view.turn_spans() or [view.root], start=1):
                if turn.start_ns <= miss.at_ns <= (turn.end_ns or miss.at_ns):
                    where.append(f"scenario {view.scenario_id} trial {view.trial} turn {number}")
        place = " or ".join(where) or "outside any recorded turn"
        lines.append(
            f"{place}: no recording for POST /v1{miss.route} (model {miss.model!r}, last message "
            f"{miss.last_message!r}, key {miss.key})"
        )
    return lines
