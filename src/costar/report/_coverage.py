"""Coverage of production by the suite, as a section of the HTML report (or a page of its own):
the covered share with its interval, the largest uncovered groups with example traces, the
suite's spread over production groups and over its tags. All text is escaped."""

from __future__ import annotations

import html
from typing import Any


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def coverage_section(result: Any, top: int = 5) -> str:
    """The coverage section for a `costar.discover.CoverageResult`."""
    lo, hi = result.interval
    gaps = result.uncovered[:top]
    rows = []
    for g in gaps:
        examples = "<br>".join(
            f"<code>{_e(x['trace_id'][:16])}</code> {_e(x['text'][:160])}" for x in g.examples
        )
        rows.append(
            f'<tr class="uncovered"><td>{_e(g.name)}</td><td>{g.conversations}</td>'
            f"<td>{g.share:.0%}</td><td>{_e(g.nearest_scenario or '')} ({g.similarity:.2f})"
            f"</td><td>{examples}</td></tr>"
        )
    gap_table = (
        '<table id="uncovered"><tr><th>group</th><th>conversations</th><th>share</th>'
        f"<th>nearest scenario (similarity)</th><th>examples</th></tr>{''.join(rows)}</table>"
        if rows
        else '<p class="ok">Every production group has a scenario.</p>'
    )
    spread = "".join(
        f"<tr><td>{_e(g.name)}</td><td>{g.share:.0%}</td><td>{g.scenarios}</td>"
        f'<td class="{"ok" if g.covered else "fail"}">{"yes" if g.covered else "no"}</td></tr>'
        for g in result.groups
    )
    tags = ", ".join(f"{_e(t)} {n}" for t, n in result.suite_tags.items()) or "none"
    return f"""<h2 id="coverage">Coverage of production ({_e(result.experiment)})</h2>
<p class="coverage-line">{result.share:.0%} of {result.conversations} production conversations
[95% CI {lo:.0%}, {hi:.0%}] have a scenario within similarity {result.threshold:g}
({_e(result.representation)}).</p>
<h3>Largest uncovered groups</h3>
{gap_table}
<h3>The suite over production groups</h3>
<table id="spread"><tr><th>group</th><th>share of production</th><th>scenarios</th>
<th>covered</th></tr>{spread}</table>
<p>Scenarios by tag ({result.suite_scenarios} scenarios): {tags}</p>
"""


def coverage_page(result: Any, top: int = 5) -> str:
    """A self-contained page holding only the coverage section."""
    from costar.report._html import CSS

    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>costar coverage '
        f"{_e(result.experiment)}</title><style>{CSS}</style></head><body>"
        f"{coverage_section(result, top)}</body></html>\n"
    )
