"""The verdict store on a real PostgreSQL, and `costar assess` on a real local Ray cluster."""

from __future__ import annotations

import json
import multiprocessing
import random
import uuid
from pathlib import Path

import pytest

from _helpers import make_verdict, run_cli, write_files
from _judge_project import JUDGES, fake_llm  # noqa: F401 - the fixture
from _scale import create_database
from costar.assess import AssessConfig, VerdictStore, assess
from costar.config import load_settings
from costar.harness import RunConfig, run_suite

pytestmark = pytest.mark.slow

SUITE = {
    "scenarios/good.yaml": "id: good\ninput: hello\nexpectations:\n  facts: ['echo: hello']\n",
    "scenarios/bad.yaml": "id: bad\ninput: bye\nexpectations:\n  facts: ['never said']\n",
    "judges/tools.yaml": (
        "judges:\n  - name: tool-cap\n    use: metric\n    params: {name: tool_calls, budget: 0}\n"
    ),
    "judges/tone.yaml": JUDGES,
}
TONE = {"rules": [{"when": {"system": "costar's judge"}, "reply": {"json": {"passed": True}}}]}


def _database(postgres: str) -> str:
    return create_database(postgres, f"verdicts_{uuid.uuid4().hex[:8]}")


def _write_many(url: str, seed: int) -> int:
    """One writer process: 40 batches of 50 verdicts over 300 shared keys, in random order."""
    rng = random.Random(seed)
    store = VerdictStore(url)
    try:
        for _ in range(40):
            batch = [
                make_verdict(
                    "j", f"s{k}", passed=rng.random() < 0.5, run_id="r", rationale=f"by {seed}"
                )
                for k in rng.sample(range(300), 50)
            ]
            store.write(batch)
    finally:
        store.close()
    return seed


def test_concurrent_writers_on_postgres_leave_one_verdict_per_key(postgres: str) -> None:
    url = _database(postgres)
    VerdictStore(url).close()  # the table exists before the writers race
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert sorted(pool.starmap(_write_many, [(url, s) for s in range(4)])) == [0, 1, 2, 3]
    store = VerdictStore(url)
    rows = store.rows_for_run("r")
    assert len(rows) == len({r.trace_id for r in rows})
    touched = {f"tr-js{k}0" for k in range(300)}
    assert {r.trace_id for r in rows} <= touched and len(rows) > 250
    store.close()


def test_an_upsert_on_postgres_replaces_the_verdict_of_the_same_judge_version(
    postgres: str,
) -> None:
    store = VerdictStore(_database(postgres))
    store.write([make_verdict("j", "a", passed=True, run_id="r1")])
    store.write([make_verdict("j", "a", passed=False, run_id="r1", rationale="changed")])
    store.write([make_verdict("j", "a", passed=True, run_id="r1", judge_version="v2")])
    (newest,) = store.for_run("r1", {"j": "v"})
    assert (newest.passed, newest.rationale) == (False, "changed")
    assert len(store.rows_for_run("r1")) == 1  # newest per trace and judge
    assert {v.judge_version for v in store.for_traces([newest.trace_id])} == {"v2"}
    store.close()


@pytest.fixture
def recorded(project: Path, fake_llm) -> tuple[Path, str]:
    write_files(project, SUITE)
    fake_llm(TONE)
    summary = run_suite(
        RunConfig.from_settings(load_settings(start=project), agent="sample_agents:echo", trials=3)
    )
    return project, summary.run_id


def _config(project: Path, run_id: str, **kw) -> AssessConfig:
    settings = load_settings(start=project)
    return AssessConfig(
        root=project,
        tracking_uri=settings.store_uri(),
        run_ids=[run_id],
        judge_paths=settings.judges,
        **kw,
    )


def _verdicts(url: str, run_id: str) -> dict[tuple[str, str], tuple]:
    store = VerdictStore(url)
    try:
        return {
            (v.trace_id, v.judge): (v.judge_version, v.status, v.passed, v.value)
            for v in store.for_run(run_id)
        }
    finally:
        store.close()


def test_assess_on_ray_into_postgres_gives_the_local_verdicts_and_reuses_them(
    recorded, postgres: str, ray_address: str
) -> None:
    project, run_id = recorded
    local_url = f"sqlite:///{project / 'local.db'}"
    local = assess(_config(project, run_id, verdict_store=local_url, mirror=False))
    shared = _database(postgres)
    on_ray = assess(
        _config(
            project, run_id, verdict_store=shared, executor="ray", address=ray_address, mirror=False
        )
    )
    assert local.traces == on_ray.traces == 6
    assert local.scored == on_ray.scored == 6 * on_ray.judges  # every judge on every trace
    assert on_ray.errors == 0  # the LLM judge reached the fake LLM from the workers
    assert {"tone", "tool-cap"} <= {name for (_, name) in _verdicts(shared, run_id)}
    assert _verdicts(shared, run_id) == _verdicts(local_url, run_id)
    again = assess(_config(project, run_id, verdict_store=shared, mirror=False))
    assert (again.scored, again.cached) == (0, on_ray.scored)  # the shared store's, reused


def test_cli_assess_executor_ray(recorded, ray_address: str) -> None:
    project, run_id = recorded
    result = run_cli(
        project, "assess", run_id, "--executor", "ray", "--address", ray_address, "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["traces"] == 6 and data["scored"] == 6 * data["judges"] and data["errors"] == 0
