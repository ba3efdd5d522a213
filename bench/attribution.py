"""Failure attribution: does `costar explain --verify` confirm right claims and only those?

50 constructed cases (--quick: 5) of one refund agent (bench/_attribution_agent.py) whose model
is the scripted fake LLM, each with a planted root cause at a known step, four kinds in turn:
- wrong_result: `lookup_order` answers from a stale cache (step 3, a tool result);
- wrong_argument: the model looks up another order than the customer's (step 2, llm);
- skipped_policy: the model refunds without reading the policy, outside the window (step 4);
- misread_turn: the customer's second turn declines the refund; the model refunds (step 8).
Each case runs once (`run_suite`), the final-state check fails it, and `explain` names a step:
 - attributor: the fake LLM plays it with a script that names the planted step and proposes
   the right correction, except every fifth case (a known 20% wrong share), where it names a
   wrong step in turn: the final reply (the symptom), an innocent earlier read, a later
   state-changing tool, or a later model decision;
 - anchor, side by side: the deterministic evidence alone (no model).
Then `--verify` replays each case to the named step, substitutes the correction, runs on live
and re-judges. So the figures measure costar's machinery (evidence, the attributor loop, the
counterfactual), not a model's skill: step_accuracy is the script's by construction, and the
deterministic anchor shows what the evidence finds on its own.

`false_confirmations` counts confirmed attributions at a step other than the planted one.

With `--model M --log FILE` (opt-in; a real model) the attributor runs on a conversation log
(`costar import conversation` format with `mistake_agent` / `mistake_step` labels, e.g. the
Who&When logs) and agent-level and step-level accuracy against the labels are printed.

Usage: .venv/bin/python bench/attribution.py [--quick] [--model M --log FILE]
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, quick  # noqa: E402

N = 5 if quick() else 50
KINDS = ["wrong_result", "wrong_argument", "skipped_policy", "misread_turn"]
PLANTED = {"wrong_result": 3, "wrong_argument": 2, "skipped_policy": 4, "misread_turn": 8}
WRONG_MODES = ["symptom", "innocent", "later_tool", "later_decision"]
AGENT = {"system": "refund agent"}


def _call(name: str, **args: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": args}]}


def _message(name: str, **args: Any) -> dict[str, Any]:
    call = {
        "id": "fix",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def case(i: int) -> dict[str, Any]:
    """One case: scenario YAML, the agent's rules, the planted step and its correction."""
    kind, order = KINDS[i % 4], 2000 + i
    other = order + 500
    user = {**AGENT, "user": f"order {order}\\b"}
    tool = {**user, "last_role": "tool"}
    days = 60 if kind == "skipped_policy" else 5
    right = {"id": order, "status": "delivered", "days_ago": days}
    cache = {str(order): right, str(other): {"id": other, "status": "refunded", "days_ago": 5}}
    if kind == "wrong_result":
        cache[str(order)] = {**right, "status": "refunded"}
    turns = [f"My kettle (order {order}) arrived broken. Please refund it."]
    expected = "refunded"
    if kind == "skipped_policy":
        turns = [f"Please refund order {order}, I changed my mind."]
        expected = "delivered"
    if kind == "misread_turn":
        turns = [
            f"My lamp (order {order}) arrived broken.",
            "No thanks, don't refund it, just note it.",
        ]
        expected = "delivered"
    rules: list[dict[str, Any]] = []
    if kind == "misread_turn":
        rules += [
            {
                "when": {**user, "last_role": "user", "last_message": "don't refund"},
                "reply": _call("issue_refund", order_id=order),
            },
            {"when": {**tool, "after_tool": "issue_refund"}, "reply": {"text": "Refunded."}},
            {"when": {**tool, "after_tool": "add_note"}, "reply": {"text": "Noted, no refund."}},
            {"when": {**user, "last_role": "user"}, "reply": _call("lookup_order", order_id=order)},
            {
                "when": {**tool, "after_tool": "read_policy"},
                "reply": {"text": f"Order {order} qualifies. Shall I refund it?"},
            },
            {"when": tool, "reply": _call("read_policy")},
        ]
    elif kind == "skipped_policy":
        rules += [
            {"when": {**user, "last_role": "user"}, "reply": _call("lookup_order", order_id=order)},
            {"when": {**tool, "after_tool": "issue_refund"}, "reply": {"text": "Refunded."}},
            {
                "when": {**tool, "after_tool": "read_policy", "tool_result": '"days_ago": 60'},
                "reply": {"text": f"Order {order} is outside the 30-day window: no refund."},
            },
            {"when": tool, "reply": _call("issue_refund", order_id=order)},
        ]
    else:
        looked = other if kind == "wrong_argument" else order
        rules += [
            {
                "when": {**user, "last_role": "user"},
                "reply": _call("lookup_order", order_id=looked),
            },
            {"when": {**tool, "after_tool": "issue_refund"}, "reply": {"text": "Refunded."}},
            {"when": {**tool, "after_tool": "add_note"}, "reply": {"text": "Already refunded."}},
            {
                "when": {
                    **tool,
                    "after_tool": "read_policy",
                    "tool_result": '"status": "delivered"',
                },
                "reply": _call("issue_refund", order_id=order),
            },
            {
                "when": {**tool, "after_tool": "read_policy"},
                "reply": _call("add_note", order_id=order, note="already refunded"),
            },
            {"when": tool, "reply": _call("read_policy")},
        ]
    correction: Any = {
        "wrong_result": right,
        "wrong_argument": _message("lookup_order", order_id=order),
        "skipped_policy": _message("read_policy"),
        "misread_turn": _message("add_note", order_id=order, note="customer declined"),
    }[kind]
    scenario = {
        "id": f"case-{i:02d}-{kind}",
        "input": turns if len(turns) > 1 else turns[0],
        "setup": {
            "sqlite": {
                "shop.db": {
                    "orders": [
                        {"id": order, "status": "delivered", "days_ago": days},
                        {"id": other, "status": "refunded", "days_ago": 5},
                    ],
                    "notes": [{"order_id": 0, "note": "seed"}],
                }
            },
            "files": {
                "cache.json": json.dumps(cache),
                "policy.md": "Refunds within 30 days of delivery; read before refunding.",
            },
        },
        "expectations": {
            "state": [
                {"sql": f"select status from orders where id = {order}", "rows": [[expected]]}
            ]
        },
    }
    return {
        "i": i,
        "kind": kind,
        "order": order,
        "scenario": scenario,
        "rules": rules,
        "planted": PLANTED[kind],
        "correction": correction,
    }


def blame(c: dict[str, Any], steps: int) -> dict[str, Any]:
    """What the scripted attributor says for a case (`steps`: how many the trace has)."""
    if c["i"] % 5 != 4:
        kind = "tool_result" if c["kind"] == "wrong_result" else "llm"
        return {
            "step": c["planted"],
            "kind": kind,
            "confidence": 0.8,
            "reason": "planted cause",
            "correction": c["correction"],
        }
    m = c["i"] // 5  # the wrong cases' modes rotate against the kinds, so every pairing occurs
    mode = WRONG_MODES[(m + m // 4) % len(WRONG_MODES)]
    order = c["order"]
    if mode == "symptom":
        return {
            "step": steps,
            "kind": "llm",
            "confidence": 0.6,
            "reason": "the final reply",
            "correction": f"I have refunded order {order}.",
        }
    if mode == "innocent":  # a read before or away from the cause, "corrected" harmlessly
        step = 5 if c["kind"] in ("wrong_result", "misread_turn") else 3
        fix = "Refunds need a manager's approval." if step == 5 else {"id": order, "note": "x"}
        return {
            "step": step,
            "kind": "tool_result",
            "confidence": 0.5,
            "reason": "an early read",
            "correction": fix,
        }
    if mode == "later_tool":  # the state-changing call that shows the failure
        step = {"wrong_result": 7, "wrong_argument": 7, "skipped_policy": 5, "misread_turn": 9}
        return {
            "step": step[c["kind"]],
            "kind": "tool_result",
            "confidence": 0.5,
            "reason": "the write",
            "correction": {"refunded": order},
        }
    # a later model decision that acted on the wrong data, "corrected" to the right action
    step = {"wrong_result": 6, "wrong_argument": 6, "skipped_policy": 6, "misread_turn": 10}
    return {
        "step": step[c["kind"]],
        "kind": "llm",
        "confidence": 0.5,
        "reason": "the decision",
        "correction": _message("issue_refund", order_id=order),
    }


def _attributor_rules(cases: list[dict[str, Any]], lengths: dict[int, int]) -> list[dict]:
    rules = []
    for c in cases:
        when = {"system": "costar's attributor", "conversation": f"case-{c['i']:02d}-"}
        rules.append({"when": {**when, "last_role": "user"}, "reply": _call("list_steps")})
        rules.append(
            {
                "when": {**when, "last_role": "tool"},
                "reply": _call("blame", **blame(c, lengths.get(c["i"], 1))),
            }
        )
    return rules


def wilson(k: int, n: int) -> list[float]:
    from costar.assess import wilson as interval

    low, high = interval(k, n)
    return [round(low, 3), round(high, 3)]


def synthetic() -> dict[str, Any]:
    import yaml

    from costar.assess import AssessConfig, assess
    from costar.config import load_settings
    from costar.explain import ExplainConfig, explain
    from costar.harness import RunConfig, run_suite
    from costar.llm import FakeLLM, close_clients
    from costar.traces import TraceStore
    from costar.traces._steps import trace_steps

    cases = [case(i) for i in range(N)]
    root = Path(tempfile.mkdtemp(prefix="costar-bench-attribution-"))
    try:
        shutil.copyfile(Path(__file__).parent / "_attribution_agent.py", root / "bench_agent.py")
        (root / "scenarios").mkdir()
        for c in cases:
            path = root / "scenarios" / f"{c['scenario']['id']}.yaml"
            path.write_text(yaml.safe_dump(c["scenario"], sort_keys=False))
        (root / "costar.toml").write_text(
            "[costar]\nsuite = 'scenarios'\nagent = 'bench_agent:BenchAgent'\nconcurrency = 2\n"
            "read_only = ['lookup_order', 'read_policy']\n"
        )
        agent_rules = [r for c in cases for r in c["rules"]]
        settings = load_settings(start=root)
        started = time.monotonic()
        with FakeLLM({"version": 1, "rules": agent_rules}) as fake:
            os.environ.update(fake.env("openai:/scripted"))
            summary = run_suite(RunConfig.from_settings(settings))
        close_clients()
        store = TraceStore(settings.store_uri())
        rows = store.run_traces(summary.run_id)
        views = {
            r.scenario_id: t
            for r, t in zip(rows, store.get_traces([r.trace_id for r in rows]), strict=True)
        }
        lengths = {}
        from costar.judges import TraceView

        for c in cases:
            view = TraceView.from_mlflow(views[c["scenario"]["id"]])
            lengths[c["i"]] = len(trace_steps(list(view.spans)))
        assess(
            AssessConfig(
                root=root,
                tracking_uri=settings.store_uri(),
                run_ids=[summary.run_id],
                judges=["final-state"],
                mirror=False,
            )
        )
        base = {
            "root": root,
            "tracking_uri": settings.store_uri(),
            "target": summary.run_id,
            "judges": ["final-state"],
            "read_only": settings.read_only,
        }
        anchor = explain(ExplainConfig(**base, agentic=False))
        script = {"version": 1, "rules": [*_attributor_rules(cases, lengths), *agent_rules]}
        with FakeLLM(script) as fake:
            os.environ.update(fake.env("openai:/scripted"))
            found = explain(ExplainConfig(**base, verify=True))
        close_clients()
        seconds = time.monotonic() - started
    finally:
        shutil.rmtree(root, ignore_errors=True)
    planted = {c["scenario"]["id"]: c["planted"] for c in cases}
    n = len(found.attributions)
    right = sum(a.step == planted[a.scenario_id] for a in found.attributions)
    base_right = sum(a.step == planted[a.scenario_id] for a in anchor.attributions)
    counts = found.counts
    confirmed_right = sum(
        a.status == "confirmed" and a.step == planted[a.scenario_id] for a in found.attributions
    )
    false_conf = counts["confirmed"] - confirmed_right
    wrong_modes = {
        WRONG_MODES[((c["i"] // 5) + (c["i"] // 5) // 4) % 4] + ":" + c["kind"]: next(
            a.status for a in found.attributions if a.scenario_id == c["scenario"]["id"]
        )
        for c in cases
        if c["i"] % 5 == 4
    }
    calls = sum(a.llm_calls for a in found.attributions)
    by_kind = {
        k: sum(a.status == "confirmed" for a in found.attributions if k in a.scenario_id)
        for k in KINDS
    }
    return {
        "cases": N,
        "failing_traces": n,
        "attributor_wrong_share": round(sum(1 for c in cases if c["i"] % 5 == 4) / N, 3),
        "step_accuracy": round(right / n, 3) if n else None,
        "step_accuracy_ci95": wilson(right, n),
        "anchor_deterministic_step_accuracy": round(base_right / n, 3) if n else None,
        "ratio_to_anchor": round(right / base_right, 2) if base_right else None,
        "confirmed_rate": round(counts["confirmed"] / n, 3) if n else None,
        "confirmed_rate_ci95": wilson(counts["confirmed"], n),
        "confirmed_of_right": round(confirmed_right / right, 3) if right else None,
        "refuted": counts["refuted"],
        "unverifiable": counts["unverifiable"],
        "false_confirmations": false_conf,
        "confirmed_by_kind": by_kind,
        "wrong_attributions": wrong_modes,
        "llm_calls_per_explanation": round(calls / n, 2) if n else None,
        "seconds": round(seconds, 1),
        "notes": found.notes[:3],
        "machine": machine(),
    }


def on_log(model: str, log: Path) -> dict[str, Any]:
    """The opt-in real-model path: accuracy against a labelled conversation log."""
    from costar.config import load_settings
    from costar.explain import ExplainConfig, explain
    from costar.importers import import_file
    from costar.traces import TraceStore

    root = Path(tempfile.mkdtemp(prefix="costar-bench-attribution-log-"))
    try:
        (root / "costar.toml").write_text("[costar]\n")
        settings = load_settings(start=root)
        done = import_file(
            "conversation",
            log.resolve(),
            root,
            settings.store_uri(),
            verdict_store=settings.verdict_url(),
        )
        found = explain(
            ExplainConfig(
                root=root, tracking_uri=settings.store_uri(), target=done.run_id, model=model
            )
        )
        store = TraceStore(settings.store_uri())
        tags = {
            t.info.trace_id: t.info.tags
            for t in store.get_traces([r.trace_id for r in store.run_traces(done.run_id)])
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    labelled = [a for a in found.attributions if "costar.label.mistake_step" in tags[a.trace_id]]
    agent_ok = sum(a.agent == tags[a.trace_id].get("costar.label.mistake_agent") for a in labelled)
    step_ok = sum(str(a.step) == tags[a.trace_id]["costar.label.mistake_step"] for a in labelled)
    n = len(labelled)
    return {
        "model": model,
        "log": str(log),
        "explained": n,
        "agent_accuracy": round(agent_ok / n, 3) if n else None,
        "agent_accuracy_ci95": wilson(agent_ok, n),
        "step_accuracy": round(step_ok / n, 3) if n else None,
        "step_accuracy_ci95": wilson(step_ok, n),
        "llm_calls_per_explanation": round(sum(a.llm_calls for a in labelled) / n, 2)
        if n
        else None,
        "machine": machine(),
    }


def main() -> None:
    args = sys.argv[1:]
    if "--model" in args:
        model = args[args.index("--model") + 1]
        if "--log" not in args:
            sys.exit("bench/attribution.py: --model needs --log FILE (a labelled conversation log)")
        log = Path(args[args.index("--log") + 1])
        finish(on_log(model, log))
        return
    figures = synthetic()
    print(
        f"step accuracy {figures['step_accuracy']} (deterministic anchor "
        f"{figures['anchor_deterministic_step_accuracy']}); confirmed "
        f"{figures['confirmed_rate']}; false confirmations {figures['false_confirmations']}",
        file=sys.stderr,
    )
    finish(figures)


if __name__ == "__main__":
    main()
