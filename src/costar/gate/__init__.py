"""Gate: compare a candidate run with a baseline under a policy; JUnit and Markdown output."""

from costar.gate._ci import CiResult, ci
from costar.gate._gate import (
    GateCheck,
    GateResult,
    dependency_changes,
    evaluate,
    junit_xml,
    markdown,
)
from costar.gate._policy import GatePolicy, load_policy

__all__ = [
    "CiResult",
    "GateCheck",
    "GatePolicy",
    "GateResult",
    "ci",
    "dependency_changes",
    "evaluate",
    "junit_xml",
    "load_policy",
    "markdown",
]
