"""The gate: may a candidate run ship, compared with a baseline run, under a policy?"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from costar.assess import compare_runs, summarise
from costar.gate._policy import GatePolicy
from costar.harness._deps import diff, run_manifest
from costar.judges import Verdict


@dataclass
class GateCheck:
    """One rule applied to one judge."""

    judge: str
    rule: str
    ok: bool
    detail: str


@dataclass
class GateResult:
    """The decision and every check behind it."""

    passed: bool
    checks: list[GateCheck] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return [f"{c.judge}: {c.detail}" for c in self.checks if not c.ok]


def evaluate(baseline: list[Verdict], candidate: list[Verdict], policy: GatePolicy) -> GateResult:
    """Apply the policy to the candidate's verdicts, paired with the baseline's."""
    base, cand = summarise(baseline), summarise(candidate)
    deltas = compare_runs(baseline, candidate)
    gated = policy.judges or sorted(name for name, s in cand.items() if s.rate is not None)
    checks: list[GateCheck] = []
    for name in gated:
        s = cand.get(name)
        if s is None:
            checks.append(
                GateCheck(
                    name,
                    "verdicts",
                    False,
                    "no verdicts in the candidate (run `costar assess` on it)",
                )
            )
            continue
        checks.append(
            GateCheck(
                name,
                "max_error_rate",
                s.error_rate <= policy.max_error_rate,
                f"judge error rate {s.error_rate:.0%} (at most {policy.max_error_rate:.0%})",
            )
        )
        if s.rate is None:
            checks.append(
                GateCheck(
                    name,
                    "verdicts",
                    False,
                    "no pass/fail verdicts in the "
                    "candidate (every verdict was an error or skipped)",
                )
            )
            continue
        floor = policy.min_pass_rate.get(name, policy.min_pass_rate.get("*"))
        if floor is not None:
            checks.append(
                GateCheck(
                    name,
                    "min_pass_rate",
                    s.rate >= floor,
                    f"pass rate {s.rate:.0%} (minimum {floor:.0%})",
                )
            )
        comparison = deltas[name].comparison if name in deltas else None
        if policy.no_regression and comparison is not None:
            bad = comparison.significant_regression(policy.alpha)
            detail = (
                f"pass rate {comparison.baseline_rate:.0%} -> {comparison.candidate_rate:.0%}"
                f", effect {comparison.effect:+.2f} [{comparison.ci[0]:+.2f}, "
                f"{comparison.ci[1]:+.2f}], p = {comparison.p_value:.3g}"
            )
            changed = len(comparison.regressed) + len(comparison.fixed)
            if comparison.effect < 0 and not bad and 2 / 2**changed > policy.alpha:
                # the test cannot reach alpha with so few differing scenarios: fail closed
                needed = math.ceil(math.log2(2 / policy.alpha) + 1e-9)
                bad = True
                detail += (
                    f"; a drop on {changed} scenario(s) cannot be tested at alpha "
                    f"{policy.alpha} (needs {needed}), so it counts as a regression"
                )
            if bad:
                detail += f"; regressed: {', '.join(comparison.regressed[:5])}"
            checks.append(GateCheck(name, "no_regression", not bad, detail))
        elif policy.no_regression and name not in base:
            checks.append(GateCheck(name, "no_regression", True, "not in the baseline"))
    for name, limit in policy.metric_increase.items():
        change = deltas[name].metric_change if name in deltas else None
        if change is None:
            checks.append(
                GateCheck(name, "metric_increase", False, "metric missing in one of the runs")
            )
        else:
            checks.append(
                GateCheck(
                    name,
                    "metric_increase",
                    change <= limit,
                    f"median changed {change:+.1%} (at most +{limit:.0%})",
                )
            )
    return GateResult(passed=all(c.ok for c in checks), checks=checks)


def junit_xml(candidate: list[Verdict], gated: set[str] | None = None) -> str:
    """JUnit XML: one test case per scenario x judge (trials as separate cases)."""
    suites = ET.Element("testsuites", name="costar")
    by_judge: dict[str, list[Verdict]] = {}
    for v in candidate:
        if (gated is None or v.judge in gated) and (v.passed is not None or v.status != "ok"):
            by_judge.setdefault(v.judge, []).append(v)
    for judge, verdicts in sorted(by_judge.items()):
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=judge,
            tests=str(len(verdicts)),
            failures=str(sum(v.passed is False for v in verdicts)),
            errors=str(sum(v.status == "error" for v in verdicts)),
            skipped=str(sum(v.status == "skipped" for v in verdicts)),
        )
        for v in sorted(verdicts, key=lambda v: (v.scenario_id, v.trial)):
            case = ET.SubElement(
                suite, "testcase", classname=judge, name=f"{v.scenario_id}#{v.trial}"
            )
            if v.status == "error":
                ET.SubElement(case, "error", message=(v.error or "")[:500]).text = v.error
            elif v.status == "skipped":
                ET.SubElement(case, "skipped", message=v.rationale[:500])
            elif v.passed is False:
                ET.SubElement(
                    case, "failure", message=v.rationale[:500]
                ).text = (
                    f"{v.rationale}\nevidence spans: {', '.join(v.evidence)}\ntrace: {v.trace_id}"
                )
    return ET.tostring(suites, encoding="unicode")


def dependency_changes(baseline: Any, candidate: Any) -> list[str]:
    """What moved in the declared dependencies between two runs (RunInfos), one line each:
    shown beside the judges that regressed, since the agent may not be the cause."""
    return diff(run_manifest(baseline), run_manifest(candidate))


def markdown(
    result: GateResult, baseline_id: str, candidate_id: str, changes: list[str] | None = None
) -> str:
    """A summary fit for a pull-request comment (with the dependency changes, if any)."""
    verdict = "passes" if result.passed else "**fails**"
    lines = [
        f"### costar gate {verdict}",
        f"candidate `{candidate_id[:12]}` against baseline `{baseline_id[:12]}`",
        "",
        "| judge | rule | result | detail |",
        "|---|---|---|---|",
    ]
    for c in result.checks:
        detail = c.detail.replace("|", "\\|")
        lines.append(f"| {c.judge} | {c.rule} | {'ok' if c.ok else 'FAIL'} | {detail} |")
    if changes:
        lines += ["", "**Dependencies changed between the runs:**", ""]
        lines += [f"- {c}" for c in changes]
    return "\n".join(lines) + "\n"
