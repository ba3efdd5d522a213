"""`costar report`: per-judge pass rates with intervals, and a paired comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from costar._exceptions import UsageError
from costar.cli._options import Experiment, JsonFlag, TrackingUri, open_store
from costar.cli._output import echo_changes, emit_json
from costar.cli._render import console, keep_cells_whole, listed_below, pct, table


def report(
    run_id: Annotated[
        str | None, typer.Argument(help="Run id (or a unique prefix); default: the newest run.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", "-b", help="Compare with this run, paired.")
    ] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report.")
    ] = None,
    coverage_of: Annotated[
        str | None,
        typer.Option(
            "--coverage",
            help="Add coverage of this production experiment to the HTML report.",
        ),
    ] = None,
    ui_url: Annotated[
        str, typer.Option("--ui-url", help="MLflow UI address for the report's trace links.")
    ] = "http://127.0.0.1:5000",
    history_runs: Annotated[
        int | None,
        typer.Option(
            "--history",
            metavar="N",
            help="The suite's last N assessed runs instead (up to RUN): pass rates, metric "
            "medians and p90, outliers and dependency changes per run.",
        ),
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Per judge: pass rate with its 95% interval, pass^k, flaky scenarios, judge errors,
    metric median and p90; with --baseline, a paired comparison by scenario.

    --html writes one self-contained file: every failing verdict opens its trace's transcript
    in place with the cited evidence highlighted, and with --baseline each regressed scenario
    shows a baseline and a candidate trace side by side with a diff.

    --history N reports the suite's last N assessed runs instead: per judge the pass rate of
    each run with its interval, per metric the median and p90 of each run, the runs holding an
    outlier (the monitor's robust rule) and those whose dependencies changed; as sparklines
    here, as interactive plots with --html (needs the plots extra: pip install
    'costar[plots]').
    """
    from dataclasses import asdict

    from costar.assess import VerdictStore, compare_runs, simulator_faults, summarise
    from costar.gate import dependency_changes

    settings, store = open_store(tracking_uri, experiment)
    verdict_store = VerdictStore(settings.verdict_url())
    if history_runs is not None:
        _history(settings, store, verdict_store, run_id, history_runs, html_file, as_json)
        return
    run = store.resolve_run(run_id)
    found = verdict_store.for_run(run.run_id)
    base = store.get_run(baseline) if baseline else None
    base_found = verdict_store.for_run(base.run_id) if base else []
    if not found:
        raise UsageError(
            f"run {run.run_id} has no verdicts; run `costar assess {run.run_id}` first"
        )
    summary = summarise(found)
    faults = simulator_faults(found)
    deltas = compare_runs(base_found, found) if base else {}
    if html_file:
        from costar.report import ReportInput, load_views, render_html, simulator_section

        sections = [simulator_section(faults)] if faults else []
        if coverage_of:
            from costar.cli._coverage import coverage_config
            from costar.discover import coverage
            from costar.report import coverage_section

            sections.append(coverage_section(coverage(coverage_config(settings, coverage_of))))
        data = ReportInput(
            run_id=run.run_id,
            run_name=run.name,
            agent=run.params.get("agent", ""),
            agent_version=run.params.get("agent_version", ""),
            summary=summary,
            verdicts=found,
            baseline_id=base.run_id if base else None,
            deltas=deltas or None,
            ui_url=ui_url,
            experiment_id=store.experiment_id,
            redact=settings.redact,
            baseline_verdicts=base_found,
            sections=sections,
        )
        data.views = load_views(store, data.shown_traces())
        html_file.write_text(render_html(data), encoding="utf-8")
    if as_json:
        emit_json(
            {
                "run_id": run.run_id,
                "baseline": base.run_id if base else None,
                "judges": {k: asdict(v) for k, v in summary.items()},
                "comparison": {k: asdict(v) for k, v in deltas.items()},
                "dependency_changes": dependency_changes(base, run) if base else [],
                "simulator_faults": asdict(faults) if faults else None,
            }
        )
        return
    out = console()
    for part in report_tables(
        run.run_id, summary, deltas, base.run_id if base else None, out.width
    ):
        out.print(part)
    if faults:
        out.print(faults.line(), soft_wrap=True, markup=False)
        for t in faults.trials:
            out.print(
                f"  simulator fault: {t['scenario_id']}#{t['trial']}: {t['why'][:160]}",
                markup=False,
            )
    if base:
        echo_changes(dependency_changes(base, run))


def _history(
    settings: Any,
    store: Any,
    verdict_store: Any,
    run_id: str | None,
    last: int,
    html_file: Path | None,
    as_json: bool,
) -> None:
    from costar.report import history, history_renderables

    found = history(store, verdict_store, last, run_id)
    if html_file:
        try:
            from costar.report import render_history_html

            page = render_history_html(found, settings.redact)
        except ImportError as exc:
            raise UsageError(
                f"the history plots need plotly ({exc}): pip install 'costar[plots]'"
            ) from exc
        html_file.write_text(page, encoding="utf-8")
    if as_json:
        emit_json(found.to_json())
        return
    out = console()
    for part in history_renderables(found):
        out.print(part)
    if html_file:
        out.print(f"history report written to {html_file.resolve()}", soft_wrap=True)


WIDE = 120  # below this terminal width, the lists of scenarios move under the tables


def report_tables(
    run_id: str, summary: dict, deltas: dict, baseline: str | None, width: int = WIDE
) -> list[Any]:
    """The report's tables (verdicts per judge; the comparison with a baseline), fitted to
    `width`: judge names never wrap; under WIDE columns the scenario lists (flaky, regressed,
    fixed) are printed below each table instead of in it."""
    wide = width >= WIDE
    lists = ["flaky"] if wide else []
    narrow = {} if wide else {"collapse_padding": True, "show_edge": False}
    grid = table(
        f"run {run_id}: verdicts per judge",
        ["judge"],
        ["pass rate [95% CI]", "pass^k", *lists, "errors", "median / p90"],
        **narrow,
    )
    flaky = []
    for name, s in sorted(summary.items()):
        rate = "" if s.rate is None else f"{pct(s.rate)} [{pct(s.ci[0])}, {pct(s.ci[1])}]"
        k = max(s.pass_hat_k) if s.pass_hat_k else None
        hat = f"pass^{k} {pct(s.pass_hat_k[k])}" if k and k > 1 else ""
        spread = "" if s.median is None else f"{s.median:.4g} / {s.p90:.4g}"
        shown = [", ".join(s.flaky[:3])] if wide else []
        flaky.append((name, "flaky", s.flaky[:3]))
        grid.add_row(name, rate, hat, *shown, str(s.errors) if s.errors else "", spread)
    out = [keep_cells_whole(grid)] if wide else [keep_cells_whole(grid), listed_below(flaky)]
    if not baseline:
        return out
    lists = ["regressed", "fixed"] if wide else []
    paired = table(
        f"against baseline {baseline} (paired by scenario)",
        ["judge"],
        ["baseline", "candidate", "effect [95% CI]", "p", *lists],
        **narrow,
    )
    changed = []
    for name, d in deltas.items():
        c = d.comparison
        if c is None:
            change = "" if d.metric_change is None else f"median {d.metric_change:+.1%}"
            paired.add_row(name, "", "", change, "", *(["", d.note] if wide else []))
            changed.append((name, "note", [d.note] if d.note else []))
            continue
        effect = f"{c.effect:+.2f} [{c.ci[0]:+.2f}, {c.ci[1]:+.2f}]"
        style = "red" if c.significant_regression() else ""
        scenarios = [", ".join(c.regressed[:3]), ", ".join(c.fixed[:3])] if wide else []
        changed += [(name, "regressed", c.regressed[:3]), (name, "fixed", c.fixed[:3])]
        paired.add_row(
            name,
            pct(c.baseline_rate),
            pct(c.candidate_rate),
            f"[{style}]{effect}[/]" if style else effect,
            f"{c.p_value:.3g}",
            *scenarios,
        )
    out.append(keep_cells_whole(paired))
    if not wide:
        out.append(listed_below(changed))
    return out
