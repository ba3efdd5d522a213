"""A History as one self-contained HTML page, plotted with plotly.js (inlined from the plotly
package: about 4.8 MB, nothing fetched). Zoom by dragging, double-click to reset; hovering a
point shows the run id, name, the rate with its interval or the median and p90.

Trace and run text reaches plotly only HTML-escaped (plotly reads a little HTML in labels),
the data sits in a JSON script block with `<` escaped, and a Content-Security-Policy lets no
script run but the two on the page (by hash) and nothing load from anywhere.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import json
import time
from typing import Any

from costar.report._history import History
from costar.traces import Redactor

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{margin-top:2em;border-bottom:1px solid #ddd}.muted{color:#777}
table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}.plot{width:100%;height:420px}.small{height:300px}
"""
INIT = """
(function () {
  var data = JSON.parse(document.getElementById("history-data").textContent);
  var config = {displaylogo: false, responsive: true};
  data.plots.forEach(function (p) {
    Plotly.newPlot(document.getElementById(p.id), p.traces, p.layout, config);
  });
})();
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _label(i: int) -> str:
    return f"run {i + 1}"


def _hover(h: History) -> list[str]:
    """Per run: id, name, start and what changed, escaped for plotly's label HTML."""
    out = []
    for r in h.runs:
        started = _dt.datetime.fromtimestamp(r.started).isoformat(timespec="minutes")
        extra = "<br>dependencies changed" if r.dependency_changes else ""
        out.append(f"run {_e(r.run_id)}<br>{_e(r.name)}<br>{_e(started)}{extra}")
    return out


def _dependency_lines(h: History) -> list[dict[str, Any]]:
    return [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": i + 1,
            "x1": i + 1,
            "y0": 0,
            "y1": 1,
            "line": {"color": "#c77c00", "dash": "dot", "width": 2},
        }
        for i, r in enumerate(h.runs)
        if r.dependency_changes
    ]


def _dependency_notes(h: History) -> list[dict[str, Any]]:
    return [
        {
            "x": i + 1, "xref": "x", "y": 1, "yref": "paper", "yanchor": "bottom",
            "text": "dependencies changed", "showarrow": False,
            "font": {"color": "#c77c00", "size": 11},
        }
        for i, r in enumerate(h.runs)
        if r.dependency_changes
    ]  # fmt: skip


def _axis(h: History) -> dict[str, Any]:
    n = len(h.runs)
    return {
        "title": {"text": "run (oldest first)"},
        "tickmode": "array",
        "tickvals": list(range(1, n + 1)),
        "ticktext": [_label(i) for i in range(n)],
        "range": [0.5, n + 0.5],
    }


def rate_plot(h: History) -> dict[str, Any]:
    """One line per judge: the pass rate with its Wilson 95% interval as error bars."""
    hover = _hover(h)
    traces = []
    count = len(h.judges)
    for k, (name, series) in enumerate(h.judges.items()):
        xs, ys, up, down, text = [], [], [], [], []
        shift = (k - (count - 1) / 2) * min(0.04, 0.5 / max(count, 1))  # judges side by side
        for i, p in enumerate(series):
            if p is None:
                continue
            xs.append(round(i + 1 + shift, 4))
            ys.append(p.rate)
            up.append(p.ci[1] - p.rate)
            down.append(p.rate - p.ci[0])
            text.append(
                f"{hover[i]}<br>{_e(name)}: {p.passed}/{p.judged} = {p.rate:.0%} "
                f"[{p.ci[0]:.0%}, {p.ci[1]:.0%}]"
            )
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _e(name),
                "x": xs,
                "y": ys,
                "text": text,
                "hovertemplate": "%{text}<extra></extra>",
                "error_y": {"type": "data", "symmetric": False, "array": up, "arrayminus": down},
                "line": {"color": PALETTE[k % len(PALETTE)]},
            }
        )
    layout = {
        "xaxis": _axis(h),
        "yaxis": {"title": {"text": "pass rate"}, "range": [-0.02, 1.02], "tickformat": ".0%"},
        "shapes": _dependency_lines(h),
        "annotations": _dependency_notes(h),
        "margin": {"t": 40},
        "legend": {"orientation": "h", "y": -0.25},
    }
    return {"id": "plot-rates", "traces": traces, "layout": layout}


def metric_plot(h: History, name: str, index: int) -> dict[str, Any]:
    """A metric's median and p90 per run; outlier runs as red crosses on the median."""
    hover = _hover(h)
    points = h.metrics[name]
    xs = [i + 1 for i, p in enumerate(points) if p]
    known = [(i, p) for i, p in enumerate(points) if p]
    text = [
        f"{hover[i]}<br>{_e(name)}: median {p.median:.4g}, p90 {p.p90:.4g} (n={p.n})"
        + (f"<br>robust z max {p.max_z}" if p.max_z is not None else "")
        for i, p in known
    ]
    outliers = [(i, p) for i, p in known if p.outlier]
    traces = [
        {
            "type": "scatter", "mode": "lines+markers", "name": "median", "x": xs,
            "y": [p.median for _, p in known], "text": text,
            "hovertemplate": "%{text}<extra></extra>", "line": {"color": "#1f77b4"},
        },
        {
            "type": "scatter", "mode": "lines+markers", "name": "p90", "x": xs,
            "y": [p.p90 for _, p in known], "text": text,
            "hovertemplate": "%{text}<extra></extra>",
            "line": {"color": "#9ab", "dash": "dash"},
        },
        {
            "type": "scatter", "mode": "markers", "name": f"outlier (robust z > {h.z:g})",
            "x": [i + 1 for i, _ in outliers], "y": [p.median for _, p in outliers],
            "text": [
                f"{hover[i]}<br>outlier: {len(p.outlier_traces)} trial(s) above robust z "
                f"{h.z:g}, max z {p.max_z}" for i, p in outliers
            ],
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {"symbol": "x", "size": 14, "color": "#d62728"},
        },
    ]  # fmt: skip
    layout = {
        "title": {"text": _e(name)},
        "xaxis": _axis(h),
        "yaxis": {"title": {"text": _e(name)}, "rangemode": "tozero"},
        "shapes": _dependency_lines(h),
        "annotations": _dependency_notes(h),
        "margin": {"t": 50},
        "legend": {"orientation": "h", "y": -0.3},
    }
    return {"id": f"plot-metric-{index}", "traces": traces, "layout": layout}


def _runs_table(h: History) -> str:
    rows = []
    for i, r in enumerate(h.runs):
        started = _dt.datetime.fromtimestamp(r.started).isoformat(timespec="seconds")
        outliers = [m for m, ps in h.metrics.items() if (p := ps[i]) is not None and p.outlier]
        changes = "".join(f"<li>{_e(c)}</li>" for c in r.dependency_changes)
        rows.append(
            f'<tr class="run" data-run="{_e(r.run_id)}"><td>{i + 1}</td><td><code>'
            f"{_e(r.run_id)}</code></td><td>{_e(r.name)}</td><td>{_e(started)}</td>"
            f"<td><code>{_e(r.agent_version)}</code></td>"
            f"<td>{f'<ul>{changes}</ul>' if changes else ''}</td>"
            f"<td>{_e(', '.join(outliers))}</td></tr>"
        )
    head = (
        "<tr><th>#</th><th>run id</th><th>name</th><th>started</th><th>agent version</th>"
        "<th>dependencies changed</th><th>outlier metrics</th></tr>"
    )
    return f'<table id="runs">{head}{"".join(rows)}</table>'


def _sha(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def plotly_js() -> str:
    """plotly.js as the installed plotly package ships it."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def render_history_html(h: History, redact: list[str] | None = None) -> str:
    """The history as one self-contained HTML document."""
    red = Redactor(redact or [])
    plots = [rate_plot(h)] + [metric_plot(h, name, i) for i, name in enumerate(h.metrics)]
    data = red.text(json.dumps({"plots": plots}, separators=(",", ":")))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    library = plotly_js().replace("</script", "<\\/script")
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data: blob:; "
        f"font-src data:; script-src {_sha(library)} {_sha(INIT)}"
    )
    metric_divs = "".join(
        f'<div id="plot-metric-{i}" class="plot small" data-metric="{_e(name)}"></div>'
        for i, name in enumerate(h.metrics)
    )
    stamp = time.strftime("%Y-%m-%d %H:%M")
    body = red.text(f"""<h1>costar history: suite <code>{_e(h.suite)}</code></h1>
<p>{len(h.runs)} assessed runs, oldest first; made {stamp}.
{f"{len(h.unassessed)} runs of the suite have no verdicts and are left out." if h.unassessed
 else ""}</p>
<h2>Pass rate per judge</h2>
<p class="muted">Each point is one run's pass rate over its trials; bars: Wilson 95% interval;
dotted orange lines: runs whose dependencies changed from the run before. Drag to zoom,
double-click to reset, hover for the run.</p>
<div id="plot-rates" class="plot"></div>
<h2>Metrics</h2>
<p class="muted">Median and p90 of each metric over a run's trials. A red cross marks a run
holding a trial more than {h.z:g} robust standard deviations (1.4826 x MAD) above the values
of the {h.baseline_runs} runs before it, the monitor's rule; a run is tested once those runs
hold {h.min_n} values.</p>
{metric_divs or '<p class="muted">no metrics</p>'}
<h2>Runs</h2>
{_runs_table(h)}""")  # fmt: skip
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>costar history {_e(h.suite)}</title><style>{CSS}</style></head><body>
{body}
<script type="application/json" id="history-data">{data}</script>
<script>{library}</script>
<script>{INIT}</script>
</body></html>
"""
