"""The reviewer's report of a refine session, in Markdown."""

from __future__ import annotations

from typing import Any

MAX_DIFF = 20_000


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def _table(title: str, what: str, rows: dict | None, fmt: Any) -> list[str]:
    if not rows:
        return []
    out = [f"### {title}", "", f"| {what} | before | after |", "|---|---|---|"]
    return out + [f"| {k} | {fmt(b)} | {fmt(c)} |" for k, (b, c) in rows.items()] + [""]


def render(result: Any) -> str:
    """A Markdown report: the outcome, per attempt the reason, and for an accepted change the
    pass rates per judge and split before and after, metric (cost) medians, and the diff."""
    out = [
        f"# costar refine {result.session}: {result.status}",
        "",
        f"- baseline: commit `{result.base_commit[:12]}`, run `{result.baseline_run}`",
        f"- training split: {len(result.train)} scenarios; held out (never shown to the "
        f"assistant): {', '.join(result.holdout) or 'none'}",
        f"- targeted (failing in training at baseline): {', '.join(result.targeted) or 'none'}",
        "",
    ]
    accepted = result.accepted
    if accepted:
        out += [
            f"**Accepted** on branch `{accepted.branch}` (commit `{(accepted.commit or '')[:12]}`)."
            " Nothing was merged: review the change below, then merge or drop the branch.",
            "",
        ]
    elif result.status == "nothing-to-fix":
        out += ["Nothing to fix: every training scenario passes at baseline.", ""]
    for a in result.attempts:
        out += [f"## Attempt {a.iteration}: {a.status}", "", a.reason, ""]
        out.append(
            f"- assistant: `{a.assistant}`; the attempt took {a.seconds:g} s; LLM tokens "
            f"reported: {a.tokens}"
        )
        if a.runs:
            out.append("- runs: " + ", ".join(f"{k} `{v}`" for k, v in a.runs.items()))
        if a.discarded:
            out.append("- discarded (not editable): " + ", ".join(a.discarded))
        out.append("")
        for split, rates in a.rates.items():
            out += _table(f"{split}: pass rate per judge", "judge", rates, _pct)
            out += _table(f"{split}: metric medians (cost)", "metric", a.metrics.get(split), _num)
        if a.causes:
            out += [
                "### Attributed steps and the change",
                "",
                "| scenario | judge | step | status | the change touched it |",
                "|---|---|---|---|---|",
            ]
            out += [
                f"| {c['scenario_id']} | {c['judge']} | {c['step']} ({c['kind']} "
                f"`{c['name']}`) | {c['status']} | {'yes' if c['touched'] else 'no'} |"
                for c in a.causes
            ] + [""]
        if a.diff:
            diff = a.diff if len(a.diff) <= MAX_DIFF else a.diff[:MAX_DIFF] + "\n... (diff cut)"
            out += ["### The change", "", "```diff", diff.rstrip(), "```", ""]
    return "\n".join(out)
