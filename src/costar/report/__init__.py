"""Report: the self-contained HTML report (terminal tables live in the CLI)."""

from costar.report._html import ReportInput, render_html, trace_link

__all__ = ["ReportInput", "render_html", "trace_link"]
