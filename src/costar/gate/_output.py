"""Gate output: terminal lines, JUnit XML and Markdown, each showing the per-judge decisions
(pass, regression, inconclusive) and the family-wise level."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from costar.assess import fault_traces
from costar.gate._gate import GateResult
from costar.judges import FIDELITY_JUDGE, Verdict


def headline(result: GateResult) -> str:
    """PASS, PASS with the number of inconclusive judges, or FAIL."""
    if not result.passed:
        return "FAIL"
    unsure = sum(c.inconclusive for c in result.checks)
    return f"PASS ({unsure} inconclusive)" if unsure else "PASS"


def lines(result: GateResult) -> list[str]:
    """The terminal report: the headline, failures, warnings and the family-wise level."""
    out = [f"gate: {headline(result)}"]
    out += [f"  - {reason}" for reason in result.reasons]
    out += [f"  ! {warning}" for warning in result.warnings]
    if result.decisions:
        counts: dict[str, int] = {}
        for decision in result.outcomes.values():
            counts[decision] = counts.get(decision, 0) + 1
        summary = ", ".join(f"{n} {d}" for d, n in sorted(counts.items()))
        out.append(f"judges: {summary}; {result.family}")
    if result.simulator is not None:
        out.append(result.simulator.line())
    return out


def junit_xml(
    candidate: list[Verdict], gated: set[str] | None = None, result: GateResult | None = None
) -> str:
    """JUnit XML: one test case per scenario x judge (trials as separate cases), and with
    `result` a `costar-gate` suite holding one case per gate check (an inconclusive check that
    the policy lets pass is a skipped case)."""
    suites = ET.Element("testsuites", name="costar")
    if result is not None:
        gate = ET.SubElement(
            suites,
            "testsuite",
            name="costar-gate",
            tests=str(len(result.checks)),
            failures=str(sum(not c.ok for c in result.checks)),
            skipped=str(sum(c.ok and c.inconclusive for c in result.checks)),
        )
        if result.family:
            props = ET.SubElement(gate, "properties")
            ET.SubElement(props, "property", name="family", value=result.family)
        for c in result.checks:
            case = ET.SubElement(gate, "testcase", classname=c.judge, name=c.rule)
            if not c.ok:
                ET.SubElement(case, "failure", message=c.detail[:500]).text = c.detail
            elif c.inconclusive:
                ET.SubElement(case, "skipped", message=f"inconclusive: {c.detail}"[:500])
    faulty = fault_traces(candidate)  # a simulator fault is no case of the agent's: skipped
    by_judge: dict[str, list[Verdict]] = {}
    for v in candidate:
        if (gated is None or v.judge in gated) and (v.passed is not None or v.status != "ok"):
            if v.trace_id in faulty and v.judge != FIDELITY_JUDGE:
                v = v.model_copy(
                    update={
                        "status": "skipped",
                        "passed": None,
                        "rationale": "simulator fault: kept out of pass rates and the gate",
                    }
                )
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


def _cell(ok: bool, inconclusive: bool) -> str:
    if inconclusive:
        return "inconclusive" if ok else "**inconclusive (fails)**"
    return "ok" if ok else "FAIL"


def markdown(
    result: GateResult, baseline_id: str, candidate_id: str, changes: list[str] | None = None
) -> str:
    """A summary fit for a pull-request comment (with the dependency changes, if any)."""
    verdict = "passes" if result.passed else "**fails**"
    unsure = [c.judge for c in result.checks if c.inconclusive]
    if result.passed and unsure:
        verdict += f" with {len(unsure)} inconclusive judge(s): {', '.join(unsure)}"
    lines = [
        f"### costar gate {verdict}",
        f"candidate `{candidate_id[:12]}` against baseline `{baseline_id[:12]}`",
    ]
    if result.family:
        lines.append(f"({result.family})")
    if result.simulator is not None:
        lines.append(result.simulator.line())
    lines += ["", "| judge | rule | result | detail |", "|---|---|---|---|"]
    for c in result.checks:
        detail = c.detail.replace("|", "\\|")
        lines.append(f"| {c.judge} | {c.rule} | {_cell(c.ok, c.inconclusive)} | {detail} |")
    if changes:
        lines += ["", "**Dependencies changed between the runs:**", ""]
        lines += [f"- {c}" for c in changes]
    return "\n".join(lines) + "\n"
