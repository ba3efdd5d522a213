"""Explain: which step caused a failing verdict (deterministic evidence, then an agentic
attributor), and the counterfactual replay that confirms or refutes the claim. Downstream of
assess; it calls the harness through its public API only."""

from costar.explain._attributor import attribute
from costar.explain._evidence import find_evidence
from costar.explain._explain import ExplainConfig, ExplainSummary, deterministic, explain
from costar.explain._model import (
    ATTRIBUTION_VERSION,
    Attribution,
    Evidence,
    Verification,
    load,
    save,
)
from costar.explain._verify import verify

__all__ = [
    "ATTRIBUTION_VERSION",
    "Attribution",
    "Evidence",
    "ExplainConfig",
    "ExplainSummary",
    "Verification",
    "attribute",
    "deterministic",
    "explain",
    "find_evidence",
    "load",
    "save",
    "verify",
]
