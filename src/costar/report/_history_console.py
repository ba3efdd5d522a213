"""A History in the terminal: one sparkline per judge and per metric, one character per run
(oldest left), and a table of the runs with what changed."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from costar.report._history import History

BARS = "▁▂▃▄▅▆▇█"
GAP = "·"  # a run with no verdict of that judge or metric


def sparkline(values: Sequence[float | None], low: float | None = None,
              high: float | None = None) -> str:  # fmt: skip
    """One block character per value, scaled between `low` and `high` (default: the values'
    own range); None prints as a gap."""
    known = [v for v in values if v is not None]
    if not known:
        return GAP * len(values)
    lo = min(known) if low is None else low
    hi = max(known) if high is None else high
    span = hi - lo
    out = []
    for v in values:
        if v is None:
            out.append(GAP)
        elif span <= 0:
            out.append(BARS[len(BARS) // 2])
        else:
            index = round((min(max(v, lo), hi) - lo) / span * (len(BARS) - 1))
            out.append(BARS[index])
    return "".join(out)


def _marks(flags: Sequence[bool], char: str) -> str:
    return "".join(char if f else " " for f in flags)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def history_renderables(h: History) -> list[Any]:
    """What `costar report --history N` prints."""
    from rich.table import Table
    from rich.text import Text

    n = len(h.runs)
    deps = [bool(r.dependency_changes) for r in h.runs]
    out: list[Any] = [
        Text(f"history of suite {h.suite}: {n} assessed runs, oldest first", style="bold")
    ]
    if h.unassessed:
        out.append(
            Text(
                f"{len(h.unassessed)} runs of the suite have no verdicts and are left out "
                "(costar assess RUN_ID)",
                style="dim",
            )  # fmt: skip
        )
    rates = Table(title="pass rate per judge (scale 0-100%)", title_justify="left")
    rates.add_column("judge", no_wrap=True)
    rates.add_column("runs", no_wrap=True)
    rates.add_column("last [95% CI]", no_wrap=True)
    rates.add_column("lowest", no_wrap=True)
    for name, series in h.judges.items():
        line = sparkline([p.rate if p else None for p in series], 0.0, 1.0)
        last = next((p for p in reversed(series) if p), None)
        low = min((p.rate for p in series if p), default=None)
        shown = f"{_pct(last.rate)} [{_pct(last.ci[0])}, {_pct(last.ci[1])}]" if last else ""
        rates.add_row(Text(name), Text(line, style="green"), shown,
                      "" if low is None else _pct(low))  # fmt: skip
    if any(deps):
        rates.add_row(Text("dependencies changed", style="dim"), Text(_marks(deps, "d"), "yellow"))
    out.append(rates)
    if h.metrics:
        metrics = Table(
            title=f"metric medians per run (! marks an outlier run: a trial above robust "
            f"z {h.z:g} against the {h.baseline_runs} runs before)",
            title_justify="left",
        )
        metrics.add_column("metric", no_wrap=True)
        metrics.add_column("median", no_wrap=True)
        metrics.add_column("p90", no_wrap=True)
        metrics.add_column("last median / p90", no_wrap=True)
        for name, points in h.metrics.items():
            medians = [p.median if p else None for p in points]
            p90s = [p.p90 if p else None for p in points]
            known = [v for v in medians + p90s if v is not None]
            lo, hi = (min(known), max(known)) if known else (None, None)
            flags = [bool(p and p.outlier) for p in points]
            cell = Text(sparkline(medians, lo, hi), style="cyan")
            if any(flags):
                cell.append("\n" + _marks(flags, "!"), style="bold red")
            newest = next((p for p in reversed(points) if p), None)
            metrics.add_row(
                Text(name),
                cell,
                Text(sparkline(p90s, lo, hi), style="cyan"),
                f"{newest.median:.4g} / {newest.p90:.4g}" if newest else "",
            )
        out.append(metrics)
    out.append(Text("runs, oldest first:", style="bold"))
    for i, r in enumerate(h.runs):
        started = _dt.datetime.fromtimestamp(r.started).strftime("%Y-%m-%d %H:%M")
        entry = Text(f"{i + 1:>3} {r.run_id}  {started}  ")
        entry.append(r.agent_version, style="dim")
        entry.append(f"  {r.name}")
        out.append(entry)
        for change in r.dependency_changes:
            out.append(Text(f"      dependency changed: {change}", style="yellow"))
        for name, points in h.metrics.items():
            p = points[i]
            if p is not None and p.outlier:
                out.append(
                    Text(
                        f"      outlier {name}: {len(p.outlier_traces)} trial(s) above robust "
                        f"z {h.z:g} (max z {p.max_z}), e.g. {p.outlier_traces[0]}",
                        style="bold red",
                    )  # fmt: skip
                )
    return out
