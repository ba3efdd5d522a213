"""`costar label`: the golden set, labelled by people in the browser."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer

from costar.cli._options import Experiment, JsonFlag, TrackingUri, assess_config, load_settings
from costar.cli._output import cannot_listen, emit_json


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
        typer.Option(
            "--labeller", help="Who is labelling (default: the labeller setting, else your login)."
        ),
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
    from costar.align import GoldenSet, export_labels, import_labels, label_judges
    from costar.align import suggest as rank_traces
    from costar.traces import TraceStore

    settings = load_settings(tracking_uri=tracking_uri, experiment=experiment, labeller=labeller)
    who = settings.labeller or getpass.getuser()
    config = assess_config(settings)
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
    judges = label_judges(config, judge)
    focus = judges[0].name if len(judges) == 1 else None
    ranked = rank_traces(config, run_id, focus, suggest or 1_000_000, samples, settings.judge_pairs)
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
        cannot_listen(port, exc)
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
