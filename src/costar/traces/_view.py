"""TraceView: the read API over a stored trace that judges and every later step use.

A TraceView is built from an MLflow trace (`TraceView.from_mlflow`) or from its compact form
(`to_compact` / `from_compact`, what the derived cache keeps), so judges never touch MLflow
objects and re-scoring does not need the MLflow store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from costar.traces._convert import SNAPSHOT_SPAN
from costar.traces._model import TAG_PREFIX, last_reply

# The layout of `to_compact`; the derived trace cache drops entries of another layout.
COMPACT_VERSION = 1
# How traces are read (turns, replies, model-call counting). Part of every judge's version, so
# verdicts computed under an older reading are never reused.
READING_VERSION = 2


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


@dataclass(frozen=True)
class TurnView:
    """One user turn as the user lived it: what they said, the reply, and the steps between."""

    index: int
    user: str
    reply: Any
    error: str | None
    span_id: str
    tool_calls: tuple[ToolCallView, ...] = ()
    llm_calls: tuple[SpanView, ...] = ()


LLM_TYPES = ("LLM", "CHAT_MODEL")
TURN_ATTRIBUTE = "costar.turn"  # set by costar on the CHAIN span it opens for each turn
_LEGACY_TURN = re.compile(r"turn-\d+")


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
        return [_tool_call(s) for s in self.spans_of("TOOL")]

    @cached_property
    def _llm_nesting(self) -> tuple[list[SpanView], dict[str, str | None]]:
        """The LLM spans in start order, and each one's nearest enclosing LLM span (or None).
        Computed once per view: metrics, budgets and judges all ask for it."""
        llm = [s for s in self.spans if s.span_type in LLM_TYPES]
        if not llm:
            return [], {}
        ids = {s.span_id for s in llm}
        parents = {s.span_id: s.parent_id for s in self.spans}
        ancestor: dict[str, str | None] = {}
        for span in llm:
            seen: set[str] = set()
            current = span.parent_id
            while current is not None and current not in seen and current not in ids:
                seen.add(current)
                current = parents.get(current)
            ancestor[span.span_id] = current if current in ids else None
        return llm, ancestor

    def llm_calls(self) -> list[SpanView]:
        """Every model call, counted once: the innermost LLM span of each nest.

        A framework's LLM span around the SDK's own LLM span (autolog of both) is one call,
        not two: an LLM span with an LLM span inside it is a wrapper and is not counted.
        """
        llm, ancestor = self._llm_nesting
        wrappers = {a for a in ancestor.values() if a is not None}
        return [s for s in llm if s.span_id not in wrappers]

    def llm_usage(self) -> dict[str, int] | None:
        """Token usage of the trace's model calls, counted once; None when nothing reports it.

        Usage comes from the calls `llm_calls` counts (the innermost LLM spans). A nest whose
        inner spans report no usage takes it from its nearest enclosing LLM span that does,
        once per nest. None means "not measured" (no LLM span, or none reporting usage): it is
        never read as zero.
        """
        usage = self._llm_usage
        return dict(usage) if usage is not None else None

    @cached_property
    def _llm_usage(self) -> dict[str, int] | None:
        llm, ancestor = self._llm_nesting
        by_id = {s.span_id: s for s in llm}

        def outermost(span_id: str) -> str:
            while ancestor[span_id] is not None:
                span_id = ancestor[span_id]  # type: ignore[assignment]
            return span_id

        nests: dict[str, list[SpanView]] = {}
        for call in self.llm_calls():
            nests.setdefault(outermost(call.span_id), []).append(call)
        total: dict[str, int] = {}
        measured = False
        for calls in nests.values():
            reported = [u for c in calls if (u := c.usage)]
            if not reported:  # the nearest enclosing span reporting usage, once for the nest
                current: str | None = ancestor[calls[0].span_id]
                while current is not None and not by_id[current].usage:
                    current = ancestor[current]
                reported = [by_id[current].usage] if current is not None else []
            for usage in reported:
                measured = True
                for key in ("input_tokens", "output_tokens", "total_tokens"):
                    total[key] = total.get(key, 0) + int(usage.get(key) or 0)
        if not measured:
            return None
        if not total.get("total_tokens"):
            total["total_tokens"] = total.get("input_tokens", 0) + total.get("output_tokens", 0)
        return total

    def turn_spans(self) -> list[SpanView]:
        """The turn spans costar opened, in order; framework and autolog spans never count.

        A turn span is a CHAIN span directly under the root carrying `costar.turn`. Traces
        stored before that attribute existed mark turns as CHAIN spans named `turn-N` directly
        under the root. A trace with neither (an outside trace) has one turn: the root.
        """
        root_id = self.root.span_id
        chains = [s for s in self.spans if s.span_type == "CHAIN" and s.parent_id == root_id]
        marked = [s for s in chains if TURN_ATTRIBUTE in s.attributes]
        if marked:
            return sorted(marked, key=lambda s: int(s.attributes[TURN_ATTRIBUTE]))
        if any(TURN_ATTRIBUTE in s.attributes for s in self.spans):
            return []
        return [s for s in chains if _LEGACY_TURN.fullmatch(s.name)]

    def conversation(self) -> list[TurnView]:
        """User turns, replies, and each turn's tool and model calls, in order.

        The same shape whatever produced the spans (costar's own recorder, autolog, a framework
        adapter, events, an import): steps belong to the turn span they sit under, or, for
        spans outside every turn, to the turn whose time window holds their start.
        """
        turns = self.turn_spans() or [self.root]
        users = self.turns
        parents = {s.span_id: s.parent_id for s in self.spans}
        turn_ids = {t.span_id: i for i, t in enumerate(turns)}

        def owner(span: SpanView) -> int:
            current = span.parent_id
            seen: set[str] = set()
            while current is not None and current not in seen:
                if current in turn_ids:
                    return turn_ids[current]
                seen.add(current)
                current = parents.get(current)
            for i, t in enumerate(turns):
                if t.start_ns <= span.start_ns <= t.end_ns:
                    return i
            return len(turns) - 1

        tools: dict[int, list[ToolCallView]] = {}
        for s in self.spans_of("TOOL"):
            tools.setdefault(owner(s), []).append(_tool_call(s))
        llm: dict[int, list[SpanView]] = {}
        for s in self.llm_calls():
            llm.setdefault(owner(s), []).append(s)
        return [
            TurnView(
                index=i,
                user=users[i] if i < len(users) else "",
                reply=t.outputs,
                error=t.error,
                span_id=t.span_id,
                tool_calls=tuple(tools.get(i, ())),
                llm_calls=tuple(llm.get(i, ())),
            )
            for i, t in enumerate(turns)
        ]

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
        """The agent's reply to each turn that ran (read from costar's turn spans only)."""
        turns = self.turn_spans()
        if turns:
            return [t.outputs for t in turns]
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
                    attributes=own_attributes(s),
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


def _tool_call(span: SpanView) -> ToolCallView:
    args = span.inputs if isinstance(span.inputs, dict) else {"input": span.inputs}
    return ToolCallView(span.name, args, span.outputs, span.error, span.span_id)


def own_attributes(span: Any) -> dict[str, Any]:
    """An MLflow span's attributes without the ones MLflow keeps for itself."""
    return {
        k: v
        for k, v in span.attributes.items()
        if not k.startswith("mlflow.span") and k != "mlflow.traceRequestId"
    }
