"""Regressed scenarios side by side: for each scenario a judge passed less often in the
candidate than in the baseline, one baseline trace (passing that judge where one did) beside
one candidate trace (failing it), their final outputs, and a line diff of the two transcripts
(difflib's side-by-side table)."""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass, field
from typing import Any

from costar.assess import JudgeDelta
from costar.judges import Verdict
from costar.report._transcript import Transcript, transcript, transcript_lines
from costar.report._transcript_html import transcript_html
from costar.traces import Redactor, TraceView

CSS = """
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}.pair>div{min-width:0}
table.diff{font:12px ui-monospace,monospace;width:100%;table-layout:fixed}
table.diff td{white-space:pre-wrap;word-break:break-word;border:none;padding:0 4px}
.diff_add{background:#d8f5d8}.diff_chg{background:#fff1b8}.diff_sub{background:#fbd9d9}
td.diff_header{color:#999;text-align:right;width:3em}td.diff_next{width:1em}
"""


@dataclass
class Regression:
    """One regressed scenario: the judges that dropped and the two traces to compare."""

    scenario_id: str
    judges: list[str]
    baseline_trace: str
    candidate_trace: str
    rates: dict[str, tuple[str, str]] = field(default_factory=dict)  # judge: (before, after)


def _passes(verdicts: list[Verdict], scenario: str, judge: str) -> tuple[int, int]:
    mine = [v for v in verdicts if v.scenario_id == scenario and v.judge == judge]
    judged = [v for v in mine if v.status == "ok" and v.passed is not None]
    return sum(bool(v.passed) for v in judged), len(judged)


def _pick(verdicts: list[Verdict], scenario: str, judge: str, want: bool) -> str | None:
    """The first trial's trace whose verdict of `judge` is `want`, else the first trial's."""
    mine = [v for v in verdicts if v.scenario_id == scenario and v.judge == judge]
    chosen = [v for v in mine if v.passed is want] or mine
    return min(chosen, key=lambda v: v.trial).trace_id if chosen else None


def regressions(
    deltas: dict[str, JudgeDelta], baseline: list[Verdict], candidate: list[Verdict]
) -> list[Regression]:
    """The regressed scenarios of a paired comparison, each with the traces to show."""
    by_scenario: dict[str, list[str]] = {}
    for name, delta in sorted(deltas.items()):
        if delta.comparison is None:
            continue
        for scenario in delta.comparison.regressed:
            by_scenario.setdefault(scenario, []).append(name)
    out = []
    for scenario, judges in sorted(by_scenario.items()):
        first = judges[0]

        base = _pick(baseline, scenario, first, want=True)
        cand = _pick(candidate, scenario, first, want=False)
        if base is None or cand is None:
            continue
        rates = {}
        for judge in judges:
            (bp, bn), (cp, cn) = (
                _passes(baseline, scenario, judge),
                _passes(candidate, scenario, judge),
            )
            rates[judge] = (f"{bp}/{bn}", f"{cp}/{cn}")
        out.append(Regression(scenario, judges, base, cand, rates))
    return out


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _side(title: str, t: Transcript) -> str:
    return (
        f"<div><h3>{_e(title)}</h3><p><b>final output</b></p>"
        f'<pre class="final-output">{_e(t.output or "(none)")}</pre>'
        f"{transcript_html(t, verdicts=True)}</div>"
    )


def regressions_html(
    found: list[Regression],
    views: dict[str, TraceView],
    baseline: list[Verdict],
    candidate: list[Verdict],
    redact: Redactor,
) -> str:
    """The section for the report: one block per regressed scenario."""
    if not found:
        return '<p class="muted">No scenario passed a judge less often than in the baseline.</p>'
    blocks = []
    for r in found:
        base_view, cand_view = views.get(r.baseline_trace), views.get(r.candidate_trace)
        dropped = ", ".join(f"{j} {b} -> {c}" for j, (b, c) in r.rates.items())
        head = f"<h3>{_e(r.scenario_id)}</h3><p>passes per trial: {_e(dropped)}</p>"
        if base_view is None or cand_view is None:
            blocks.append(f'<div class="regression">{head}<p class="muted">trace not found '
                          "in the store</p></div>")  # fmt: skip
            continue
        base = transcript(
            base_view, [v for v in baseline if v.trace_id == r.baseline_trace], redact
        )
        cand = transcript(
            cand_view, [v for v in candidate if v.trace_id == r.candidate_trace], redact
        )
        diff = difflib.HtmlDiff(wrapcolumn=70).make_table(
            transcript_lines(base),
            transcript_lines(cand),
            _e(f"baseline {base.trace_id}"),
            _e(f"candidate {cand.trace_id}"),
            context=True,
            numlines=3,
        )
        blocks.append(
            f'<div class="regression" data-scenario="{_e(r.scenario_id)}">{head}'
            f'<div class="pair">{_side("baseline", base)}{_side("candidate", cand)}</div>'
            f"<details open><summary>diff of the transcripts</summary>{diff}</details></div>"
        )
    return "".join(blocks)
