"""Gate: compare a candidate run with a baseline under a policy; JUnit and Markdown output."""

from costar.gate._decide import JudgeDecision, holm
from costar.gate._gate import GateCheck, GateResult, dependency_changes, evaluate, gated_judges
from costar.gate._output import headline, junit_xml, lines, markdown
from costar.gate._plan import TrialPlan, plan_trials
from costar.gate._policy import GatePolicy, load_policy
from costar.gate._rerun import FailedScenarios, failed_by_scenario, failed_scenarios
from costar.gate._runs import SuiteId, incomparable, planned_suite, previous_run, suite_of

__all__ = [
    "FailedScenarios",
    "GateCheck",
    "GatePolicy",
    "GateResult",
    "JudgeDecision",
    "SuiteId",
    "TrialPlan",
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
    "planned_suite",
    "previous_run",
    "suite_of",
]
