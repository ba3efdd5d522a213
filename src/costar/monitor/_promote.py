"""`costar scenario from-trace`: candidate scenario files from production traces.

The input is the user's turns. The initial state comes from the trace tag `costar.setup`
when the production agent recorded one (a JSON object in the scenario `setup` schema, for
example `{"sqlite": {"shop.db": {"sql_file": "fixtures/shop.sql"}}}`); otherwise the file says
plainly that setup must be written. Expectations are skeletons from the failing verdicts: the
judges' rationales as comments and a guideline to complete. The scenario is tagged
`production` and `regression`, and loads and runs as it is.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from costar._exceptions import InputError
from costar._input import load_jsonl
from costar.judges import Verdict
from costar.traces import TraceView

SETUP_TAG = "costar.setup"  # a production trace's initial state, as a scenario `setup` in JSON


def user_turns(view: TraceView) -> list[str]:
    """The user's messages, from a costar trace or a generic MLflow trace's root inputs."""
    inputs = view.root.inputs
    if isinstance(inputs, dict):
        if isinstance(inputs.get("turns"), list):
            return [str(t) for t in inputs["turns"]]
        messages = inputs.get("messages")
        if isinstance(messages, list):
            found = [
                str(m.get("content", ""))
                for m in messages
                if isinstance(m, dict) and m.get("role") == "user"
            ]
            if found:
                return found
        strings = [v for v in inputs.values() if isinstance(v, str)]
        if len(strings) == 1:
            return strings
        return [json.dumps(inputs, default=str)]
    if inputs is None:
        return []
    return [str(inputs)]


def _relative(setup: dict[str, Any], folder: Path | None) -> dict[str, Any]:
    """Absolute fixture paths in a recorded setup, made relative to the scenario's folder."""
    if folder is None:
        return setup
    for group, key in (("files", "from"), ("sqlite", "sql_file")):
        for spec in (setup.get(group) or {}).values():
            if (
                isinstance(spec, dict)
                and isinstance(spec.get(key), str)
                and Path(spec[key]).is_absolute()
            ):
                spec[key] = os.path.relpath(spec[key], folder)
    return setup


def scenario_text(
    view: TraceView,
    verdicts: list[Verdict],
    folder: Path | None = None,
    *,
    sid: str | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
    comments: list[str] | None = None,
    draft: bool = False,
) -> tuple[str, str]:
    """(scenario id, YAML text) for one trace; fixture paths relative to `folder`. The keyword
    arguments let generation reuse it: another id, tags, description and header comments, and
    `draft` marks the file a generated draft (`draft: true`, `source: generated`)."""
    sid = sid or f"prod-{view.trace_id.removeprefix('tr-')[:12]}"
    turns = user_turns(view) or ["TODO: the user's message (the trace recorded none)"]
    failing = [v for v in verdicts if v.status == "ok" and v.passed is False]
    setup_raw = view.tags.get(SETUP_TAG)
    about = description or (
        f"From production trace {view.trace_id}"
        + (f"; failed {', '.join(sorted({v.judge for v in failing}))}" if failing else "")
    )
    lines = [
        *(f"# {c}" for c in comments or []),
        f"# Candidate scenario from production trace {view.trace_id}, written by costar.",
        "# Review it: complete the expectations, then move it into the suite.",
        f"id: {sid}",
        "description: " + json.dumps(about),
        f"tags: [{', '.join(tags or ['production', 'regression'])}]",
        *(["draft: true", "source: generated"] if draft else []),
    ]
    if setup_raw:
        try:
            setup = _relative(json.loads(setup_raw), folder)
            lines.append(yaml.safe_dump({"setup": setup}, sort_keys=False).rstrip())
        except json.JSONDecodeError:
            lines.append(
                f"# TODO setup: the trace's {SETUP_TAG} tag is not JSON: {setup_raw[:200]!r}"
            )
    else:
        lines += [
            "# TODO setup: this trace recorded no reference to its initial state (the trace tag",
            f"# {SETUP_TAG}). Write the setup (files, sqlite, env) this conversation started from.",
        ]
    body = {"input": turns[0] if len(turns) == 1 else turns}
    lines.append(yaml.safe_dump(body, sort_keys=False, allow_unicode=True).rstrip())
    tools = [c.name for c in view.tool_calls()]
    if tools:
        lines.append(f"# The agent called: {', '.join(tools)}")
    if failing:
        lines.append("# Failing verdicts in production:")
        lines += [f"#   {v.judge}: {' '.join(v.rationale.split())[:300]}" for v in failing]
        guidance = [
            f"TODO: what the agent should have done (it failed {v.judge}: "
            f"{' '.join(v.rationale.split())[:160]})"
            for v in failing
        ]
        lines.append(
            yaml.safe_dump({"expectations": {"guidelines": guidance}}, sort_keys=False).rstrip()
        )
    return sid, "\n".join(lines) + "\n"


def write_scenarios(
    views: list[TraceView], verdicts: list[Verdict], out_dir: Path, force: bool = False
) -> list[tuple[str, Path, bool]]:
    """Write one file per trace; returns (scenario id, path, written) (False: it existed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_trace: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_trace.setdefault(v.trace_id, []).append(v)
    done = []
    for view in views:
        sid, text = scenario_text(view, by_trace.get(view.trace_id, []), out_dir.resolve())
        path = out_dir / f"{sid}.yaml"
        if path.exists() and not force:
            done.append((sid, path, False))
            continue
        path.write_text(text, encoding="utf-8")
        done.append((sid, path, True))
    return done


def trace_ids_from_alerts(path: Path) -> list[str]:
    """The example traces of every alert in a JSON-lines alerts file, first seen first."""
    found: dict[str, None] = {}
    for line, data in load_jsonl(path):
        examples = data.get("examples", []) if isinstance(data, dict) else None
        if not isinstance(examples, list) or not all(isinstance(t, str) for t in examples):
            raise InputError(
                f"{path}:{line}: expected an alert object whose 'examples' is a list of trace ids "
                "(pass the alerts file `costar monitor` wrote)"
            )
        for t in examples:
            found.setdefault(t, None)
    return list(found)
