"""Web: the browser UI served by `costar label` (the HTML report is a file; see costar.report)."""

from costar.web._label_doc import scenario_document, state_document, trace_document
from costar.web._label_server import LabelServer, LabelSession

__all__ = [
    "LabelServer",
    "LabelSession",
    "scenario_document",
    "state_document",
    "trace_document",
]
