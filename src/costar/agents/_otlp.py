"""An OTLP/HTTP trace collector on 127.0.0.1, one per trial of a command or HTTP agent.

An agent instrumented with OpenTelemetry (OpenInference or GenAI conventions, e.g. through
openinference-instrumentation-langchain or the OpenAI instrumentation) exports its spans here
instead of writing event code: command agents get `OTEL_EXPORTER_OTLP_ENDPOINT` (and
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`) in their
environment; HTTP agents get the traces URL as `metadata.otlp_traces_endpoint` in each request.
Both OTLP encodings are read: protobuf (with opentelemetry-proto) and JSON. After each turn the
spans received are converted (costar.traces.to_records) under that turn. An OTLP JSON export
(`{"resourceSpans": [...]}`) on one line of the event file is read the same way.
"""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from costar._serve import serve_in_background, stop_server
from costar.traces import OtelSpan

MAX_BODY = 50_000_000


def _any_value(value: dict[str, Any]) -> Any:
    """An OTLP JSON AnyValue as a Python value."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: _any_value(kv.get("value", {})) for kv in value["kvlistValue"]["values"]}
    return value.get("bytesValue")


def _proto_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_proto_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _proto_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


def _error(code: int, message: str, events: list[tuple[str, dict[str, Any]]]) -> str | None:
    if code != 2:  # STATUS_CODE_ERROR
        return None
    for name, attrs in events:
        if name == "exception":
            kind, text = attrs.get("exception.type", ""), attrs.get("exception.message", "")
            return f"{kind}: {text}" if kind else str(text or message or "error")
    return message or "error"


def spans_from_json(data: dict[str, Any]) -> list[OtelSpan]:
    """Spans of an OTLP JSON ExportTraceServiceRequest (ids in hex, as OTLP/JSON says)."""
    out = []
    for resource in data.get("resourceSpans") or []:
        for scope in resource.get("scopeSpans") or []:
            for span in scope.get("spans") or []:
                attrs = {
                    a["key"]: _any_value(a.get("value", {})) for a in span.get("attributes", [])
                }
                events = [
                    (
                        e.get("name", ""),
                        {a["key"]: _any_value(a["value"]) for a in e.get("attributes", [])},
                    )
                    for e in span.get("events", [])
                ]
                status = span.get("status") or {}
                parent = span.get("parentSpanId") or ""
                out.append(
                    OtelSpan(
                        name=span.get("name", "span"),
                        span_id=int(span["spanId"], 16),
                        parent_id=int(parent, 16) if parent else None,
                        start_ns=int(span.get("startTimeUnixNano", 0)),
                        end_ns=int(span.get("endTimeUnixNano", 0)),
                        attributes=attrs,
                        error=_error(int(status.get("code", 0)), status.get("message", ""), events),
                    )
                )
    return out


def spans_from_protobuf(body: bytes) -> list[OtelSpan]:
    """Spans of an OTLP protobuf ExportTraceServiceRequest."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest.FromString(body)
    out = []
    for resource in request.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                attrs = {a.key: _proto_value(a.value) for a in span.attributes}
                events = [
                    (e.name, {a.key: _proto_value(a.value) for a in e.attributes})
                    for e in span.events
                ]
                out.append(
                    OtelSpan(
                        name=span.name,
                        span_id=int.from_bytes(span.span_id, "big"),
                        parent_id=int.from_bytes(span.parent_span_id, "big") or None,
                        start_ns=int(span.start_time_unix_nano),
                        end_ns=int(span.end_time_unix_nano),
                        attributes=attrs,
                        error=_error(int(span.status.code), span.status.message, events),
                    )
                )
    return out


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY or self.path.split("?")[0].rstrip("/") != "/v1/traces":
            self._reply(400, b"", "text/plain")
            return
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        is_json = "json" in self.headers.get("Content-Type", "")
        try:
            spans = spans_from_json(json.loads(body)) if is_json else spans_from_protobuf(body)
        except Exception as exc:  # noqa: BLE001 - a bad export is the agent's problem, reported
            self.server.collector.problems.append(f"unreadable OTLP export: {exc}"[:300])
            self._reply(400, b"", "text/plain")
            return
        with self.server.collector.lock:
            self.server.collector.spans.extend(spans)
        if is_json:
            self._reply(200, b"{}", "application/json")
        else:
            self._reply(200, b"", "application/x-protobuf")

    def _reply(self, status: int, payload: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, collector: OtlpCollector):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.collector = collector

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-export; what arrived is kept


class OtlpCollector:
    """Receives one trial's OTLP trace exports; `drain()` after each turn."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[OtelSpan] = []
        self.problems: list[str] = []
        self._server = _Server(self)
        self._thread = serve_in_background(self._server, "costar-otlp")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """What an OpenTelemetry SDK reads to export here (OTLP over HTTP, protobuf)."""
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{self.endpoint}/v1/traces",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_TRACES_EXPORTER": "otlp",
        }

    def drain(self) -> list[OtelSpan]:
        with self.lock:
            spans, self.spans = self.spans, []
        return spans

    def close(self) -> None:
        stop_server(self._server)
