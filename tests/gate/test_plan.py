"""`costar plan`: the trials per scenario with which the gate decides a drop, per judge, with
the gate's level shared by the judges it plans for."""

from __future__ import annotations

import json
from pathlib import Path

from _helpers import make_verdict, run_cli, write_files
from costar.assess import AssessConfig, assess, trials_needed
from costar.config import load_settings
from costar.gate import plan_trials
from costar.harness import RunConfig, run_suite


def test_plan_shares_alpha_over_the_planned_judges() -> None:
    verdicts = [
        make_verdict(judge, f"s{s}", t, (s + t) % 4 != 0)
        for judge in ("facts", "tone")
        for s in range(8)
        for t in range(4)
    ]
    rows = {r.judge: r for r in plan_trials(verdicts, effect=0.2)}
    rates = [c / 4 for c in (3, 3, 3, 3, 3, 3, 3, 3)]
    assert rows["facts"].scenarios == 8 and rows["facts"].mean_rate == 0.75
    assert rows["facts"].trials == trials_needed(rates, 0.2, alpha=0.025)
    alone = plan_trials(verdicts, effect=0.2, judges=["facts"])
    assert [r.judge for r in alone] == ["facts"]
    assert alone[0].trials == trials_needed(rates, 0.2, alpha=0.05) < rows["facts"].trials


def test_cli_plan_reports_trials_per_judge(project: Path) -> None:
    write_files(project, {f"scenarios/s{i}.yaml": f"id: s{i}\ninput: q{i}\n" for i in range(4)})
    settings = load_settings(start=project)
    run_id = run_suite(
        RunConfig.from_settings(settings, agent="sample_agents:echo", trials=2)
    ).run_id
    assess(AssessConfig(root=project, tracking_uri=settings.store_uri(), run_ids=[run_id]))
    done = run_cli(project, "plan", run_id, "--effect", "0.2", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    by_judge = {r["judge"]: r for r in data["judges"]}
    present = by_judge["output-present"]
    assert present["scenarios"] == 4 and present["mean_rate"] == 1.0
    assert present["trials"] == trials_needed([1.0] * 4, 0.2, alpha=0.05 / len(by_judge))
    (project / "gate.yaml").write_text("judges: [output-present]\n")
    one = run_cli(project, "plan", run_id, "--effect", "0.2", "--policy", "gate.yaml")
    assert "shared by 1 judge(s)" in one.stdout and "output-present" in one.stdout
    alone = trials_needed([1.0] * 4, 0.2, alpha=0.05)  # one judge: the full alpha, fewer trials
    assert alone < present["trials"] and f"│ {alone} " in one.stdout
