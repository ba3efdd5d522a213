"""Report: the self-contained HTML report, transcripts of traces (terminal and HTML, from one
structure) and the history of a suite across runs (sparklines and plots). The per-run tables
of `costar report` live in the CLI."""

from costar.report._console import transcript_renderables
from costar.report._coverage import coverage_page, coverage_section
from costar.report._history import (
    History,
    MetricPoint,
    RatePoint,
    RunPoint,
    history,
    metric_history,
    suite_runs,
)
from costar.report._history_console import history_renderables, sparkline
from costar.report._history_html import render_history_html
from costar.report._html import MAX_TRANSCRIPTS, ReportInput, render_html, trace_link
from costar.report._load import Resolved, failed_trials, load_views, resolve_id, trace_transcript
from costar.report._regressions import Regression, regressions
from costar.report._simulator import simulator_section
from costar.report._transcript import (
    Evidence,
    Failure,
    FileEntry,
    Step,
    TableBlock,
    Transcript,
    TurnBlock,
    VerdictLine,
    transcript,
    transcript_lines,
)
from costar.report._transcript_html import transcript_html

__all__ = [
    "MAX_TRANSCRIPTS",
    "Evidence",
    "Failure",
    "FileEntry",
    "History",
    "MetricPoint",
    "RatePoint",
    "Regression",
    "ReportInput",
    "Resolved",
    "RunPoint",
    "Step",
    "TableBlock",
    "Transcript",
    "TurnBlock",
    "VerdictLine",
    "coverage_page",
    "coverage_section",
    "failed_trials",
    "history",
    "history_renderables",
    "load_views",
    "metric_history",
    "regressions",
    "render_history_html",
    "render_html",
    "resolve_id",
    "simulator_section",
    "sparkline",
    "suite_runs",
    "trace_link",
    "trace_transcript",
    "transcript",
    "transcript_html",
    "transcript_lines",
    "transcript_renderables",
]
