"""The judge loop's commands: `costar label`, `costar align`, `costar judges agreement|check`."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from costar._exceptions import CostarError, ExitCode
from costar.cli._app import (
    Experiment,
    JsonFlag,
    TrackingUri,
    _assess_config,
    _settings,
    app,
    judges_app,
    progress_printer,
)
from costar.cli._output import emit_json, exit_code, fail


def _config(tracking_uri: str | None, experiment: str | None) -> tuple[Any, Any]:
    settings = _settings(tracking_uri=tracking_uri, experiment=experiment)
    return settings, _assess_config(settings)


def _label_judges(config: Any, names: list[str] | None) -> list[Any]:
    from costar.judges import load_judges

    judges = load_judges(config.root, config.judge_paths, names or None)
    if names:
        return judges
    llm = [j for j in judges if j.kind in ("llm", "agentic")]
    return llm or [j for j in judges if j.kind == "check"]


@app.command()
def label(
    run_id: Annotated[
        str | None, typer.Argument(help="Run whose traces to label (default: the newest).")
    ] = None,
    judge: Annotated[
        list[str] | None,
        typer.Option("--judge", "-j", help="Judge to label for (repeat; default: the LLM judges)."),
    ] = None,
    labeller: Annotated[
        str | None,
        typer.Option("--labeller", help="Who is labelling (default: $COSTAR_LABELLER or login)."),
    ] = None,
    suggest: Annotated[
        int | None,
        typer.Option(
            "--suggest",
            help="Queue only the N unlabelled traces a label would help most (judge "
            "uncertainty, judges that should agree but do not, scenarios with no labels).",
        ),
    ] = None,
    samples: Annotated[
        int,
        typer.Option(
            "--samples",
            help="With --suggest: score each trace K times to measure "
            "the judge's uncertainty (LLM calls; nothing stored).",
        ),
    ] = 0,
    list_only: Annotated[
        bool, typer.Option("--list", help="Print the queue with reasons; do not serve.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free).")] = 0,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
    import_file: Annotated[
        Path | None,
        typer.Option("--import", help="Add labels from a .jsonl or .csv file, then exit."),
    ] = None,
    export_file: Annotated[
        Path | None,
        typer.Option("--export", help="Write every label to a .jsonl or .csv file, then exit."),
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Label traces in the browser: the golden set that judges are measured against.

    Serves a page on 127.0.0.1 that needs the printed token. It shows each trace as a person
    reads it (conversation, tool calls with arguments and results, final state); the judge's
    verdict appears only after you answer. Keys: p pass, f fail, r rationale, Enter save,
    j/k next/previous. Labels are MLflow Feedback with source HUMAN; --export and --import
    move them as JSONL or CSV. Stop with Ctrl-C.
    """
    from costar.align import GoldenSet, export_labels, import_labels
    from costar.align._suggest import suggest as rank_traces
    from costar.traces import TraceStore

    who = labeller or os.environ.get("COSTAR_LABELLER") or getpass.getuser()
    try:
        settings, config = _config(tracking_uri, experiment)
        golden = GoldenSet(TraceStore(config.tracking_uri, config.experiment))
        if import_file is not None:
            imported = import_labels(import_file, labeller=who)
            golden.check_traces(imported, import_file)
            count = golden.add(imported)
            _done(
                {"imported": count, "file": str(import_file)},
                as_json,
                f"imported {count} labels from {import_file}",
            )
            return
        if export_file is not None:
            labels = golden.labels()
            if judge:
                labels = [lb for lb in labels if lb.judge in judge]
            count = export_labels(labels, export_file)
            _done(
                {"exported": count, "file": str(export_file)},
                as_json,
                f"exported {count} labels to {export_file}",
            )
            return
        judges = _label_judges(config, judge)
        focus = judges[0].name if len(judges) == 1 else None
        ranked = rank_traces(
            config, run_id, focus, suggest or 1_000_000, samples, settings.judge_pairs
        )
    except CostarError as exc:
        fail(exc)
    queue = [
        {"trace_id": s.trace_id, "scenario_id": s.scenario_id, "reasons": s.reasons} for s in ranked
    ]
    if list_only or as_json:
        if as_json:
            emit_json({"judges": [j.name for j in judges], "queue": queue})
        else:
            for i, q in enumerate(queue, 1):
                typer.echo(f"{i:3}. {q['trace_id']}  {q['scenario_id']}")
                for reason in q["reasons"]:
                    typer.echo(f"       {reason}")
        return
    _serve(config, judges, queue, who, port, open_browser)


def _done(data: dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        emit_json(data)
    else:
        typer.echo(line)


def _serve(config: Any, judges: list[Any], queue: list[dict], who: str, port: int, show: bool):
    import time
    import webbrowser

    from costar.web import LabelServer, LabelSession

    if not queue:
        typer.echo("nothing to label: every trace of the run has a label (or the run is empty)")
        return
    try:
        server = LabelServer(LabelSession(config, judges, queue, who), port=port).start()
    except OSError as exc:
        typer.echo(f"costar: error: cannot listen on 127.0.0.1:{port}: {exc}", err=True)
        exit_code(ExitCode.USAGE)
    typer.echo(f"labelling {len(queue)} traces for {', '.join(j.name for j in judges)} as {who}")
    typer.echo(f"open {server.url}")
    typer.echo("(the token in the address is required; Ctrl-C stops)")
    if show:
        webbrowser.open(server.url)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
        typer.echo("stopped; every saved label is in the store")


@app.command()
def align(
    judge: Annotated[str, typer.Argument(help="The LLM judge to align (guidelines or agentic).")],
    optimizer: Annotated[
        str,
        typer.Option(
            "--optimizer",
            "-o",
            help="memalign (distils guidelines), gepa or simba "
            "(rewrite the instructions); all through MLflow's judge.align.",
        ),
    ] = "memalign",
    folds: Annotated[int, typer.Option("--folds", "-k", min=2, help="Cross-validation folds.")] = 3,
    model: Annotated[
        str | None, typer.Option("--model", help="The optimizer's model (default: the judge's).")
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option("--budget", help="gepa: max metric calls; simba: max steps."),
    ] = None,
    embedding_model: Annotated[
        str | None, typer.Option("--embedding-model", help="memalign's embedding model.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Measure only; never write the aligned judge.")
    ] = False,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Align an LLM judge to the golden set, keeping it only if held-out agreement rises.

    k-fold cross-validation: for each fold the optimizer learns from the other folds' labels
    and the held-out fold is scored before and after. When pooled held-out agreement (kappa)
    rises, the judge is aligned on every label and written to judges/aligned/JUDGE.yaml (review
    it in git; delete it to go back). Otherwise nothing changes and the reason is printed.
    Exit 0 accepted, 1 rejected. Re-score past runs with `costar assess RUN --judge JUDGE`.
    """
    from costar.align import align_judge

    try:
        _, config = _config(tracking_uri, experiment)
        say = progress_printer(as_json)
        result = align_judge(
            config,
            judge,
            optimizer,
            folds,
            model,
            budget,
            embedding_model,
            write=not dry_run,
            progress=say,
        )
    except CostarError as exc:
        fail(exc)
    if as_json:
        emit_json(result.to_json())
    else:
        for f in result.folds:
            typer.echo(
                f"fold {f.fold}: train {f.train}, test {f.test}: "
                f"{_fmt(f.before.score)} -> {_fmt(f.after.score)}; {f.change}"
            )
        typer.echo(result.reason)
        if result.path:
            typer.echo(f"aligned judge written to {result.path} (version {result.new_version})")
    if not result.accepted:
        exit_code(ExitCode.FINDINGS)


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


@judges_app.command("agreement")
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
    from costar.align._measure import measure

    try:
        _, config = _config(tracking_uri, experiment)
        report = measure(config, [judge] if judge else None, cached=not rescore)
    except CostarError as exc:
        fail(exc)
    if as_json:
        emit_json(
            {
                "agreements": [a.to_json() for a in report.agreements],
                "conflicts": report.conflicts,
                "unknown_judges": report.unknown_judges,
            }
        )
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


@judges_app.command("check")
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
    from costar.align._measure import measure

    try:
        settings, config = _config(tracking_uri, experiment)
        report = measure(config, judge or None, cached=False)
    except CostarError as exc:
        fail(exc)
    threshold = settings.min_kappa if min_kappa is None else min_kappa
    failing = []
    for a in report.agreements:
        figure = a.spearman if a.numeric else a.kappa
        if figure is None or figure < threshold:
            failing.append(a.judge)
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
