"""costar assess on a real store: verdicts, caching, invalidation, errors, MLflow mirroring."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.assess import AssessConfig, VerdictStore, assess
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.traces import TraceStore

SUITE = {
    "scenarios/good.yaml": """
        id: good
        input: hello
        expectations:
          facts: ["echo: hello"]
          tool_calls: [{name: add, args: {a: 1}}]
        """,
    "scenarios/bad.yaml": """
        id: bad
        input: bye
        expectations:
          facts: ["never said"]
          budgets: {tool_calls: 0}
        """,
    "judges/project.yaml": """
        judges:
          - name: tokens-cap
            use: metric
            params: {name: tool_calls, budget: 5}
        """,
    "judges/flaky.py": """
        from pathlib import Path
        import costar

        @costar.judge(name="flaky", kind="check")
        def flaky(view, scenario):
            if (Path(__file__).parent / "FAIL").exists():
                raise RuntimeError("judge backend down")
            return True
        """,
}


@pytest.fixture
def recorded(project: Path) -> tuple[Path, str]:
    write_files(project, SUITE)
    summary = run_suite(
        RunConfig.from_settings(load_settings(start=project), agent="sample_agents:echo", trials=2)
    )
    return project, summary.run_id


def config(project: Path, run_id: str, **kw) -> AssessConfig:
    settings = load_settings(start=project)
    return AssessConfig(
        root=project,
        tracking_uri=settings.store_uri(),
        run_ids=[run_id],
        judge_paths=settings.judges,
        **kw,
    )


def test_every_trace_gets_every_judge_and_failures_are_explained(recorded) -> None:
    project, run_id = recorded
    out = assess(config(project, run_id))
    judges = out.judges
    assert out.traces == 4 and out.scored == 4 * judges and out.cached == 0 and out.errors == 0
    tally = out.to_json()["per_judge"]
    assert tally["expected-facts"] == {
        "passed": 2,
        "failed": 2,
        "error": 0,
        "skipped": 0,
        "mean": None,
    }
    assert (
        tally["expected-tool-calls"]["passed"] == 2 and tally["expected-tool-calls"]["skipped"] == 2
    )
    assert tally["budgets"]["failed"] == 2
    assert tally["tokens-cap"]["passed"] == 4 and tally["flaky"]["passed"] == 4
    verdicts = VerdictStore(project / ".costar" / "verdicts.db").for_run(run_id)
    facts = [v for v in verdicts if v.judge == "expected-facts" and v.scenario_id == "bad"]
    assert all("never said" in v.rationale and v.evidence for v in facts)


def test_second_assess_reuses_everything_and_a_changed_judge_alone_reruns(recorded) -> None:
    project, run_id = recorded
    first = assess(config(project, run_id))
    again = assess(config(project, run_id))
    assert (again.scored, again.cached) == (0, first.scored)
    (project / "judges" / "project.yaml").write_text(
        "judges:\n  - name: tokens-cap\n    use: metric\n"
        "    params: {name: tool_calls, budget: 0}\n"
    )
    changed = assess(config(project, run_id))
    assert changed.scored == 4  # one judge x four traces
    assert changed.to_json()["per_judge"]["tokens-cap"]["failed"] == 4


def test_judge_errors_are_recorded_then_retried(recorded) -> None:
    project, run_id = recorded
    (project / "judges" / "FAIL").touch()
    broken = assess(config(project, run_id))
    assert broken.errors == 4
    tally = broken.to_json()["per_judge"]["flaky"]
    assert (tally["error"], tally["passed"], tally["failed"]) == (4, 0, 0)  # never a pass/fail
    (project / "judges" / "FAIL").unlink()
    fixed = assess(config(project, run_id))
    assert fixed.scored == 4 and fixed.to_json()["per_judge"]["flaky"]["passed"] == 4


def test_the_trace_cache_is_only_a_copy(recorded) -> None:
    project, run_id = recorded
    assess(config(project, run_id, judges=["output-present"]))
    shutil.rmtree(project / ".costar" / "cache")
    out = assess(config(project, run_id, judges=["expected-facts"]))
    assert out.scored == 4 and (project / ".costar" / "cache").exists()


def test_verdicts_are_mirrored_to_mlflow_as_feedback(recorded) -> None:
    project, run_id = recorded
    out = assess(config(project, run_id, judges=["expected-facts", "flaky"]))
    assert out.mirrored == 8
    store = TraceStore(load_settings(start=project).store_uri())
    row = next(r for r in store.run_traces(run_id) if r.scenario_id == "bad")
    (trace,) = store.get_traces([row.trace_id])
    feedback = {a.name: a for a in trace.info.assessments}
    assert feedback["expected-facts"].value is False
    assert feedback["expected-facts"].source.source_type == "CODE"
    assert "never said" in feedback["expected-facts"].rationale
    assert feedback["expected-facts"].metadata["costar.judge_version"]
    assert assess(config(project, run_id, judges=["flaky"])).mirrored == 0  # no duplicates


def test_cli_assess_and_verdicts(recorded) -> None:
    project, run_id = recorded
    done = run_cli(project, "assess", "--last", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["runs"] == [run_id]
    listed = run_cli(project, "verdicts", run_id[:8], "--failed", "--json")
    failing = json.loads(listed.stdout)
    assert {(v["scenario_id"], v["judge"]) for v in failing} == {
        ("bad", "expected-facts"),
        ("bad", "budgets"),
    }
    usage = run_cli(project, "assess")
    assert usage.returncode == 2 and "--last" in usage.stderr


def test_verdict_store_takes_any_sqlalchemy_url(recorded, tmp_path: Path) -> None:
    project, run_id = recorded
    shared = f"sqlite:///{tmp_path / 'team' / 'verdicts.sqlite'}"
    out = assess(config(project, run_id, verdict_store=shared, judges=["expected-facts"]))
    assert out.scored == 4
    assert len(VerdictStore(shared).for_run(run_id)) == 4
    assert not (project / ".costar" / "verdicts.db").exists()  # nothing went to the default
    (project / "costar.toml").write_text(f"[costar]\nverdict_store = '{shared}'\n")
    listed = run_cli(project, "verdicts", run_id, "--json")
    assert len(json.loads(listed.stdout)) == 4


def test_cli_report_with_a_paired_baseline(recorded) -> None:
    project, run_id = recorded
    second = run_suite(
        RunConfig.from_settings(load_settings(start=project), agent="sample_agents:crash", trials=2)
    )
    assess(config(project, run_id))
    assess(config(project, second.run_id))
    done = run_cli(project, "report", second.run_id, "--baseline", run_id, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    present = data["comparison"]["output-present"]["comparison"]
    assert (present["baseline_rate"], present["candidate_rate"]) == (1.0, 0.0)
    assert sorted(present["regressed"]) == ["bad", "good"]
    assert data["judges"]["output-present"]["rate"] == 0.0
    human = run_cli(project, "report", run_id)
    assert "pass rate" in human.stdout and human.returncode == 0
    empty = run_suite(
        RunConfig.from_settings(load_settings(start=project), agent="sample_agents:echo")
    )
    none = run_cli(project, "report", empty.run_id)
    assert none.returncode == 2 and "has no verdicts" in none.stderr


SHOP = Path(__file__).parents[2] / "examples" / "shop"


def test_editing_a_scenarios_fact_rescores_its_verdict_and_reuses_the_others(
    tmp_path: Path, template_db: Path
) -> None:
    root = tmp_path / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".costar", "__pycache__"))
    (root / ".costar").mkdir()
    shutil.copyfile(template_db, root / ".costar" / "mlflow.db")
    ran = run_cli(root, "run", "-s", "stock-check", "-s", "restock", "--json")
    assert ran.returncode == 0, ran.stderr
    first = json.loads(run_cli(root, "assess", "--last", "--json").stdout)
    assert first["per_judge"]["expected-facts"]["passed"] == 1  # "4 kettle" was said
    per_run = first["scored"]
    path = root / "scenarios" / "stock-check.yaml"
    path.write_text(path.read_text().replace('"4 kettle"', '"99 kettle"'))
    second = json.loads(run_cli(root, "assess", "--last", "--json").stdout)
    assert (second["scored"], second["cached"]) == (1, per_run - 1)  # that one verdict only
    assert second["per_judge"]["expected-facts"]["failed"] == 1
    assert json.loads(run_cli(root, "assess", "--last", "--json").stdout)["scored"] == 0


def test_a_verdict_depends_on_the_scenario_fields_its_judge_reads_and_the_judge_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from costar.judges import build
    from costar.scenarios import Scenario

    def scen(**exp) -> Scenario:
        return Scenario.model_validate({"id": "s", "input": "hi", "expectations": exp})

    facts, calls = build("expected-facts"), build("expected-tool-calls")
    one, other = scen(facts=["4 kettle"]), scen(facts=["99 kettle"])
    assert facts.inputs(one) != facts.inputs(other)
    assert calls.inputs(one) == calls.inputs(other)  # tool-call checks do not read facts
    assert build("output-present").inputs(one) == build("output-present").inputs(None)
    llm = build("guidelines")
    monkeypatch.setenv("COSTAR_JUDGE_MODEL", "openai:/model-a")
    first = llm.inputs(scen(guidelines=["be kind"]))
    monkeypatch.setenv("COSTAR_JUDGE_MODEL", "openai:/model-b")
    assert llm.inputs(scen(guidelines=["be kind"])) != first  # another judge model re-scores
    assert build("guidelines", params={"model": "x"}).version != llm.version


def test_a_verdict_store_from_before_inputs_were_recorded_keeps_loading(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "verdicts.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE costar_verdicts (trace_id VARCHAR(64), judge VARCHAR(200), "
        "judge_version VARCHAR(64), run_id VARCHAR(64) NOT NULL, scenario_id VARCHAR(200) "
        "NOT NULL, status VARCHAR(16) NOT NULL, passed BOOLEAN, value_num FLOAT, created_at "
        "FLOAT NOT NULL, mirrored BOOLEAN NOT NULL, data TEXT NOT NULL, "
        "PRIMARY KEY (trace_id, judge, judge_version))"
    )
    old = {
        "version": 1,
        "judge": "j",
        "judge_version": "v1",
        "kind": "check",
        "trace_id": "t",
        "run_id": "r",
        "scenario_id": "s",
        "status": "ok",
        "passed": True,
    }
    conn.execute(
        "INSERT INTO costar_verdicts VALUES ('t', 'j', 'v1', 'r', 's', 'ok', 1, NULL, 1.0, 0, ?)",
        [json.dumps(old)],
    )
    conn.commit()
    conn.close()
    store = VerdictStore(path)
    (verdict,) = store.for_run("r")
    assert verdict.passed is True and verdict.inputs == ""
    assert store.done("r") == {("t", "j", "v1"): ""}  # re-scored once by the next assess
