"""Importers: conversations recorded elsewhere become runs, traces, scenarios and verdicts."""

from costar.importers._convert import messages_to_trial
from costar.importers._importers import FORMATS, ImportSummary, import_file

__all__ = ["FORMATS", "ImportSummary", "import_file", "messages_to_trial"]
