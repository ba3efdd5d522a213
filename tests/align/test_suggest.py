"""What to label next: the ranking on constructed cases, and end to end on a recorded run."""

from __future__ import annotations

import json

from _helpers import make_verdict, run_cli
from _judge_project import assess_config, fake_llm, judge_script, label_all, recorded  # noqa: F401
from costar.align import GoldenSet, Label
from costar.align._suggest import rank, suggest
from costar.traces import TraceStore


def test_ranking_puts_the_most_informative_traces_first_with_their_reasons() -> None:
    candidates = {
        "t_plain": "known",
        "t_split": "known",
        "t_pair": "fresh-1",
        "t_err": "known",
        "t_new": "fresh-2",
    }
    verdicts = [
        make_verdict("rule-check", "s", trace_id="t_pair", passed=True),
        make_verdict("rule-llm", "s", trace_id="t_pair", passed=False),
        make_verdict("rule-check", "s", trace_id="t_plain", passed=True),
        make_verdict("rule-llm", "s", trace_id="t_plain", passed=True),
        make_verdict("rule-llm", "s", trace_id="t_err", status="error", error="timeout"),
    ]
    samples = {
        "t_split": [
            make_verdict("rule-llm", "s", trace_id="t_split", passed=p)
            for p in (True, True, True, False, False)
        ],
        "t_plain": [
            make_verdict("rule-llm", "s", trace_id="t_plain", passed=True) for _ in range(5)
        ],
    }
    ranked = rank(candidates, verdicts, samples, [["rule-check", "rule-llm"]], {"known"})
    assert [s.trace_id for s in ranked] == ["t_pair", "t_split", "t_err", "t_new", "t_plain"]
    by_id = {s.trace_id: s for s in ranked}
    assert by_id["t_pair"].reasons == [
        "rule-check says pass, rule-llm says fail",
        "scenario fresh-1 has no labels yet",
    ]
    assert by_id["t_split"].reasons == ["rule-llm is unsure: 5 samples split 3 True/2 False"]
    assert by_id["t_err"].reasons == ["judge error: rule-llm"]
    assert by_id["t_plain"].reasons == [] and by_id["t_plain"].score == 0


def test_suggest_samples_the_judge_and_skips_labelled_traces(recorded, fake_llm) -> None:
    project, run_id = recorded
    flaky = {
        "when": {"system": "costar's judge", "user": "hello number 7"},
        "times": 2,
        "reply": {"json": {"passed": False, "rationale": "not sure"}},
    }
    script = judge_script(learned="x")
    script["rules"].insert(0, flaky)
    fake_llm(script)
    cfg = assess_config(project)
    store = TraceStore(cfg.tracking_uri)
    rows = {r.scenario_id: r.trace_id for r in store.run_traces(run_id)}
    GoldenSet(store).add([Label(trace_id=rows["s01"], judge="tone", value=True, labeller="ann")])

    ranked = suggest(cfg, run_id, "tone", n=3, samples=4)

    assert ranked[0].trace_id == rows["s07"]
    assert ranked[0].reasons[0].startswith("tone is unsure: 4 samples split")
    assert rows["s01"] not in {s.trace_id for s in suggest(cfg, run_id, "tone", n=20)}


def test_label_list_prints_the_queue_with_reasons(recorded, fake_llm) -> None:
    project, run_id = recorded
    fake_llm(judge_script(learned="x"))
    out = run_cli(project, "label", "--suggest", "2", "--list", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["judges"] == ["tone"] and len(data["queue"]) == 2
    assert all(
        q["reasons"] == [f"scenario {q['scenario_id']} has no labels yet"] for q in data["queue"]
    )


def test_judges_check_fails_below_the_kappa_threshold_and_passes_above(recorded, fake_llm) -> None:
    project, run_id = recorded
    label_all(project, run_id)
    fake_llm(judge_script(learned="x"))
    weak = run_cli(project, "judges", "check")
    assert weak.returncode == 1, weak.stderr
    assert "tone: n=12  accuracy 67%  kappa 0.00" in weak.stdout
    assert "FAIL: below kappa 0.6" in weak.stdout

    agreement = run_cli(project, "judges", "agreement", "tone", "--json")
    data = json.loads(agreement.stdout)["agreements"][0]
    assert data["confusion"] == {"fail": {"pass": 4}, "pass": {"pass": 8}}
    assert len(data["disagreements"]) == 4

    # the same judge with the approval rule learned agrees with the humans: the check passes
    tone = (project / "judges" / "tone.yaml").read_text()
    (project / "judges" / "tone.yaml").write_text(
        tone + '      learned: ["Large refunds need approval"]\n'
    )
    strong = run_cli(project, "judges", "check", "--min-kappa", "0.8")
    assert strong.returncode == 0, strong.stdout + strong.stderr
    assert "kappa 1.00" in strong.stdout and "ok: every labelled judge" in strong.stdout
