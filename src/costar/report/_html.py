"""One self-contained HTML report: pass rates with intervals, metric distributions, the paired
comparison with a baseline and its regressed scenarios side by side, and every failing verdict
with its rationale, evidence, a link to the trace in the MLflow UI and the trace's transcript
(opened in place, the verdict's evidence highlighted). No scripts and no external resources (a
Content-Security-Policy enforces both); all text is escaped, and secrets are redacted from the
finished document."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import Any

from costar.assess import JudgeDelta, JudgeSummary, quantile
from costar.judges import Verdict
from costar.report._regressions import CSS as REGRESSION_CSS
from costar.report._regressions import regressions, regressions_html
from costar.report._transcript import transcript
from costar.report._transcript_html import CSS as TRANSCRIPT_CSS
from costar.report._transcript_html import transcript_html
from costar.traces import Redactor, TraceView

MAX_TRANSCRIPTS = 200  # failing verdicts shown with their transcript; the rest link to the UI
POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}.fail{color:#b00020}.ok{color:#1b7f3b}.muted{color:#777}
code{font-size:12px}svg text{font:12px system-ui,sans-serif}
tr.transcript-row>td{padding:0 8px 8px 24px;border-bottom:1px solid #ddd}
details>summary{cursor:pointer;color:#3050c0}
"""


@dataclass
class ReportInput:
    """What the report shows."""

    run_id: str
    run_name: str
    agent: str
    agent_version: str
    summary: dict[str, JudgeSummary]
    verdicts: list[Verdict]
    baseline_id: str | None = None
    deltas: dict[str, JudgeDelta] | None = None
    ui_url: str = "http://127.0.0.1:5000"
    experiment_id: str = "0"
    redact: list[str] = field(default_factory=list)  # the project's own secret patterns
    views: dict[str, TraceView] = field(default_factory=dict)  # traces shown as transcripts
    baseline_verdicts: list[Verdict] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # extra HTML sections (coverage), escaped

    def shown_traces(self) -> set[str]:
        """The traces whose transcripts the report shows: those of failing verdicts (up to
        MAX_TRANSCRIPTS) and the two of each regressed scenario."""
        ids = {v.trace_id for v in _failing(self.verdicts)[:MAX_TRANSCRIPTS]}
        for r in regressions(self.deltas or {}, self.baseline_verdicts, self.verdicts):
            ids |= {r.baseline_trace, r.candidate_trace}
        return ids


def _failing(verdicts: list[Verdict]) -> list[Verdict]:
    bad = [v for v in verdicts if v.passed is False or v.status == "error"]
    return sorted(bad, key=lambda v: (v.judge, v.scenario_id, v.trial))


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def trace_link(data: ReportInput, trace_id: str) -> str:
    """An HTML link to the trace in the MLflow UI."""
    url = (
        f"{data.ui_url.rstrip('/')}/#/experiments/{data.experiment_id}/traces"
        f"?selectedEvaluationId={trace_id}"
    )
    return f'<a href="{_e(url)}" class="trace">{_e(trace_id)}</a>'


def rate_chart(data: ReportInput) -> str:
    """Horizontal bars: pass rate with its 95% interval; the baseline's rate as a tick."""
    judges = [(n, s) for n, s in sorted(data.summary.items()) if s.rate is not None]
    row, left, width = 26, 230, 520
    height = row * len(judges) + 30
    parts = [
        f'<svg id="rates" width="{left + width + 60}" height="{height}" role="img" '
        'aria-label="pass rates with 95% intervals">'
    ]
    for i, (name, s) in enumerate(judges):
        y = 20 + i * row
        assert s.rate is not None and s.ci is not None
        parts.append(f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{_e(name)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{width}" height="16" fill="#f1f1f1"/>')
        color = "#1b7f3b" if s.rate >= 0.9 else "#c77c00" if s.rate >= 0.6 else "#b00020"
        parts.append(
            f'<rect class="bar" data-judge="{_e(name)}" x="{left}" y="{y + 2}" '
            f'width="{width * s.rate:.1f}" height="16" fill="{color}"/>'
        )
        lo, hi = left + width * s.ci[0], left + width * s.ci[1]
        parts.append(
            f'<line x1="{lo:.1f}" x2="{hi:.1f}" y1="{y + 10}" y2="{y + 10}" '
            'stroke="#000" stroke-width="1.5"/>'
        )
        delta = (data.deltas or {}).get(name)
        if delta and delta.comparison:
            bx = left + width * delta.comparison.baseline_rate
            parts.append(
                f'<line class="baseline" x1="{bx:.1f}" x2="{bx:.1f}" y1="{y}" '
                f'y2="{y + 20}" stroke="#3050c0" stroke-width="3"/>'
            )
        parts.append(f'<text x="{left + width + 8}" y="{y + 13}">{s.rate:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def metric_rows(data: ReportInput) -> str:
    """Per metric: min, median, p90, max, and a strip of every value."""
    values: dict[str, list[float]] = {}
    for v in data.verdicts:
        if v.kind == "metric" and isinstance(v.value, (int, float)) and v.status == "ok":
            values.setdefault(v.judge, []).append(float(v.value))
    rows = []
    for name, vals in sorted(values.items()):
        lo, hi = min(vals), max(vals)
        span = (hi - lo) or 1.0
        dots = "".join(
            f'<circle cx="{5 + 290 * (x - lo) / span:.1f}" cy="8" r="3" '
            'fill="#3050c0" fill-opacity="0.5"/>'
            for x in vals
        )
        change = ""
        delta = (data.deltas or {}).get(name)
        if delta and delta.metric_change is not None:
            change = f"{delta.metric_change:+.1%}"
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{lo:.4g}</td><td>{quantile(vals, 0.5):.4g}</td>"
            f"<td>{quantile(vals, 0.9):.4g}</td><td>{hi:.4g}</td><td>{change}</td>"
            f'<td><svg width="300" height="16">{dots}</svg></td></tr>'
        )
    if not rows:
        return '<p class="muted">no metrics</p>'
    head = (
        "<tr><th>metric</th><th>min</th><th>median</th><th>p90</th><th>max</th>"
        "<th>vs baseline</th><th>values</th></tr>"
    )
    return f'<table id="metrics">{head}{"".join(rows)}</table>'


def comparison_table(data: ReportInput) -> str:
    if not data.deltas:
        return ""
    rows = []
    for name, d in data.deltas.items():
        c = d.comparison
        if c is None:
            continue
        cls = "fail" if c.significant_regression() else ""
        rows.append(
            f'<tr class="{cls}"><td>{_e(name)}</td><td>{c.baseline_rate:.0%}</td>'
            f"<td>{c.candidate_rate:.0%}</td><td>{c.effect:+.2f} [{c.ci[0]:+.2f}, {c.ci[1]:+.2f}]"
            f"</td><td>{c.p_value:.3g}</td><td>{_e(', '.join(c.regressed))}</td>"
            f"<td>{_e(', '.join(c.fixed))}</td></tr>"
        )
    head = (
        "<tr><th>judge</th><th>baseline</th><th>candidate</th><th>effect [95% CI]</th>"
        "<th>p</th><th>regressed</th><th>fixed</th></tr>"
    )
    return (
        f"<h2>Against baseline {_e(data.baseline_id or '')}</h2>"
        f'<p class="muted">Paired by scenario; sign-flip permutation test.</p>'
        f'<table id="comparison">{head}{"".join(rows)}</table>'
    )


def failures_table(data: ReportInput) -> str:
    bad = _failing(data.verdicts)
    if not bad:
        return '<p class="ok">No failing verdicts.</p>'
    red = Redactor(data.redact)
    rows = []
    for i, v in enumerate(bad):
        result = "error" if v.status == "error" else "fail"
        spans = (
            ", ".join(f"<code>{_e(s)}</code>" for s in v.evidence)
            or '<span class="muted">none</span>'
        )
        rows.append(
            f'<tr class="failure"><td>{_e(v.judge)}</td><td>{_e(v.scenario_id)}'
            f"#{v.trial}</td><td class='fail'>{result}</td>"
            f"<td>{_e(v.error or v.rationale)}</td><td>{spans}</td>"
            f"<td>{trace_link(data, v.trace_id)}</td></tr>"
        )
        view = data.views.get(v.trace_id) if i < MAX_TRANSCRIPTS else None
        if view is None:
            why = "not embedded (too many failures)" if i >= MAX_TRANSCRIPTS else "not found"
            body = f'<span class="muted">transcript {why}: costar show {_e(v.trace_id)}</span>'
        else:
            body = (
                "<details><summary>transcript</summary>"
                f"{transcript_html(transcript(view, [v], red))}</details>"
            )
        rows.append(f'<tr class="transcript-row"><td colspan="6">{body}</td></tr>')
    head = (
        "<tr><th>judge</th><th>scenario</th><th>result</th><th>rationale</th>"
        "<th>evidence spans</th><th>trace</th></tr>"
    )
    return f'<table id="failures">{head}{"".join(rows)}</table>'


def regressions_section(data: ReportInput) -> str:
    if not data.deltas:
        return ""
    found = regressions(data.deltas, data.baseline_verdicts, data.verdicts)
    body = regressions_html(
        found, data.views, data.baseline_verdicts, data.verdicts, Redactor(data.redact)
    )
    return f'<h2>Regressed scenarios</h2><div id="regressions">{body}</div>'


def render_html(data: ReportInput) -> str:
    """The whole report as one HTML document."""
    judged = sum(1 for s in data.summary.values() if s.rate is not None)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return Redactor(data.redact).text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<title>costar report {_e(data.run_id)}</title>
<style>{CSS}{TRANSCRIPT_CSS}{REGRESSION_CSS}</style></head><body>
<h1>costar report: run <code>{_e(data.run_id)}</code> {_e(data.run_name)}</h1>
<p>agent <code>{_e(data.agent)}</code>, version <code>{_e(data.agent_version)}</code>;
{len(data.verdicts)} verdicts from {judged} pass/fail judges; made {stamp}.</p>
<h2>Pass rates with 95% intervals</h2>
<p class="muted">Bar: the share of trials passed; black line: Wilson 95% interval;
blue tick: the baseline's rate.</p>
{rate_chart(data)}
{comparison_table(data)}
{regressions_section(data)}
<h2>Metrics</h2>
{metric_rows(data)}
<h2>Failing verdicts</h2>
{failures_table(data)}
{"".join(data.sections)}
</body></html>
""")
