"""A trace as a person reads it: one neutral structure, rendered in the terminal (rich) and in
the HTML report.

Built from `TraceView.conversation()` (turns, replies, tool and model calls) and the trace's
verdicts; nothing here reads spans another way. Every text is redacted (the built-in secret
shapes, secret environment values, the project's `redact` patterns) and clipped, so a
transcript shows no more than the report would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from costar.judges import Verdict
from costar.traces import (
    SIMULATOR_SPAN,
    SIMULATOR_STOP_TAG,
    SNAPSHOT_SPAN,
    Redactor,
    SpanView,
    TraceView,
)

MAX_TEXT = 4_000  # characters of one value (an argument list, a result, a reply)
MAX_ROWS = 20  # rows of one final-state table shown


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def as_text(value: Any, limit: int = MAX_TEXT) -> str:
    """A value as text: strings as they are, the rest as indented JSON; clipped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, default=repr)
    return clip(text, limit)


@dataclass(frozen=True)
class Step:
    """A model or tool call inside a turn, in the order it started."""

    kind: str  # "llm" or "tool"
    name: str  # the tool, or the model
    span_id: str
    args: str = ""  # a tool's arguments (JSON)
    result: str = ""  # a tool's result, or what the model answered
    error: str | None = None
    tokens: dict[str, int] | None = None  # a model call's usage; None: not measured
    seconds: float = 0.0
    evidence: tuple[str, ...] = ()  # judges that cite this span


@dataclass(frozen=True)
class TurnBlock:
    """One user turn: what the user said, the steps, the reply (or the turn's error)."""

    number: int  # 1-based
    user: str
    reply: str
    error: str | None
    span_id: str
    steps: tuple[Step, ...] = ()
    evidence: tuple[str, ...] = ()  # judges that cite the turn (its reply)


@dataclass(frozen=True)
class Failure:
    """Why the trial ended in error or timeout, with the agent's traceback when it raised."""

    message: str
    type: str = ""
    traceback: str = ""


@dataclass(frozen=True)
class TableBlock:
    """One table of a database in the final state."""

    database: str
    name: str
    columns: list[str]
    rows: list[list[str]]
    row_count: int  # rows in the table; `rows` holds at most MAX_ROWS of them
    note: str = ""  # why rows are missing (too many to snapshot, an unreadable database)


@dataclass(frozen=True)
class FileEntry:
    """One file of the final workspace."""

    path: str
    size: int | None
    sha256: str
    text: str | None = None  # small text files only
    error: str | None = None


@dataclass(frozen=True)
class Evidence:
    """A span a verdict cites, and where it is in the transcript."""

    span_id: str
    where: str  # "turn 2, tool issue_refund", "final state", "not in this trace", ...


@dataclass(frozen=True)
class VerdictLine:
    """One verdict on the trace."""

    judge: str
    kind: str
    result: str  # pass, fail, error, skipped, or "value" for a plain metric
    value: Any
    rationale: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Transcript:
    """The whole trace for a reader; `to_json` is what `costar show TRACE --json` prints."""

    trace_id: str
    run_id: str
    scenario_id: str
    trial: int
    status: str
    seconds: float
    turns: tuple[TurnBlock, ...]
    output: str  # the agent's final output
    failure: Failure | None = None
    tables: tuple[TableBlock, ...] = ()
    files: tuple[FileEntry, ...] = ()
    state_note: str = ""  # "no final state recorded", "the snapshot was cut", ...
    verdicts: tuple[VerdictLine, ...] = ()
    tokens: dict[str, int] | None = None  # usage over the trace; None: not measured
    final_evidence: tuple[str, ...] = ()  # judges that cite the final state
    trial_evidence: tuple[str, ...] = ()  # judges that cite the trial as a whole (its root)
    simulated_user: str = ""  # who played the user and how it ended, for a simulated user

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def evidence_spans(self) -> set[str]:
        """Span ids cited by the verdicts that are shown in the transcript."""
        marked = {s.span_id for t in self.turns for s in t.steps if s.evidence}
        marked |= {t.span_id for t in self.turns if t.evidence}
        return marked


def _result(v: Verdict) -> str:
    if v.status != "ok":
        return v.status
    if v.passed is None:
        return "value"
    return "pass" if v.passed else "fail"


def _model(span: SpanView) -> str:
    return str(span.attributes.get("mlflow.llm.model") or span.name)


def _llm_answer(outputs: Any) -> str:
    """What a model call answered, in short: its text, or the tools it asked for."""
    if isinstance(outputs, dict):
        calls = outputs.get("tool_calls") or []
        names = [
            str((c.get("function") or {}).get("name") or c.get("name") or "?")
            for c in calls
            if isinstance(c, dict)
        ]
        text = outputs.get("content")
        if names and not text:
            return "asks for " + ", ".join(names)
        if text is not None:
            return as_text(text)
    return as_text(outputs)


class _Citations:
    """Which judges cite which spans, and where each span sits in the transcript."""

    def __init__(self, view: TraceView, verdicts: Sequence[Verdict]):
        self.by_span: dict[str, list[str]] = {}
        for v in verdicts:
            for span_id in v.evidence:
                judges = self.by_span.setdefault(span_id, [])
                if v.judge not in judges:
                    judges.append(v.judge)
        self.parents = {s.span_id: s.parent_id for s in view.spans}
        self.names = {s.span_id: s.name for s in view.spans}
        self.places: dict[str, str] = {}
        self.anchors: dict[str, str] = {}  # a cited span inside a step: the step it belongs to

    def place(self, span_id: str, where: str) -> None:
        self.places[span_id] = where

    def judges(self, span_id: str) -> tuple[str, ...]:
        """Judges citing `span_id` itself or a span nested under it that is no step."""
        found = list(self.by_span.get(span_id, ()))
        for cited, anchor in self.anchors.items():
            if anchor == span_id:
                found += [j for j in self.by_span.get(cited, ()) if j not in found]
        return tuple(found)

    def resolve(self) -> None:
        """Cited spans that are not steps themselves count for their nearest placed ancestor."""
        for span_id in self.by_span:
            if span_id in self.places or span_id not in self.parents:
                continue
            current = self.parents.get(span_id)
            seen: set[str] = set()
            while current is not None and current not in seen:
                if current in self.places:
                    self.anchors[span_id] = current
                    where = f"{self.places[current]} (inside: {self.names.get(span_id, '')})"
                    self.places[span_id] = where
                    break
                seen.add(current)
                current = self.parents.get(current)

    def where(self, span_id: str) -> str:
        return self.places.get(span_id, "not in this trace")


def _simulated_user(view: TraceView) -> str:
    """ "the user was simulated by MODEL (N model calls); the conversation ended: WHY", or ""."""
    if view.tags.get("costar.user") != "simulated":
        return ""
    calls = len(view.spans_of(SIMULATOR_SPAN))
    model = view.tags.get("costar.simulator.model", "a model")
    ended = view.tags.get(SIMULATOR_STOP_TAG, "unknown")
    return f"simulated user: {model}, {calls} model calls, ended: {ended}"


def transcript(
    view: TraceView, verdicts: Iterable[Verdict] = (), redact: Redactor | None = None
) -> Transcript:
    """The trace `view` for a reader, with `verdicts` (on this trace) and their evidence marked.

    Secrets are redacted with `redact` (default: the built-in shapes and secret environment
    values; pass `Redactor(settings.redact)` for the project's patterns too).
    """
    red = redact or Redactor()
    shown = [v for v in verdicts if v.trace_id == view.trace_id]
    # the conversation marks what failing and errored verdicts cite; every verdict's list of
    # evidence still says where each cited span is
    cite = _Citations(view, [v for v in shown if v.passed is False or v.status == "error"])
    root = view.root
    cite.place(root.span_id, "the trial as a whole")
    for span in view.spans_of(name=SNAPSHOT_SPAN):
        cite.place(span.span_id, "final state")
    conversation = view.conversation()
    for turn in conversation:
        number = turn.index + 1
        cite.place(turn.span_id, f"turn {number}, reply")
        for call in turn.tool_calls:
            cite.place(call.span_id, f"turn {number}, tool {call.name}")
        for span in turn.llm_calls:
            cite.place(span.span_id, f"turn {number}, model call {_model(span)}")
    cite.resolve()

    def text(value: Any) -> str:
        return red.text(as_text(value))

    turns = []
    for turn in conversation:
        steps: list[tuple[int, Step]] = []
        for call in turn.tool_calls:
            span = view.span(call.span_id)
            steps.append(
                (
                    span.start_ns,
                    Step(
                        kind="tool",
                        name=red.text(call.name),
                        span_id=call.span_id,
                        args=text(call.args),
                        result=text(call.result),
                        error=red.text(clip(call.error)) if call.error else None,
                        seconds=round(span.seconds, 3),
                        evidence=cite.judges(call.span_id),
                    ),
                )
            )
        for span in turn.llm_calls:
            steps.append(
                (
                    span.start_ns,
                    Step(
                        kind="llm",
                        name=red.text(_model(span)),
                        span_id=span.span_id,
                        result=red.text(_llm_answer(span.outputs)),
                        error=red.text(clip(span.error)) if span.error else None,
                        tokens=span.usage or None,
                        seconds=round(span.seconds, 3),
                        evidence=cite.judges(span.span_id),
                    ),
                )
            )
        steps.sort(key=lambda pair: pair[0])
        own_turn = turn.span_id != root.span_id
        turns.append(
            TurnBlock(
                number=turn.index + 1,
                user=text(turn.user),
                reply=text(turn.reply),
                error=red.text(clip(turn.error)) if turn.error and own_turn else None,
                span_id=turn.span_id,
                steps=tuple(s for _, s in steps),
                evidence=cite.judges(turn.span_id) if own_turn else (),
            )
        )
    tables, files, note = _final_state(view, red)
    snapshot_ids = [s.span_id for s in view.spans_of(name=SNAPSHOT_SPAN)]
    return Transcript(
        trace_id=view.trace_id,
        run_id=view.run_id,
        scenario_id=red.text(view.scenario_id),
        trial=view.trial,
        status=view.status,
        seconds=round(root.seconds, 3),
        turns=tuple(turns),
        output=text(view.output),
        failure=_failure(view, red),
        tables=tables,
        files=files,
        state_note=note,
        simulated_user=_simulated_user(view),
        verdicts=tuple(
            VerdictLine(
                judge=v.judge,
                kind=v.kind,
                result=_result(v),
                value=v.value,
                rationale=red.text(clip(v.error or v.rationale)),
                evidence=tuple(Evidence(s, cite.where(s)) for s in v.evidence),
            )
            for v in sorted(shown, key=lambda v: (_result(v) not in ("fail", "error"), v.judge))
        ),
        tokens=view.llm_usage(),
        final_evidence=tuple(j for s in snapshot_ids for j in cite.judges(s)),
        trial_evidence=cite.judges(root.span_id),
    )


def _failure(view: TraceView, red: Redactor) -> Failure | None:
    root = view.root
    if view.status == "ok" and root.error is None:
        return None
    attrs = root.attributes
    return Failure(
        message=red.text(clip(root.error or f"the trial ended with status {view.status}")),
        type=red.text(str(attrs.get("costar.exception.type") or "")),
        traceback=red.text(clip(str(attrs.get("costar.exception.stacktrace") or ""), 20_000)),
    )


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    return clip(value if isinstance(value, str) else json.dumps(value, default=repr), 200)


def _column(column: Any) -> str:
    return str(column[0] if isinstance(column, list) and column else column)


def _final_state(
    view: TraceView, red: Redactor
) -> tuple[tuple[TableBlock, ...], tuple[FileEntry, ...], str]:
    snapshot = view.snapshot
    if not isinstance(snapshot, dict):
        return (), (), "no final state recorded"
    tables = []
    for db, data in sorted((snapshot.get("sqlite") or {}).items()):
        if not isinstance(data, dict):
            continue
        if data.get("error"):
            tables.append(TableBlock(db, "", [], [], 0, red.text(f"unreadable: {data['error']}")))
            continue
        for name, table in sorted((data.get("tables") or {}).items()):
            rows = table.get("rows")
            count = int(table.get("row_count") or 0)
            note = "" if rows is not None else f"{count} rows: too many to keep in the snapshot"
            shown = [[red.text(_cell(c)) for c in row] for row in (rows or [])[:MAX_ROWS]]
            if rows is not None and len(rows) > MAX_ROWS:
                note = f"first {MAX_ROWS} of {count} rows"
            tables.append(
                TableBlock(
                    database=red.text(db),
                    name=red.text(name),
                    columns=[red.text(_column(c)) for c in table.get("columns") or []],
                    rows=shown,
                    row_count=count,
                    note=note,
                )
            )
    databases = set((snapshot.get("sqlite") or {}).keys())
    files = tuple(
        FileEntry(
            path=red.text(str(f.get("path", ""))),
            size=f.get("size"),
            sha256=str(f.get("sha256", "")),
            text=red.text(clip(f["text"], 2_000)) if isinstance(f.get("text"), str) else None,
            error=red.text(str(f["error"])) if f.get("error") else None,
        )
        for f in snapshot.get("files") or []
        if isinstance(f, dict) and f.get("path") not in databases
    )
    note = (
        "the snapshot was cut: the workspace held too many files"
        if snapshot.get("truncated")
        else ""
    )
    return tuple(tables), files, note


def transcript_lines(t: Transcript) -> list[str]:
    """The transcript as plain text lines, for a line diff of two traces: what was said and
    done in order, then the final output and state (no ids or timings, which always differ)."""
    lines: list[str] = []
    for turn in t.turns:
        lines.append(f"-- turn {turn.number}")
        lines += [f"user: {x}" for x in turn.user.splitlines() or [""]]
        for step in turn.steps:
            if step.kind == "tool":
                lines.append(f"tool {step.name} {' '.join(step.args.split())}")
                outcome = f"  error: {step.error}" if step.error else f"  result: {step.result}"
                lines += outcome.splitlines()
            else:
                lines.append(f"model {step.name}: {' '.join(step.result.split())[:200]}")
        said = turn.error or turn.reply
        lines += [f"agent: {x}" for x in said.splitlines() or [""]]
    if t.failure:
        lines.append(f"{t.status}: {t.failure.message}")
    lines.append("-- final output")
    lines += t.output.splitlines() or [""]
    lines.append("-- final state")
    for table in t.tables:
        lines.append(f"{table.database}: {table.name} ({table.row_count} rows)")
        lines += ["  " + " | ".join(row) for row in table.rows]
    lines += [f"file {f.path} {f.size} {f.sha256[:16]}" for f in t.files]
    return lines
