"""TraceView: the read API every judge uses, over a stored trace.

A TraceView is built from an MLflow trace (`TraceView.from_mlflow`) or from its compact form
(`to_compact` / `from_compact`, what the derived cache keeps), so judges never touch MLflow
objects and re-scoring does not need the MLflow store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from costar.traces import SNAPSHOT_SPAN, TAG_PREFIX
from costar.traces._model import last_reply

COMPACT_VERSION = 1


@dataclass(frozen=True)
class SpanView:
    """One span, as judges see it."""

    span_id: str
    parent_id: str | None
    name: str
    span_type: str
    start_ns: int
    end_ns: int
    inputs: Any = None
    outputs: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def seconds(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e9

    @property
    def usage(self) -> dict[str, int]:
        return dict(self.attributes.get("mlflow.chat.tokenUsage") or {})


@dataclass(frozen=True)
class ToolCallView:
    """A tool call in order: name, arguments, result or error, and its span id as evidence."""

    name: str
    args: dict[str, Any]
    result: Any
    error: str | None
    span_id: str


LLM_TYPES = ("LLM", "CHAT_MODEL")


@dataclass(frozen=True)
class TraceView:
    """A stored trace: spans, tool and LLM calls, the output, the final state, and tags."""

    trace_id: str
    tags: dict[str, str]
    state: str
    spans: tuple[SpanView, ...]

    # -- identity ---------------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.tags.get(f"{TAG_PREFIX}run_id", "")

    @property
    def scenario_id(self) -> str:
        return self.tags.get(f"{TAG_PREFIX}scenario_id", "")

    @property
    def trial(self) -> int:
        return int(self.tags.get(f"{TAG_PREFIX}trial", "0") or 0)

    @property
    def status(self) -> str:
        """The trial's status: ok, error or timeout."""
        return self.tags.get(f"{TAG_PREFIX}status", "ok" if self.state == "OK" else "error")

    # -- structure --------------------------------------------------------------------------
    @property
    def root(self) -> SpanView:
        for span in self.spans:
            if span.parent_id is None:
                return span
        raise ValueError(f"trace {self.trace_id} has no root span")

    def spans_of(self, span_type: str | None = None, name: str | None = None) -> list[SpanView]:
        """Spans filtered by type and/or name, in start order."""
        return [
            s
            for s in self.spans
            if (span_type is None or s.span_type == span_type) and (name is None or s.name == name)
        ]

    def span(self, span_id: str) -> SpanView:
        for s in self.spans:
            if s.span_id == span_id:
                return s
        raise KeyError(span_id)

    def tool_calls(self) -> list[ToolCallView]:
        """Every tool call in start order."""
        out = []
        for s in self.spans_of("TOOL"):
            args = s.inputs if isinstance(s.inputs, dict) else {"input": s.inputs}
            out.append(ToolCallView(s.name, args, s.outputs, s.error, s.span_id))
        return out

    def llm_calls(self) -> list[SpanView]:
        return [s for s in self.spans if s.span_type in LLM_TYPES]

    # -- what the user saw ------------------------------------------------------------------
    @property
    def turns(self) -> list[str]:
        """The user's messages."""
        inputs = self.root.inputs
        if isinstance(inputs, dict) and "turns" in inputs:
            return [str(t) for t in inputs["turns"]]
        return [] if inputs is None else [str(inputs)]

    @property
    def replies(self) -> list[Any]:
        """The agent's reply to each turn that ran."""
        chains = self.spans_of("CHAIN")
        if chains:
            return [c.outputs for c in chains]
        return [] if self.root.outputs is None else [self.root.outputs]

    @property
    def output(self) -> Any:
        """The agent's last non-empty reply: a trailing user turn the agent did not answer
        (a goodbye, a simulated user's stop token) does not erase it, in traces recorded
        before the root kept the last non-empty reply too."""
        root = self.root.outputs
        earlier = None if last_reply([root]) is not None else last_reply(self.replies)
        return root if earlier is None else earlier

    @property
    def error(self) -> str | None:
        return self.root.error

    # -- final state ------------------------------------------------------------------------
    @property
    def snapshot(self) -> dict[str, Any] | None:
        found = self.spans_of(name=SNAPSHOT_SPAN)
        return found[0].outputs if found else None

    def file(self, path: str) -> dict[str, Any] | None:
        """The snapshot's entry for a workspace file (size, sha256, text if small)."""
        for entry in (self.snapshot or {}).get("files", []):
            if entry.get("path") == path:
                return entry
        return None

    def tables(self, db: str | None = None) -> dict[str, Any]:
        """The snapshot's tables of one database (the only one when `db` is None)."""
        dbs = (self.snapshot or {}).get("sqlite", {})
        if db is None:
            if len(dbs) != 1:
                raise KeyError(f"name the database: the final state has {sorted(dbs) or 'none'}")
            db = next(iter(dbs))
        if db not in dbs:
            raise KeyError(f"no database {db!r} in the final state (has {sorted(dbs)})")
        return dict(dbs[db].get("tables", {}))

    # -- storage ----------------------------------------------------------------------------
    @classmethod
    def from_mlflow(cls, trace: Any) -> TraceView:
        """From an mlflow.entities.Trace."""
        spans = []
        for s in trace.data.spans:
            error = None
            if s.status.status_code.value == "ERROR":
                error = s.status.description or "error"
            spans.append(
                SpanView(
                    span_id=s.span_id,
                    parent_id=s.parent_id,
                    name=s.name,
                    span_type=s.span_type or "UNKNOWN",
                    start_ns=int(s.start_time_ns or 0),
                    end_ns=int(s.end_time_ns or 0),
                    inputs=s.inputs,
                    outputs=s.outputs,
                    attributes={
                        k: v
                        for k, v in s.attributes.items()
                        if not k.startswith("mlflow.span") and k != "mlflow.traceRequestId"
                    },
                    error=error,
                )
            )
        spans.sort(key=lambda s: (s.start_ns, s.parent_id is not None))
        state = getattr(trace.info.state, "value", str(trace.info.state))
        return cls(trace.info.trace_id, dict(trace.info.tags), state, tuple(spans))

    def to_compact(self) -> dict[str, Any]:
        """Plain JSON-ready data (for the derived cache)."""
        return {
            "v": COMPACT_VERSION,
            "trace_id": self.trace_id,
            "tags": self.tags,
            "state": self.state,
            "spans": [s.__dict__ for s in self.spans],
        }

    @classmethod
    def from_compact(cls, data: dict[str, Any]) -> TraceView:
        spans = tuple(SpanView(**s) for s in data["spans"])
        return cls(data["trace_id"], data["tags"], data["state"], spans)
