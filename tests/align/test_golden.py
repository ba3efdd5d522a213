"""The golden set: human labels round-trip through the MLflow store, files and the consensus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _judge_project import fake_llm, recorded  # noqa: F401 - fixtures
from costar._exceptions import ConfigError
from costar.align import GoldenSet, Label, consensus, export_labels, import_labels
from costar.traces import TraceStore


def _store(project: Path) -> TraceStore:
    from costar.config import load_settings

    return TraceStore(load_settings(start=project).store_uri())


def test_labels_round_trip_through_the_mlflow_store_as_human_feedback(recorded) -> None:
    project, run_id = recorded
    store = _store(project)
    rows = store.run_traces(run_id)
    golden = GoldenSet(store)
    written = golden.add(
        [
            Label(
                trace_id=rows[0].trace_id,
                judge="tone",
                value=True,
                rationale="fine",
                labeller="ann",
            ),
            Label(
                trace_id=rows[1].trace_id,
                judge="tone",
                value=False,
                rationale="rude",
                labeller="ann",
            ),
            Label(trace_id=rows[1].trace_id, judge="tone", value=True, labeller="bob"),
        ]
    )
    assert written == 3
    labels = GoldenSet(_store(project)).labels()  # a fresh connection reads them back
    got = {(lb.trace_id, lb.labeller): (lb.value, lb.rationale, lb.scenario_id) for lb in labels}
    assert got == {
        (rows[0].trace_id, "ann"): (True, "fine", rows[0].scenario_id),
        (rows[1].trace_id, "ann"): (False, "rude", rows[1].scenario_id),
        (rows[1].trace_id, "bob"): (True, "", rows[1].scenario_id),
    }
    # MLflow sees them as HUMAN assessments on the traces
    trace = store.get_traces([rows[1].trace_id])[0]
    sources = {
        a.source.source_id for a in trace.info.assessments if a.source.source_type == "HUMAN"
    }
    assert sources == {"ann", "bob"}
    # two labellers disagree on rows[1]: a conflict with no majority
    by_trace = {c.trace_id: c for c in consensus(labels)}
    assert by_trace[rows[1].trace_id].conflict and by_trace[rows[1].trace_id].value is None
    assert by_trace[rows[0].trace_id].value is True and not by_trace[rows[0].trace_id].conflict


def test_a_labeller_who_answers_again_replaces_only_their_own_answer(recorded) -> None:
    project, run_id = recorded
    store = _store(project)
    trace_id = store.run_traces(run_id)[0].trace_id
    golden = GoldenSet(store)
    golden.add([Label(trace_id=trace_id, judge="tone", value=True, labeller="ann", created_at=1.0)])
    golden.add(
        [Label(trace_id=trace_id, judge="tone", value=False, labeller="bob", created_at=2.0)]
    )
    golden.add(
        [Label(trace_id=trace_id, judge="tone", value=False, labeller="ann", created_at=3.0)]
    )
    labels = golden.labels(judge="tone")
    assert sorted((lb.labeller, lb.value) for lb in labels) == [("ann", False), ("bob", False)]
    assert consensus(labels)[0].value is False


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_labels_export_and_import_as_jsonl_and_csv(recorded, tmp_path, suffix) -> None:
    project, run_id = recorded
    store = _store(project)
    ids = [r.trace_id for r in store.run_traces(run_id)][:3]
    GoldenSet(store).add(
        [
            Label(trace_id=ids[0], judge="tone", value=True, rationale="a, b", labeller="ann"),
            Label(trace_id=ids[1], judge="tone", value=False, rationale='say "no"', labeller="ann"),
            Label(trace_id=ids[2], judge="metric:tool_calls", value=2.5, labeller="ann"),
        ]
    )
    path = tmp_path / f"labels{suffix}"
    assert export_labels(GoldenSet(store).labels(), path) == 3
    back = import_labels(path)
    assert sorted((lb.trace_id, lb.judge, lb.value, lb.rationale) for lb in back) == sorted(
        [
            (ids[0], "tone", True, "a, b"),
            (ids[1], "tone", False, 'say "no"'),
            (ids[2], "metric:tool_calls", 2.5, ""),
        ]
    )


def test_a_bad_label_file_names_every_bad_line_in_one_line(tmp_path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(
        json.dumps({"trace_id": "tr-1", "judge": "tone", "value": "pass", "labeller": "ann"})
        + "\n"
        + json.dumps({"trace_id": "tr-2", "value": "fail", "labeller": "ann"})
        + "\n\n"
        + json.dumps({"trace_id": "tr-3", "judge": "tone", "labeller": "ann"})
        + "\n"
    )
    with pytest.raises(ConfigError) as err:
        import_labels(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}:2: judge:")
    assert message.endswith("also bad: lines 4)")
    bad_json = tmp_path / "broken.jsonl"
    bad_json.write_text('{"trace_id": \n')
    with pytest.raises(ConfigError, match=r"broken.jsonl:1:14: not JSON"):
        import_labels(bad_json)
