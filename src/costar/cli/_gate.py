"""`costar gate`, `costar ci` and `costar plan`: may the candidate ship, on how many trials."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from costar._exceptions import ExitCode, UsageError
from costar.cli._options import (
    Experiment,
    JsonFlag,
    TrackingUri,
    assess_config,
    load_settings,
    open_store,
)
from costar.cli._output import echo_changes, emit_json, exit_code
from costar.cli._render import console, table


def _echo_gate(result: Any) -> None:
    from costar.gate import lines

    for line in lines(result):
        typer.echo(line)


def gate(
    baseline: Annotated[str, typer.Option("--baseline", "-b", help="The baseline run id.")],
    candidate: Annotated[str, typer.Option("--candidate", "-c", help="The candidate run id.")],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Gate policy YAML (see costar.gate).")
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write JUnit XML (scenario x judge cases).")
    ] = None,
    markdown_file: Annotated[
        Path | None, typer.Option("--markdown", help="Write a Markdown summary for a PR comment.")
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """May the candidate ship? Exit 0 if yes, 1 with the reasons if not.

    Uses the runs' verdicts (run `costar assess` on both first). The runs must be of one
    suite and share every scenario of the baseline. Each gated judge is then pass, regression
    or inconclusive (the data cannot tell; warns by default); the false-alarm level (0.05)
    holds for the whole gate (Holm). Also minimum pass rates, metric increase limits and judge
    error rates, as the policy says.
    """
    from costar.assess import VerdictStore
    from costar.gate import dependency_changes, evaluate, junit_xml, load_policy
    from costar.gate import markdown as render_markdown

    rules = load_policy(policy)
    settings, store = open_store(tracking_uri, experiment)
    base, cand = store.get_run(baseline), store.get_run(candidate)
    verdict_store = VerdictStore(settings.verdict_url())
    base_v, cand_v = verdict_store.for_run(base.run_id), verdict_store.for_run(cand.run_id)
    for name, run, found in (("baseline", base, base_v), ("candidate", cand, cand_v)):
        if not found:
            raise UsageError(
                f"the {name} run {run.run_id[:12]} has no verdicts; run "
                f"`costar assess {run.run_id[:12]}` first"
            )
    result = evaluate(base_v, cand_v, rules, (base, cand))
    changes = dependency_changes(base, cand)
    if junit:
        gated = set(rules.judges) if rules.judges else None
        junit.write_text(junit_xml(cand_v, gated, result), encoding="utf-8")
    if markdown_file:
        markdown_file.write_text(
            render_markdown(result, base.run_id, cand.run_id, changes), encoding="utf-8"
        )
    if as_json:
        emit_json(result.to_json(changes))
    else:
        _echo_gate(result)
        echo_changes(changes)
    if not result.passed:
        exit_code(ExitCode.FINDINGS)


def ci_command(
    suite: Annotated[
        Path | None, typer.Argument(help="Suite folder (default: costar.toml).")
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="Agent under test.")] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            "-b",
            help="Baseline run id, or 'previous' for the newest finished earlier run "
            "of the same suite; without it only the policy's absolute rules apply.",
        ),
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", "-n", help="Trials per scenario.")
    ] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Gate policy YAML.")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML.")] = None,
    markdown_file: Annotated[
        Path | None, typer.Option("--markdown", help="Write a Markdown summary.")
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the suite, assess the run and gate it, in one step (for CI). Exit 0 pass, 1 fail."""
    from costar.ci import ci
    from costar.gate import junit_xml, load_policy
    from costar.gate import markdown as render_markdown
    from costar.harness import RunConfig

    rules = load_policy(policy)
    settings = load_settings(tracking_uri=tracking_uri, experiment=experiment)
    run_config = RunConfig.from_settings(
        settings, suite=str(suite.resolve()) if suite else None, agent=agent, trials=trials
    )
    result = ci(run_config, assess_config(settings), rules, baseline, settings.verdict_url())
    if junit:
        from costar.assess import VerdictStore

        cand = VerdictStore(settings.verdict_url()).for_run(result.run.run_id)
        junit.write_text(junit_xml(cand, set(rules.judges) if rules.judges else None, result.gate))
    if markdown_file:
        markdown_file.write_text(
            render_markdown(
                result.gate,
                result.baseline_id or "(none)",
                result.run.run_id,
                result.dependency_changes,
            )
        )
    if as_json:
        emit_json(result.to_json())
    else:
        typer.echo(
            f"run {result.run.run_id}: {result.run.ok} ok, {result.run.error} error, "
            f"{result.run.timeout} timeout; {result.assessed.scored} verdicts"
        )
        _echo_gate(result.gate)
        echo_changes(result.dependency_changes)
    if result.run.status == "interrupted":
        exit_code(ExitCode.INTERRUPTED)
    if not result.gate.passed:
        exit_code(ExitCode.FINDINGS)


def plan(
    run_id: Annotated[
        str | None, typer.Argument(help="Run whose pass rates to plan from (default: newest).")
    ] = None,
    effect: Annotated[
        float, typer.Option("--effect", help="The drop in pass rate to detect, e.g. 0.15.")
    ] = 0.15,
    alpha: Annotated[
        float, typer.Option("--alpha", help="False-alarm level of the whole gate.")
    ] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Chance to decide.")] = 0.8,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Gate policy YAML: plan its gated judges.")
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Trials per scenario with which the gate decides a drop of --effect (finds it, or rules
    it out when nothing changed) with 80% power, per judge, from a run's pass rates. The
    level --alpha is shared by the gated judges (Holm), as in `costar gate`."""
    from dataclasses import asdict

    from costar.assess import VerdictStore
    from costar.gate import load_policy, plan_trials

    rules = load_policy(policy) if policy else None
    settings, store = open_store(tracking_uri, experiment)
    run = store.resolve_run(run_id)
    found = VerdictStore(settings.verdict_url()).for_run(run.run_id)
    rows = plan_trials(found, effect, alpha, power, rules.judges if rules else None)
    if as_json:
        emit_json(
            {
                "run_id": run.run_id,
                "effect": effect,
                "alpha": alpha,
                "power": power,
                "judges": [asdict(r) for r in rows],
            }
        )
        return
    grid = table(
        f"trials per scenario to decide a {effect:.0%} drop (power {power:.0%}, "
        f"alpha {alpha} shared by {len(rows)} judge(s))",
        ["judge"],
        ["scenarios", "pass rate now", "trials needed"],
    )
    for r in rows:
        grid.add_row(
            r.judge,
            str(r.scenarios),
            f"{r.mean_rate:.0%}",
            str(r.trials) if r.trials else "over 1000: add scenarios",
        )
    console().print(grid)
