"""What the report and `costar show` read from the stores: traces by id or unique prefix,
TraceViews for transcripts, and the trials of a run that did not end ok."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from costar._exceptions import NotFoundError
from costar.assess import VerdictStore
from costar.report._transcript import Transcript, transcript
from costar.traces import Redactor, RunInfo, TraceStore, TraceView


def load_views(store: TraceStore, trace_ids: Iterable[str]) -> dict[str, TraceView]:
    """TraceViews of the traces that exist among `trace_ids`."""
    return {view.trace_id: view for view in store.views(sorted(set(trace_ids)))}


@dataclass(frozen=True)
class Resolved:
    """What an id typed on the command line names: a run or a trace, by its full id."""

    kind: str  # "run" or "trace"
    id: str
    run: RunInfo | None = None


def resolve_id(store: TraceStore, given: str) -> Resolved:
    """A run or a trace by its full id or a unique prefix of it. Trace ids start with `tr-`;
    a bare prefix is tried as both, and one that names a run and a trace is ambiguous."""
    if given.startswith("tr-"):
        return Resolved("trace", _one_trace(store, given))
    runs = [r for r in store.list_runs(limit=10_000) if r.run_id.startswith(given)]
    traces = store.find_traces(f"tr-{given}")
    if len(runs) > 1:
        raise NotFoundError(
            f"run id {given!r} is ambiguous ({len(runs)} runs match; give more digits)"
        )
    if runs and traces:
        raise NotFoundError(
            f"{given!r} is ambiguous: it starts run {runs[0].run_id} and trace {traces[0]} "
            f"(write tr-{given} for the trace, or more digits)"
        )
    if runs:
        return Resolved("run", runs[0].run_id, runs[0])
    if traces:
        return Resolved("trace", _one_trace(store, f"tr-{given}"))
    raise NotFoundError(
        f"no run or trace {given!r} in {store.tracking_uri} (see `costar runs`, and "
        "`costar show RUN_ID` for a run's trace ids)"
    )


def _one_trace(store: TraceStore, prefix: str) -> str:
    found = store.find_traces(prefix)
    if not found:
        raise NotFoundError(
            f"no trace {prefix!r} in {store.tracking_uri} experiment {store.experiment_name!r} "
            "(`costar show RUN_ID` lists a run's trace ids)"
        )
    if len(found) > 1:
        raise NotFoundError(
            f"trace id {prefix!r} is ambiguous (it starts {found[0]}, {found[1]}, ...; give "
            "more digits)"
        )
    return found[0]


def trace_transcript(
    store: TraceStore, verdicts: VerdictStore, trace_id: str, redact: Iterable[str] = ()
) -> Transcript:
    """The transcript of one stored trace with its verdicts (the newest per judge)."""
    views = load_views(store, [trace_id])
    if trace_id not in views:
        raise NotFoundError(f"trace {trace_id} is not in {store.tracking_uri}")
    found = verdicts.for_traces([trace_id])
    return transcript(views[trace_id], found, Redactor(redact))


def failed_trials(
    store: TraceStore, run_id: str, redact: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The run's trials that ended in error or timeout, each with its reason (the error the
    trace records), scenario, trial and full trace id; in scenario and trial order."""
    rows = [r for r in store.run_traces(run_id) if r.status not in ("ok", "")]
    views = load_views(store, [r.trace_id for r in rows])
    red = Redactor(redact)
    out = []
    for r in sorted(rows, key=lambda r: (r.scenario_id, r.trial)):
        view = views.get(r.trace_id)
        reason = view.error if view is not None else None
        out.append(
            {
                "scenario_id": r.scenario_id,
                "trial": r.trial,
                "status": r.status,
                "trace_id": r.trace_id,
                "error": red.text(reason) if reason else None,
            }
        )
    return out
