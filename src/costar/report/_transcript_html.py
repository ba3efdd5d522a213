"""A Transcript as HTML for the report: every text escaped (trace text is data, never markup;
no link or attribute is ever made from it), evidence spans marked with class `evidence`."""

from __future__ import annotations

import html
from typing import Any

from costar.report._transcript import Step, Transcript, TurnBlock

CSS = """
.transcript{border-left:3px solid #ccd;padding:4px 0 4px 12px;margin:6px 0}
.transcript .turn{margin:6px 0}.transcript .who{font-weight:600;margin-right:6px}
.transcript pre{white-space:pre-wrap;word-break:break-word;margin:2px 0 2px 16px;
font:12px/1.4 ui-monospace,monospace;background:#f7f7f9;padding:4px 6px}
.transcript .step{margin:4px 0 4px 16px}.transcript .tool>.name{color:#2040a0}
.transcript .llm>.name{color:#207070}.transcript .err{color:#b00020}
.transcript .evidence{outline:2px solid #e0a000;background:#fff5d6}
.transcript .mark{background:#e0a000;color:#000;font-size:11px;padding:0 4px;margin-left:6px}
.transcript table.state td,.transcript table.state th{font:12px ui-monospace,monospace}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pre(text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<pre{attr}>{_e(text)}</pre>"


def _mark(judges: tuple[str, ...]) -> str:
    if not judges:
        return ""
    return f'<span class="mark">evidence: {_e(", ".join(judges))}</span>'


def _cls(base: str, judges: tuple[str, ...]) -> str:
    return f"{base} evidence" if judges else base


def _tokens(usage: dict[str, int] | None) -> str:
    if not usage:
        return "tokens not measured"
    return f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out tokens"


def _step(step: Step) -> str:
    span = f'data-span="{_e(step.span_id)}"'
    if step.kind == "llm":
        body = f'<span class="name">model {_e(step.name)}</span> <span class="muted">' + (
            f"{_e(_tokens(step.tokens))}, {step.seconds:.2f} s</span>{_mark(step.evidence)}"
        )
        body += _pre(step.error, "err") if step.error else _pre(step.result) if step.result else ""
    else:
        failed = ' <span class="err">failed</span>' if step.error else ""
        body = (
            f'<span class="name">tool {_e(step.name)}</span>{failed} '
            f'<span class="muted">{step.seconds:.2f} s</span>{_mark(step.evidence)}'
            f"{_pre(step.args)}"
        )
        body += _pre(step.error, "err") if step.error else _pre(step.result)
    return f'<div class="{_cls("step " + step.kind, step.evidence)}" {span}>{body}</div>'


def _turn(turn: TurnBlock) -> str:
    steps = "".join(_step(s) for s in turn.steps)
    reply = _pre(turn.error, "err") if turn.error else _pre(turn.reply or "(no reply)")
    return (
        f'<div class="turn" data-turn="{turn.number}">'
        f'<div class="user"><span class="who">user</span>turn {turn.number}'
        f"{_pre(turn.user)}</div>{steps}"
        f'<div class="{_cls("reply", turn.evidence)}" data-span="{_e(turn.span_id)}">'
        f'<span class="who">agent</span>{_mark(turn.evidence)}{reply}</div></div>'
    )


def _state(t: Transcript) -> str:
    parts = []
    if t.state_note:
        parts.append(f'<p class="muted">{_e(t.state_note)}</p>')
    for table in t.tables:
        title = f"{table.database}: {table.name}" if table.name else table.database
        head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in table.rows
        )
        note = f' <span class="muted">{_e(table.note)}</span>' if table.note else ""
        parts.append(
            f"<div><b>{_e(title)}</b> ({table.row_count} rows){note}"
            f'<table class="state"><tr>{head}</tr>{rows}</table></div>'
        )
    if t.files:
        rows = "".join(
            f"<tr><td>{_e(f.path)}</td><td>{'' if f.size is None else f.size}</td>"
            f"<td><code>{_e(f.error or f.sha256[:16])}</code></td></tr>"
            for f in t.files
        )
        parts.append(
            '<table class="state files"><tr><th>file</th><th>size</th><th>sha256</th></tr>'
            f"{rows}</table>"
        )
    cls = _cls("final-state", t.final_evidence)
    return f'<div class="{cls}"><b>final state</b>{_mark(t.final_evidence)}{"".join(parts)}</div>'


def _verdicts(t: Transcript) -> str:
    rows = []
    for v in t.verdicts:
        where = "; ".join(f"{e.span_id} ({e.where})" for e in v.evidence)
        value = "" if v.value is None or isinstance(v.value, bool) else f" = {v.value}"
        rows.append(
            f'<tr class="verdict {_e(v.result)}"><td>{_e(v.judge)}</td><td>{_e(v.result)}'
            f"{_e(value)}</td><td>{_e(v.rationale)}</td><td>{_e(where)}</td></tr>"
        )
    return (
        '<table class="verdicts"><tr><th>judge</th><th>result</th><th>rationale</th>'
        f"<th>evidence</th></tr>{''.join(rows)}</table>"
    )


def transcript_html(t: Transcript, verdicts: bool = False) -> str:
    """The transcript as one HTML fragment (a `div.transcript`); with `verdicts`, its
    verdicts as a table after it."""
    failure = ""
    if t.failure:
        failure = (
            f'<div class="failure"><span class="err">'
            f"{_e(t.status)}: {_e(t.failure.message)}</span>"
            + (_pre(t.failure.traceback, "err") if t.failure.traceback else "")
            + "</div>"
        )
    return (
        f'<div class="transcript" data-trace="{_e(t.trace_id)}">'
        f'<div class="{_cls("head", t.trial_evidence)}"><span class="muted">trace '
        f"<code>{_e(t.trace_id)}</code>, {_e(t.scenario_id)} #{t.trial}, {_e(t.status)}, "
        f"{t.seconds:.2f} s, {_e(_tokens(t.tokens))}</span>{_mark(t.trial_evidence)}</div>"
        f"{''.join(_turn(turn) for turn in t.turns)}{failure}{_state(t)}"
        f"{_verdicts(t) if verdicts else ''}</div>"
    )
