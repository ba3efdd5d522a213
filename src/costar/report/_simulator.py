"""Simulator faults as a section of the HTML report: the run's fault rate with its interval and
the flagged trials, each reported as "simulator fault" (kept out of the agent's pass rates and
the gate). All text is escaped."""

from __future__ import annotations

import html
from typing import Any


def simulator_section(faults: Any) -> str:
    """The section for a `costar.assess.SimulatorFaults`."""
    rows = "".join(
        f'<tr class="fail"><td>{html.escape(t["scenario_id"])}</td><td>{t["trial"]}</td>'
        f"<td><code>{html.escape(t['trace_id'][:16])}</code></td><td>simulator fault</td>"
        f"<td>{html.escape(t['why'][:300])}</td></tr>"
        for t in faults.trials
    )
    table = (
        '<table id="simulator-faults"><tr><th>scenario</th><th>trial</th><th>trace</th>'
        f"<th>status</th><th>why</th></tr>{rows}</table>"
        if rows
        else '<p class="ok">Every simulated user kept to its instructions.</p>'
    )
    return f'<h2 id="simulator">Simulated users</h2><p>{html.escape(faults.line())}.</p>{table}'
