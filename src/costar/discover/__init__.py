"""Discover what the suite and the judges miss, downstream of traces and verdicts.

Generation (`costar scenario generate`: drafts from the agent's spec or from production groups
no scenario covers; `costar scenario accept`), coverage of production by the suite (`costar
coverage`) and failure modes found in verdicts and metrics (`costar discover`, with draft
judges for modes no judge checks). Everything here reads stored traces and verdicts and writes
draft files for a person to review; nothing runs the agent.
"""

from costar.discover._analysis import (
    DEFAULT_DISTANCE,
    DEFAULT_THRESHOLD,
    Analysis,
    Group,
    analyse,
    scenario_topic,
)
from costar.discover._coverage import CoverageConfig, CoverageResult, GroupSummary, coverage
from costar.discover._drafts import (
    DRAFTS_FOLDER,
    GENERATED_TAG,
    Accepted,
    Rejected,
    Written,
    accept,
    validate_draft,
)
from costar.discover._findings import Finding
from costar.discover._from_spec import CATEGORIES, PERSONAS, FromSpecConfig, generate_from_spec
from costar.discover._from_traces import FromTracesConfig, generate_from_traces
from costar.discover._model import Model, ModelUse
from costar.discover._modes import DiscoverConfig, DiscoverResult, FailureMode, discover
from costar.discover._result import Duplicate, GenerateResult
from costar.discover._space import Space, embed_texts
from costar.discover._texts import Conversation, read_conversations

__all__ = [
    "CATEGORIES",
    "DEFAULT_DISTANCE",
    "DEFAULT_THRESHOLD",
    "DRAFTS_FOLDER",
    "GENERATED_TAG",
    "PERSONAS",
    "Accepted",
    "Analysis",
    "Conversation",
    "CoverageConfig",
    "CoverageResult",
    "DiscoverConfig",
    "DiscoverResult",
    "Duplicate",
    "FailureMode",
    "Finding",
    "FromSpecConfig",
    "FromTracesConfig",
    "GenerateResult",
    "Group",
    "GroupSummary",
    "Model",
    "ModelUse",
    "Rejected",
    "Space",
    "Written",
    "accept",
    "analyse",
    "coverage",
    "discover",
    "embed_texts",
    "generate_from_spec",
    "generate_from_traces",
    "read_conversations",
    "scenario_topic",
    "validate_draft",
]
