"""The gate's error rates, by simulation through the real `costar.gate.evaluate`.

Two suites, each redrawn for every comparison:
- mixed: 30 scenarios (18 always pass, 3 always fail, 9 flaky with a pass probability drawn
  uniformly in [0.3, 0.9] per judge), 5 gated judges;
- small: 6 scenarios (4 always pass, 2 flaky), 2 gated judges.
Each suite is compared at 3 trials per scenario and at the trials `costar plan`
(`costar.gate.plan_trials`) recommends from a 3-trial pilot run (the median over 21 pilots;
all 21 are printed), with the default policy
(alpha 0.05 for the whole gate, effect 0.15, on_inconclusive: warn):
- A/A (the candidate is the same agent): the false-alarm rate is the share of comparisons the
  gate fails, per judge the share of judges called a regression; the inconclusive rate is the
  share of judges (and of comparisons with any judge) left inconclusive;
- a 15-point drop on every scenario of one judge (down to 0): power is the share of
  comparisons in which that judge is called a regression; `missed_pass_rate` is how often it
  passes instead.

Anchor: the gate before this change failed 74% of A/A comparisons on the mixed suite at 3
trials (the rule that counted any drop on fewer than 6 differing scenarios as a regression).
It is reproduced here from its rule (the sign-flip test plus that rule) on the same draws.

Usage: .venv/bin/python bench/gate_stats.py [--quick]
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, quick  # noqa: E402

from costar.assess import permutation_p, wilson  # noqa: E402
from costar.gate import GatePolicy, evaluate, plan_trials  # noqa: E402
from costar.judges import Verdict  # noqa: E402

COMPARISONS = 200 if quick() else 1_000
SUITES = {
    "mixed": {"pass": 18, "fail": 3, "flaky": 9, "judges": 5},
    "small": {"pass": 4, "fail": 0, "flaky": 2, "judges": 2},
}
DROP = 0.15
PILOTS = 21
POLICY = GatePolicy()


def draw_rates(spec: dict[str, int], rng: random.Random) -> dict[str, list[float]]:
    """Per judge, each scenario's pass probability."""
    return {
        f"judge{j}": [1.0] * spec["pass"]
        + [0.0] * spec["fail"]
        + [rng.uniform(0.3, 0.9) for _ in range(spec["flaky"])]
        for j in range(spec["judges"])
    }


def run(rates: dict[str, list[float]], trials: int, rng: random.Random) -> list[Verdict]:
    """Verdicts of one simulated run."""
    out = []
    for judge, per_scenario in rates.items():
        for s, p in enumerate(per_scenario):
            for t in range(trials):
                out.append(
                    Verdict(
                        judge=judge,
                        judge_version="v1",
                        kind="check",
                        scenario_id=f"s{s:02d}",
                        trace_id=f"{judge}-{s}-{t}",
                        trial=t,
                        passed=rng.random() < p,
                    )
                )
    return out


def dropped(rates: dict[str, list[float]]) -> dict[str, list[float]]:
    first = sorted(rates)[0]
    return {j: [max(0.0, p - DROP) for p in r] if j == first else r for j, r in rates.items()}


def planned(spec: dict[str, int], seed: int) -> tuple[int, list[int]]:
    """The trials costar plan recommends from a 3-trial pilot run (the most any judge needs):
    the median over PILOTS pilots, and all of them (a pilot's flaky rates are noisy)."""
    rng = random.Random(seed)
    plans = []
    for _ in range(PILOTS):
        pilot = run(draw_rates(spec, rng), 3, rng)
        rows = plan_trials(pilot, DROP, POLICY.alpha, POLICY.power)
        plans.append(max(r.trials or 1_000 for r in rows))
    plans.sort()
    return plans[len(plans) // 2], plans


def old_gate_fails(base: list[Verdict], cand: list[Verdict]) -> bool:
    """The previous gate's no_regression rule: a significant sign-flip drop, or any drop on
    fewer scenarios than the test needs to reach alpha (it failed closed)."""

    def per(verdicts: list[Verdict]) -> dict[tuple[str, str], float]:
        counts: dict[tuple[str, str], list[int]] = {}
        for v in verdicts:
            c = counts.setdefault((v.judge, v.scenario_id), [0, 0])
            c[0] += 1
            c[1] += bool(v.passed)
        return {k: c[1] / c[0] for k, c in counts.items()}

    b, c = per(base), per(cand)
    for judge in sorted({j for j, _ in b}):
        diffs = [c[k] - b[k] for k in b if k[0] == judge]
        effect = sum(diffs) / len(diffs)
        changed = sum(d != 0 for d in diffs)
        if effect < 0 and (permutation_p(diffs) < 0.05 or 2 / 2**changed > 0.05):
            return True
    return False


def simulate(spec: dict[str, int], trials: int, shift: bool, seed: int, old: bool = False):
    rng = random.Random(seed)
    fails = regress = unsure = any_unsure = target_found = target_passed = old_fails = 0
    judges = spec["judges"]
    for _ in range(COMPARISONS):
        rates = draw_rates(spec, rng)
        base = run(rates, trials, rng)
        cand = run(dropped(rates) if shift else rates, trials, rng)
        result = evaluate(base, cand, POLICY)
        outcomes = result.outcomes
        fails += not result.passed
        regress += sum(d == "regression" for d in outcomes.values())
        unsure += sum(d == "inconclusive" for d in outcomes.values())
        any_unsure += "inconclusive" in outcomes.values()
        target_found += outcomes["judge0"] == "regression"
        target_passed += outcomes["judge0"] == "pass"
        if old:
            old_fails += old_gate_fails(base, cand)
    n = COMPARISONS
    return {
        "gate_fail_rate": fails / n,
        "regression_rate_per_judge": regress / (n * judges),
        "inconclusive_rate_per_judge": unsure / (n * judges),
        "inconclusive_rate_per_comparison": any_unsure / n,
        "target_regression_rate": target_found / n,
        "target_pass_rate": target_passed / n,
        "old_gate_fail_rate": old_fails / n if old else None,
    }


def main() -> None:
    started = time.perf_counter()
    figures: dict[str, dict] = {}
    for k, (name, spec) in enumerate(SUITES.items()):
        plan_n, plans = planned(spec, seed=100 + k)
        aa3 = simulate(spec, 3, False, seed=1 + k, old=name == "mixed")
        aan = simulate(spec, plan_n, False, seed=11 + k)
        drop3 = simulate(spec, 3, True, seed=21 + k)
        dropn = simulate(spec, plan_n, True, seed=31 + k)
        figures[name] = {
            "planned_trials": plan_n,
            "plans": plans,
            "aa3": aa3,
            "aa_planned": aan,
            "drop3": drop3,
            "drop_planned": dropn,
        }
        print(
            f"{name}: planned trials {plan_n} (median of {PILOTS} pilots: {plans}); A/A gate "
            f"fails {aa3['gate_fail_rate']:.3f} at 3 trials, "
            f"{aan['gate_fail_rate']:.3f} at {plan_n}; power "
            f"{dropn['target_regression_rate']:.3f} at {plan_n}, "
            f"{drop3['target_regression_rate']:.3f} at 3; inconclusive per judge (A/A) "
            f"{aa3['inconclusive_rate_per_judge']:.3f} at 3, "
            f"{aan['inconclusive_rate_per_judge']:.3f} at {plan_n}"
        )
    mixed = figures["mixed"]
    old = mixed["aa3"]["old_gate_fail_rate"]
    new = mixed["aa3"]["gate_fail_rate"]
    print(f"old gate, mixed suite A/A at 3 trials: fails {old:.3f} (the issue measured 0.74)")
    print(f"machine: {machine()}; {COMPARISONS} comparisons per figure")

    def ci(rate: float) -> list[float]:
        """Wilson's 95% interval of a rate over COMPARISONS comparisons."""
        return [round(x, 4) for x in wilson(round(rate * COMPARISONS), COMPARISONS)]

    def by_suite(key: str, case: str) -> dict[str, dict[str, float]]:
        return {
            name: {
                "3_trials": f[case.replace("*", "3")][key],
                "planned": f[case.replace("*", "_planned")][key],
            }
            for name, f in figures.items()
        }

    finish(
        {
            "comparisons": COMPARISONS,
            "planned_trials": {name: f["planned_trials"] for name, f in figures.items()},
            # the worst of the four A/A settings (two suites, 3 and planned trials)
            "false_alarm_rate": max(
                f[c]["gate_fail_rate"] for f in figures.values() for c in ("aa3", "aa_planned")
            ),
            "false_alarm_rate_by_suite": by_suite("gate_fail_rate", "aa*"),
            "false_alarm_rate_per_judge": by_suite("regression_rate_per_judge", "aa*"),
            "power": {
                name: f["drop_planned"]["target_regression_rate"] for name, f in figures.items()
            },
            "power_at_3_trials": {
                name: f["drop3"]["target_regression_rate"] for name, f in figures.items()
            },
            "missed_pass_rate": by_suite("target_pass_rate", "drop*"),
            "inconclusive_rate": {
                "per_judge_aa": by_suite("inconclusive_rate_per_judge", "aa*"),
                "per_comparison_aa": by_suite("inconclusive_rate_per_comparison", "aa*"),
                "per_judge_drop": by_suite("inconclusive_rate_per_judge", "drop*"),
            },
            "intervals_95": {
                name: {
                    "false_alarm_rate": {
                        c: ci(f[c]["gate_fail_rate"]) for c in ("aa3", "aa_planned")
                    },
                    "power": ci(f["drop_planned"]["target_regression_rate"]),
                    "power_at_3_trials": ci(f["drop3"]["target_regression_rate"]),
                }
                for name, f in figures.items()
            },
            "anchor_old_false_alarm_rate": old,
            "ratio_to_anchor": round(new / old, 4) if old else None,
            "targets_met": {
                "false_alarm_rate<=0.05": all(
                    f[c]["gate_fail_rate"] <= 0.05
                    for f in figures.values()
                    for c in ("aa3", "aa_planned")
                ),
                "power>=0.8": all(
                    f["drop_planned"]["target_regression_rate"] >= 0.8 for f in figures.values()
                ),
            },
            "machine": machine(),
            "seconds": round(time.perf_counter() - started, 1),
        }
    )


if __name__ == "__main__":
    main()
