"""`costar label`: a local web UI for labelling traces, bound to 127.0.0.1.

Every request must carry the per-session token printed at start (the page in `?token=`, the
API in the `X-Costar-Token` header); other requests get 403. Requests whose Host is not a
loopback name are refused too (DNS rebinding). The page's Content-Security-Policy allows only
its own nonce'd script, and trace content is only ever inserted as text, so a trace holding
`<script>` shows as text and does not run. The judge's verdict on a trace is sent only after
this labeller has answered for that judge, so it cannot anchor the answer. Beside the trace the
page shows what the trace is judged against: the scenario's guidelines and expectations (from
the run's suite as it is now) and the judges' own guidelines, and the final state as tables.

POSTs from another origin are refused (403) even with the token; bodies must be a JSON object
of at most MAX_BODY bytes with a scalar label value (else 400/413, answered at once); a client
that goes away early is not worth a traceback.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from costar._exceptions import CostarError, UsageError
from costar._serve import STOP_POLL, serve_in_background, stop_server
from costar.align import GoldenSet, Label, consensus, parse_value
from costar.assess import AssessConfig, score_traces
from costar.judges import Judge
from costar.scenarios import load_suite
from costar.traces import TraceCache, TraceStore
from costar.web._label_doc import MAX_TEXT, judge_brief, scenario_document, trace_document

MAX_BODY = 1_000_000  # bytes of one POST body
_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
_SCALAR = (str, bool, int, float)


class BadRequest(UsageError, ValueError):
    """A request the labelling API refuses: its HTTP status and a short reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class LabelSession:
    """What one `costar label` serves: the queue, the judges, who is labelling."""

    config: AssessConfig
    judges: list[Judge]
    queue: list[dict[str, Any]]  # {trace_id, scenario_id, reasons}
    labeller: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def __post_init__(self) -> None:
        self.store = TraceStore(self.config.tracking_uri, self.config.experiment)
        self.golden = GoldenSet(self.store)
        self._lock = threading.Lock()
        self._suites: dict[str, dict[str, Any] | str] = {}  # run id -> scenarios, or why none
        self._suite_lock = threading.Lock()

    def scenarios(self, run_id: str) -> dict[str, Any] | str:
        """The run's scenarios by id (its suite as it is now), or why they cannot be shown."""
        with self._suite_lock:
            if run_id not in self._suites:
                self._suites[run_id] = self._load_scenarios(run_id)
            return self._suites[run_id]

    def _load_scenarios(self, run_id: str) -> dict[str, Any] | str:
        try:
            suite = self.store.get_run(run_id).params.get("suite")
            if not suite:
                return "the run names no suite (an imported run)"
            loaded = load_suite(suite, allow_outside_fixtures=self.config.allow_outside_fixtures)
        except CostarError as exc:
            return f"the suite cannot be loaded: {str(exc).splitlines()[0]}"
        return {s.id: s.scenario for s in loaded.scenarios}

    # -- API ---------------------------------------------------------------------------------
    def queue_state(self) -> dict[str, Any]:
        mine = {
            (lb.trace_id, lb.judge)
            for lb in self.golden.labels(trace_ids=[q["trace_id"] for q in self.queue])
            if lb.labeller == self.labeller
        }
        return {
            "labeller": self.labeller,
            "judges": [
                {"name": j.name, "kind": j.kind, "numeric": j.kind == "metric"} for j in self.judges
            ],
            "items": [
                {**q, "done": [j.name for j in self.judges if (q["trace_id"], j.name) in mine]}
                for q in self.queue
            ],
        }

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        if trace_id not in {q["trace_id"] for q in self.queue}:
            return None
        cache = TraceCache.in_project(self.config.root)
        try:
            views = self.store.views([trace_id], cache)
        finally:
            cache.close()
        if not views:
            return None
        doc = trace_document(views[0])
        found = self.scenarios(views[0].run_id)
        scenario = found.get(views[0].scenario_id) if isinstance(found, dict) else None
        doc["scenario"] = scenario_document(scenario) if scenario is not None else None
        if scenario is None:
            doc["scenario_missing"] = (
                found if isinstance(found, str) else "the scenario is not in the suite now"
            )
        doc["judges"] = [judge_brief(j, scenario) for j in self.judges]
        return doc

    def save(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest(400, "the body must be a JSON object {trace_id, judge, value}")
        value, rationale = body.get("value", ""), body.get("rationale", "")
        if not isinstance(value, _SCALAR):
            raise BadRequest(400, "the label value must be pass/fail, a number or a short text")
        if not isinstance(rationale, str):
            raise BadRequest(400, "the rationale must be text")
        trace_id, judge = str(body.get("trace_id", "")), str(body.get("judge", ""))
        if trace_id not in {q["trace_id"] for q in self.queue}:
            raise ValueError(f"trace {trace_id!r} is not in this labelling session")
        chosen = next((j for j in self.judges if j.name == judge), None)
        if chosen is None:
            raise ValueError(f"judge {judge!r} is not in this labelling session")
        label = Label(
            trace_id=trace_id,
            judge=judge,
            value=parse_value(value),
            rationale=rationale[:MAX_TEXT],
            labeller=self.labeller,
            scenario_id=next(q["scenario_id"] for q in self.queue if q["trace_id"] == trace_id),
        )
        with self._lock:
            self.golden.add([label])
        return self.reveal(trace_id, chosen)

    def reveal(self, trace_id: str, judge: Judge) -> dict[str, Any]:
        """After this labeller answered: the judge's verdict and every labeller's answer."""
        labels = self.golden.labels(judge=judge.name, trace_ids=[trace_id])
        if not any(lb.labeller == self.labeller for lb in labels):
            raise PermissionError("answer first: the verdict is shown after your label")
        verdicts = score_traces(self.config, [trace_id], [judge])
        verdict = verdicts[0] if verdicts else None
        agreed = consensus(labels)
        return {
            "ok": True,
            "labels": [
                {
                    k: v
                    for k, v in lb.model_dump().items()
                    if k in ("labeller", "value", "rationale")
                }
                for lb in labels
            ],
            "conflict": bool(agreed and agreed[0].conflict),
            "verdict": None
            if verdict is None
            else {
                "status": verdict.status,
                "passed": verdict.passed,
                "value": verdict.value,
                "rationale": (verdict.rationale or verdict.error or "")[:MAX_TEXT],
            },
        }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a silent client may hold a thread

    def log_message(self, *args: Any) -> None:  # the terminal belongs to the command
        pass

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, default=str).encode(), "application/json")

    def _allowed(self, query_token: str | None) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host not in _HOSTS:
            return False
        given = query_token or self.headers.get("X-Costar-Token") or ""
        return hmac.compare_digest(given.encode(), self.server.session.token.encode())

    def _same_origin(self) -> bool:
        """No Origin (not a browser), or this server's own loopback origin."""
        origin = self.headers.get("Origin")
        if origin is None:
            return True
        port = self.server.server_address[1]
        return origin in {f"http://{host}:{port}" for host in _HOSTS}

    def _body(self) -> Any:
        raw = self.headers.get("Content-Length") or "0"
        if not raw.isdigit():
            raise BadRequest(400, "Content-Length must be a non-negative whole number")
        length = int(raw)
        if length > MAX_BODY:
            raise BadRequest(413, f"the body is larger than {MAX_BODY} bytes")
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest(400, "the body is not valid JSON") from None

    def _refuse(self) -> None:
        self._send(403, b"forbidden: this costar label session needs its token\n", "text/plain")

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        session = self.server.session
        if url.path == "/":
            token = parse_qs(url.query).get("token", [None])[0]
            if not self._allowed(token):
                return self._refuse()
            nonce = secrets.token_urlsafe(16)
            page = _page().replace("{{NONCE}}", nonce).replace("{{TOKEN}}", session.token)
            csp = (
                f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            )
            return self._send(
                200, page.encode(), "text/html; charset=utf-8", {"Content-Security-Policy": csp}
            )
        if not self._allowed(None):
            return self._refuse()
        try:
            if url.path == "/api/queue":
                return self._json(200, session.queue_state())
            if url.path.startswith("/api/trace/"):
                doc = session.trace(url.path.removeprefix("/api/trace/"))
                return self._json(200, doc) if doc else self._json(404, {"error": "no such trace"})
            if url.path.startswith("/api/reveal/"):
                trace_id, _, judge = url.path.removeprefix("/api/reveal/").partition("/")
                chosen = next((j for j in session.judges if j.name == judge), None)
                if chosen is None:
                    return self._json(404, {"error": f"no judge {judge!r} in this session"})
                return self._json(200, session.reveal(trace_id, chosen))
        except PermissionError as exc:
            return self._json(403, {"error": str(exc)})
        except Exception as exc:  # shown in the page; the server keeps serving
            return self._json(500, {"error": f"{type(exc).__name__}: {exc}"})
        self._json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        if not self._allowed(None) or not self._same_origin():
            self.close_connection = True
            return self._refuse()
        if urlsplit(self.path).path != "/api/label":
            return self._json(404, {"error": "not found"})
        try:
            return self._json(200, self.server.session.save(self._body()))
        except BadRequest as exc:
            self.close_connection = True  # an unread body must not be read as the next request
            return self._json(exc.status, {"error": str(exc)})
        except ValueError as exc:
            return self._json(400, {"error": str(exc)})
        except Exception as exc:
            return self._json(500, {"error": f"{type(exc).__name__}: {exc}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog (socketserver's default is 5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is routine; anything else is one line, not a traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        print(
            f"costar label: error serving a request: {type(exc).__name__}: {exc}", file=sys.stderr
        )

    def __init__(self, session: LabelSession, port: int):
        self.session = session
        super().__init__(("127.0.0.1", port), _Handler)


def _page() -> str:
    return resources.files("costar.web").joinpath("label.html").read_text(encoding="utf-8")


class LabelServer:
    """The labelling UI as a server on 127.0.0.1 (port 0: any free port)."""

    def __init__(self, session: LabelSession, port: int = 0):
        self.session = session
        self._server = _Server(session, port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._address()
        return f"http://{host}:{port}/?token={self.session.token}"

    @property
    def base_url(self) -> str:
        host, port = self._address()
        return f"http://{host}:{port}"

    def _address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)  # an AF_INET server: host is text, never bytes

    def start(self) -> LabelServer:
        self._thread = serve_in_background(self._server, "costar-label")
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=STOP_POLL)

    def stop(self) -> None:
        stop_server(self._server)

    def __enter__(self) -> LabelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["LabelServer", "LabelSession"]
