"""Operational metrics of a trace: values, not pass/fail, unless a budget is set.

Model calls and tokens are counted once (TraceView.llm_calls / llm_usage: the innermost LLM
span of each nest). When no LLM span reports token usage, the token metrics and cost are None,
"not measured": a metric verdict on them is skipped with that reason, never a 0.
"""

from __future__ import annotations

from typing import Any

from costar.judges._judge import judge
from costar.judges._verdict import Outcome, skip
from costar.traces import SIMULATOR_SPAN, SIMULATOR_USAGE, TraceView

STRUCTURAL = {"CHAIN", "AGENT", SIMULATOR_SPAN}  # a simulated user's turns are not the agent's
TOKEN_METRICS = ("input_tokens", "output_tokens", "total_tokens", "cost_usd")
NOT_MEASURED = "not measured: no LLM span in the trace reports token usage"


def cost_usd(view: TraceView, prices: dict[str, dict[str, float]]) -> float | None:
    """Cost from a price table: {model: {input_per_1m: USD, output_per_1m: USD}}; None when
    token usage is not measured."""
    if view.llm_usage() is None:
        return None
    total = 0.0
    for span in view.llm_calls():
        model = str(span.attributes.get("mlflow.llm.model", ""))
        price = prices.get(model) or prices.get("*")
        if price:
            usage = span.usage
            total += usage.get("input_tokens", 0) * price.get("input_per_1m", 0) / 1e6
            total += usage.get("output_tokens", 0) * price.get("output_per_1m", 0) / 1e6
    return round(total, 8)


def metrics(view: TraceView, prices: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
    """Every metric of one trace."""
    llm = view.llm_calls()
    tools = view.spans_of("TOOL")
    usage = view.llm_usage()
    steps = [
        s
        for s in view.spans
        if s.parent_id is not None and s.span_type not in STRUCTURAL and s.name != "final_state"
    ]
    by_type: dict[str, float] = {}
    for s in steps:
        key = f"latency_{s.span_type.lower()}_s"
        by_type[key] = round(by_type.get(key, 0.0) + s.seconds, 6)
    return {
        "input_tokens": usage["input_tokens"] if usage else None,
        "output_tokens": usage["output_tokens"] if usage else None,
        "total_tokens": usage["total_tokens"] if usage else None,
        "cost_usd": cost_usd(view, prices or {}),
        "llm_calls": len(llm),
        "tool_calls": len(tools),
        "tool_failures": sum(1 for s in tools if s.failed),
        "tool_failure_ratio": round(sum(1 for s in tools if s.failed) / len(tools), 4)
        if tools
        else 0.0,
        "steps": len(steps),
        "latency_s": round(view.root.seconds, 6),
        **by_type,
        **simulator_metrics(view, prices or {}),
    }


def simulator_metrics(view: TraceView, prices: dict[str, dict[str, float]]) -> dict[str, Any]:
    """A simulated user's own model calls, tokens and cost (from the same price table),
    counted apart from the agent's; none when the trace has no simulated user."""
    calls = view.spans_of(SIMULATOR_SPAN)
    if not calls:
        return {}
    tokens, cost, measured = 0, 0.0, False
    for span in calls:
        usage = span.attributes.get(SIMULATOR_USAGE)
        if not isinstance(usage, dict):
            continue
        measured = True
        tokens += int(usage.get("total_tokens", 0))
        model = str(span.attributes.get("mlflow.llm.model", ""))
        price = prices.get(model) or prices.get("*") or {}
        cost += usage.get("input_tokens", 0) * price.get("input_per_1m", 0) / 1e6
        cost += usage.get("output_tokens", 0) * price.get("output_per_1m", 0) / 1e6
    return {
        "simulator_llm_calls": len(calls),
        "simulator_total_tokens": tokens if measured else None,
        "simulator_cost_usd": round(cost, 8) if measured else None,
    }


@judge("metric", "metric", reads=[])
def metric(
    view: TraceView,
    scenario: Any,
    name: str,
    budget: float | None = None,
    prices: dict[str, dict[str, float]] | None = None,
) -> Outcome:
    """One metric's value; with `budget`, it passes when the value is at most the budget."""
    values = metrics(view, prices)
    if name.startswith("simulator_") and name not in values:
        return skip(f"{name}: the trace has no simulated user")
    if name not in values and not name.startswith("latency_"):
        raise ValueError(f"unknown metric {name!r} (known: {', '.join(sorted(values))})")
    value = values.get(name, 0.0)
    if value is None:
        return skip(f"{name} {NOT_MEASURED}")
    if budget is None:
        return Outcome(value=value, rationale=f"{name} = {value}")
    ok = value <= budget
    return Outcome(passed=ok, value=value, rationale=f"{name} = {value} (budget {budget})")


@judge("budgets", "check", reads=["expectations.budgets"])
def budgets(
    view: TraceView, scenario: Any, prices: dict[str, dict[str, float]] | None = None
) -> Outcome:
    """The scenario's budgets hold: each named metric at most its limit."""
    limits = scenario.expectations.budgets if scenario else {}
    if not limits:
        return skip("the scenario sets no budgets")
    values = metrics(view, prices)
    unknown = sorted(set(limits) - set(values))
    if unknown:
        raise ValueError(f"unknown metrics in budgets: {unknown} (known: {sorted(values)})")
    unmeasured = sorted(k for k in limits if values[k] is None)
    measured = {k: v for k, v in limits.items() if k not in unmeasured}
    over = {k: values[k] for k, limit in measured.items() if values[k] > limit}
    if over:
        text = ", ".join(f"{k} = {v} > {limits[k]}" for k, v in over.items())
        return Outcome(passed=False, value=len(over), rationale=f"over budget: {text}")
    if unmeasured:  # a budget that cannot be checked is not a budget that holds
        held = len(limits) - len(unmeasured)
        return skip(f"budgets on {', '.join(unmeasured)} skipped, {NOT_MEASURED}; {held} hold")
    return Outcome(passed=True, value=0, rationale=f"{len(limits)} budgets hold")


# the metrics that run as judges when the project names none (`default_judges`)
DEFAULT_METRICS = ("total_tokens", "llm_calls", "tool_calls", "tool_failure_ratio", "latency_s")
