"""Web: the browser UI served by `costar label` (the HTML report is a file; see costar.report)."""

from costar.web._label_server import LabelServer, LabelSession, trace_document

__all__ = ["LabelServer", "LabelSession", "trace_document"]
