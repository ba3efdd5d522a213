"""Report: the self-contained HTML report (terminal tables live in the CLI)."""

from costar.report._coverage import coverage_page, coverage_section
from costar.report._html import ReportInput, render_html, trace_link

__all__ = ["ReportInput", "coverage_page", "coverage_section", "render_html", "trace_link"]
