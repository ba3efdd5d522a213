"""Gate: compare a candidate run with a baseline under a policy; JUnit and Markdown output."""

from costar.gate._ci import CiResult, ci
from costar.gate._decide import JudgeDecision, holm
from costar.gate._gate import GateCheck, GateResult, dependency_changes, evaluate, gated_judges
from costar.gate._output import headline, junit_xml, lines, markdown
from costar.gate._plan import TrialPlan, plan_trials
from costar.gate._policy import GatePolicy, load_policy
from costar.gate._rerun import FailedScenarios, failed_by_scenario, failed_scenarios, rerun_config
from costar.gate._runs import SuiteId, incomparable, previous_run, suite_of

__all__ = [
    "CiResult",
    "FailedScenarios",
    "GateCheck",
    "GatePolicy",
    "GateResult",
    "JudgeDecision",
    "SuiteId",
    "TrialPlan",
    "ci",
    "dependency_changes",
    "evaluate",
    "failed_by_scenario",
    "failed_scenarios",
    "gated_judges",
    "headline",
    "holm",
    "incomparable",
    "junit_xml",
    "lines",
    "load_policy",
    "markdown",
    "plan_trials",
    "previous_run",
    "rerun_config",
    "suite_of",
]
