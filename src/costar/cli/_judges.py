"""`costar judges`: list the project's judges and measure how far to trust them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from costar._exceptions import ExitCode
from costar.cli._options import (
    Experiment,
    JsonFlag,
    TrackingUri,
    assess_config,
    load_settings,
    open_store,
)
from costar.cli._output import emit_json, exit_code
from costar.cli._render import console, table


def judges_list(as_json: JsonFlag = False) -> None:
    """The project's judges: defaults plus judges/*.yaml and judges/*.py, with versions."""
    from costar.judges import describe, load_judges

    settings = load_settings()
    rows = describe(load_judges(settings.root, settings.judges))
    if as_json:
        emit_json(rows)
        return
    grid = table("judges", ["name"], ["kind", "version", "uses", "params"])
    for r in rows:
        grid.add_row(
            r["name"] + (" (opt-in)" if r["opt_in"] else ""),
            r["kind"],
            r["version"],
            r["uses"],
            json.dumps(r["params"]) if r["params"] else "",
        )
    console().print(grid)


def judges_consistency(
    run_id: Annotated[str, typer.Argument(help="Run whose traces to re-judge.")],
    judge_name: Annotated[str, typer.Option("--judge", "-j", help="The judge to sample.")],
    k: Annotated[int, typer.Option("-k", help="Samples per trace.")] = 5,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Score each trace k times with one judge (nothing stored): how often its samples agree.

    Separates judge noise from agent noise before anyone trusts an LLM judge's pass rate.
    """
    from dataclasses import asdict

    from costar.assess import self_consistency
    from costar.judges import load_judges
    from costar.scenarios import load_suite
    from costar.traces import TraceCache

    settings, store = open_store(tracking_uri, experiment)
    info = store.get_run(run_id)
    (judge,) = load_judges(settings.root, settings.judges, only=[judge_name])
    suite = info.params.get("suite")
    outside = settings.allow_outside_fixtures
    scenarios = (
        {
            s.id: s.scenario
            for s in load_suite(
                suite, allow_outside_fixtures=outside, include_drafts=True
            ).scenarios
        }
        if suite
        else {}
    )
    cache = TraceCache.in_project(settings.root)
    result = self_consistency(store, cache, info.run_id, judge, scenarios, k)
    if as_json:
        emit_json(asdict(result))
        return
    typer.echo(
        f"{result.judge}: {result.traces} traces x {k} samples: unanimous on "
        f"{result.unanimous:.0%}, pairwise agreement {result.pairwise:.0%}, "
        f"{result.errors} judge errors"
    )
    for trace_id in result.split[:10]:
        typer.echo(f"  samples disagree on {trace_id}")


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"


def _print_agreement(a: Any, detail: bool) -> None:
    if a.numeric:
        typer.echo(
            f"{a.judge}: n={a.n}  MAE {_fmt(a.mae)}  Spearman {_fmt(a.spearman)}"
            f"  exact {a.accuracy:.0%}  unscored {a.unscored}"
        )
    else:
        ci = f" [{a.kappa_ci[0]:.2f}, {a.kappa_ci[1]:.2f}]" if a.kappa_ci else ""
        acc = f"{a.accuracy:.0%}" if a.accuracy is not None else "-"
        typer.echo(
            f"{a.judge}: n={a.n}  accuracy {acc}  kappa {_fmt(a.kappa)}{ci}  unscored {a.unscored}"
        )
    if not detail:
        return
    if a.confusion:
        cats = sorted({c for row in a.confusion.values() for c in row} | set(a.confusion))
        typer.echo("  confusion (rows: human, columns: judge): " + "  ".join(cats))
        for h in cats:
            typer.echo(
                f"    {h:>6}: " + "  ".join(str(a.confusion.get(h, {}).get(j, 0)) for j in cats)
            )
    for sid, s in sorted(a.per_scenario.items()):
        typer.echo(f"  scenario {sid}: {s['agree']}/{s['n']} agree")
    for p in a.disagreements[:10]:
        typer.echo(
            f"  disagree {p.trace_id} ({p.scenario_id}): human {_word(p.human)}, judge "
            f"{_word(p.judge)} - {p.rationale[:120]}"
        )


def _word(value: Any) -> str:
    return ("pass" if value else "fail") if isinstance(value, bool) else str(value)


def judges_agreement(
    judge: Annotated[
        str | None, typer.Argument(help="One judge (default: every labelled judge).")
    ] = None,
    rescore: Annotated[
        bool, typer.Option("--rescore", help="Score afresh instead of using stored verdicts.")
    ] = False,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """How well judges agree with the golden set: accuracy, Cohen's kappa with a bootstrap 95%
    interval, the confusion matrix, per-scenario agreement and the disagreements (MAE and
    Spearman's rho for numeric judges)."""
    from costar.align import measure

    config = assess_config(load_settings(tracking_uri=tracking_uri, experiment=experiment))
    report = measure(config, [judge] if judge else None, cached=not rescore)
    if as_json:
        emit_json(report.to_json())
        return
    if not report.agreements:
        typer.echo("no labels yet for these judges: label traces with `costar label`")
    for a in report.agreements:
        _print_agreement(a, detail=True)
        if report.conflicts.get(a.judge):
            typer.echo(
                f"  {len(report.conflicts[a.judge])} traces with conflicting labels "
                "(left out): " + ", ".join(report.conflicts[a.judge][:5])
            )
    for name in report.unknown_judges:
        typer.echo(f"labels for {name!r}, which is not a judge of this project (renamed?)")


def judges_check(
    judge: Annotated[
        list[str] | None, typer.Option("--judge", "-j", help="Only these judges.")
    ] = None,
    min_kappa: Annotated[
        float | None,
        typer.Option("--min-kappa", help="Threshold (default: min_kappa in costar.toml, 0.6)."),
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-score the golden set with the current judge versions and models (fresh, not cached)
    and exit 1 when a labelled judge's kappa is below the threshold. For CI: it catches a
    judge that drifted after a model upgrade or a prompt edit."""
    from costar.align import measure

    settings = load_settings(tracking_uri=tracking_uri, experiment=experiment)
    report = measure(assess_config(settings), judge or None, cached=False)
    threshold = settings.min_kappa if min_kappa is None else min_kappa
    failing = report.below(threshold)
    if as_json:
        emit_json(
            {
                "threshold": threshold,
                "failing": failing,
                "agreements": [a.to_json() for a in report.agreements],
            }
        )
    else:
        for a in report.agreements:
            _print_agreement(a, detail=False)
        if not report.agreements:
            typer.echo("costar: no labelled judge to check: label traces with `costar label`")
        elif failing:
            typer.echo(f"FAIL: below kappa {threshold} (or undefined): {', '.join(failing)}")
        else:
            typer.echo(f"ok: every labelled judge has kappa >= {threshold}")
    if failing or not report.agreements:
        exit_code(ExitCode.FINDINGS)
