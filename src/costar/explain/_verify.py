"""The counterfactual check of an attribution: replay the trial up to the attributed step,
substitute the correction the attributor proposed, continue live, and re-judge.

Through the harness's public API only: a new run of the one scenario, `trials` times, with
ReplayConfig serving the recorded tool results and model calls of steps before the attributed
one (`models`: calls through costar.llm), the correction at that step, and everything after it
live. Only model calls and read-only tools (the project's and the scenario's `read_only`) are
served: a tool that changes state runs again with the same arguments, so the final state is
rebuilt, not skipped; and a state-changing tool's result is never substituted (that would drop
its effect on the state, which is what a final-state check reads). The attribution is confirmed
when the judge passes every counterfactual trial, refuted when any still fails, and
unverifiable when the step cannot be substituted (a user turn, the final reply, no correction, a
correction equal to what was recorded, an imported trial, or an agent that never reached the
step under replay) or a counterfactual trial did not finish.

What confirmation shows: the correction at this step is sufficient to fix the failure, which
alone does not show the step is the earliest cause: a later model decision that acted on an
earlier wrong result, "corrected" with hindsight, flips the verdict too. So before any replay,
costar.explain._hindsight refuses a correction that carries facts the agent had not seen at the
step, and an attribution after a model decision that called a tool with facts it had not seen
(the earlier cause, named in `earlier_step`): both are unverifiable, never confirmed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from costar.explain._hindsight import hindsight
from costar.explain._model import Attribution, Verification
from costar.judges import Judge
from costar.traces import TraceStep, TraceStore, TraceView, canonical

SUBSTITUTED = "costar.replay.substituted"


def _unverifiable(reason: str) -> Verification:
    return Verification(status="unverifiable", reason=reason)


def _message(fix: Any, step: TraceStep) -> Any:
    """The correction as the step would have produced it: an assistant message for a model call."""
    if step.kind == "llm" and not isinstance(fix, dict):
        return {"role": "assistant", "content": str(fix)}
    return fix


def _substitute(attribution: Attribution, step: TraceStep) -> Any:
    """The Substitute for the step, or a reason it cannot be made."""
    from costar.harness import Substitute

    fix = attribution.correction
    if fix is None:
        return "the attributor proposed no correction"
    if step.kind == "llm":
        message = fix if isinstance(fix, dict) else {"role": "assistant", "content": str(fix)}
        if canonical(message.get("content")) == canonical((step.outputs or {}).get("content")) and (
            canonical(message.get("tool_calls"))
            == canonical((step.outputs or {}).get("tool_calls"))
        ):
            return "the correction is what the model replied"
        return Substitute(result={"role": "assistant", **message})
    if isinstance(fix, dict) and set(fix) <= {"result", "error"} and fix:
        result, error = fix.get("result"), fix.get("error")
    else:
        result, error = fix, None
    if canonical(result) == canonical(step.outputs) and error == step.error:
        return "the correction is what the tool returned"
    return Substitute(result=result, error=error)


def verify(
    attribution: Attribution,
    view: TraceView,
    steps: list[TraceStep],
    judge: Judge,
    root: Path,
    tracking_uri: str,
    experiment: str,
    verdict_store: str | None,
    trials: int = 1,
    timeout: float = 120.0,
    read_only: list[str] | None = None,
) -> Verification:
    """Run the counterfactual; see the module docstring."""
    from costar.assess import AssessConfig, score_traces
    from costar.harness import ReplayConfig, RunConfig, run_suite

    if attribution.step is None or attribution.kind is None:
        return _unverifiable("no step was attributed")
    if attribution.kind == "user_turn":
        return _unverifiable("a user turn cannot be substituted (the user is not replayed)")
    if attribution.correction is None:
        return _unverifiable("the attributor proposed no correction")
    by_index = {s.index: s for s in steps}
    step = by_index.get(attribution.step)
    if step is None:
        return _unverifiable(f"the trace has no step {attribution.step}")
    if attribution.kind == "tool_call" and step.kind == "tool":
        # a wrong call is corrected where it was made: the model decision before it
        fix = attribution.correction
        decision = next((s for s in reversed(steps[: steps.index(step)]) if s.kind == "llm"), None)
        if decision is None or not (isinstance(fix, dict) and {"role", "tool_calls"} & set(fix)):
            return _unverifiable(
                "a wrong call is corrected at the model decision that made it: the correction "
                "must be the assistant message that decision should have sent"
            )
        step = decision
    later = [s for s in steps if s.index > step.index and s.kind != "user_turn"]
    if step.kind == "llm" and not later:
        return _unverifiable("the final reply is the symptom; a cause comes before it")
    unfair = hindsight(steps, step, _message(attribution.correction, step))
    if unfair is not None:
        return Verification(status="unverifiable", reason=unfair[0], earlier_step=unfair[1])
    store = TraceStore(tracking_uri, experiment)
    run = store.get_run(view.run_id)
    agent, suite = run.params.get("agent"), run.params.get("suite")
    if (
        not agent
        or not suite
        or str(agent).startswith("imported:")
        or view.tags.get("costar.imported")
    ):
        return _unverifiable("the trial was imported: there is no agent to replay")
    safe = sorted(set(read_only or []))
    if step.kind == "tool" and step.name not in safe:
        return _unverifiable(
            f"{step.name} is not declared read-only (read_only in costar.toml or the scenario): "
            "substituting its result would drop its effect on the state"
        )
    substitute = _substitute(attribution, step)
    if isinstance(substitute, str):
        return _unverifiable(substitute)
    config = RunConfig(
        root=root,
        suite=Path(suite),
        agent=agent,
        scenarios=[view.scenario_id],
        trials=trials,
        concurrency=1,
        timeout=timeout,
        tracking_uri=tracking_uri,
        experiment=experiment,
        name=f"counterfactual {view.trace_id[:14]} step {step.index}",
        include_drafts=True,
        replay=ReplayConfig(
            run_id=run.run_id,
            models=True,
            tools=safe,
            serve_tools=bool(safe),
            trial=view.trial,
            until_step=step.index - 1,
            substitutions={step.index: substitute},
        ),
    )
    summary = run_suite(config)
    rows = store.run_traces(summary.run_id)
    ids = [r.trace_id for r in rows]
    done = Verification(
        status="unverifiable", reason="", run_id=summary.run_id, trials=len(ids), trace_ids=ids
    )
    if len(ids) < trials or any(r.status != "ok" for r in rows):
        done.reason = (
            f"{sum(r.status != 'ok' for r in rows)} of {trials} counterfactual trials "
            "did not finish"
        )
        return done
    new_views = store.views(ids)
    reached = sum(any(s.attributes.get(SUBSTITUTED) for s in v.spans) for v in new_views)
    if reached < len(new_views):
        done.reason = (
            f"the agent did not reach step {step.index} under replay in "
            f"{len(new_views) - reached} of {len(new_views)} trials"
        )
        return done
    assess = AssessConfig(
        root=root,
        tracking_uri=tracking_uri,
        experiment=experiment,
        verdict_store=verdict_store,
        mirror=False,
    )
    verdicts = score_traces(assess, ids, [judge], cached=False)
    scored = [v for v in verdicts if v.status == "ok" and v.passed is not None]
    done.passed = sum(1 for v in scored if v.passed)
    if len(scored) < len(ids):
        done.reason = f"the judge could not score {len(ids) - len(scored)} counterfactual trials"
        return done
    if done.passed == len(ids):
        done.status = "confirmed"
        done.reason = (
            f"with step {step.index} corrected, {judge.name} passed {done.passed} of "
            f"{len(ids)} trials (it failed the recorded one)"
        )
    else:
        done.status = "refuted"
        done.reason = (
            f"with step {step.index} corrected, {judge.name} still failed "
            f"{len(ids) - done.passed} of {len(ids)} trials"
        )
    return done
