"""What a recorded run says about itself: its suite, its draft scenarios, its dependencies.

The harness writes these on every run; the gate, reports and re-runs read them back from the
store. They live with the store so readers need not import the harness.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# the draft scenarios a run ran (`--include-drafts`), so the gate can leave them out
DRAFTS_PARAM = "drafts"
# the run's suite folder, relative to the project root (see `suite_label`)
SUITE_TAG = "costar.suite"
# the run's dependency manifest (Python packages, MCP servers and their tools), as JSON
DEPENDENCIES_TAG = "costar.dependencies"


def suite_label(suite: Path, root: Path) -> str:
    """The suite folder as the run's `costar.suite` tag records it: relative to the project
    root when inside it, so checkouts in different places name the same suite alike."""
    try:
        return suite.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return suite.resolve().as_posix()


def dependency_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two dependency manifests, one line each."""
    lines = []
    b_py, a_py = before.get("python", {}), after.get("python", {})
    for name in sorted(set(b_py) | set(a_py)):
        if b_py.get(name) != a_py.get(name):
            was, now = b_py.get(name, "not declared"), a_py.get(name, "not declared")
            lines.append(f"python {name}: {was} -> {now}")
    b_mcp, a_mcp = before.get("mcp", {}), after.get("mcp", {})
    for name in sorted(set(b_mcp) | set(a_mcp)):
        b, a = b_mcp.get(name, {}), a_mcp.get(name, {})
        if not b or not a:
            lines.append(f"mcp {name}: {'added' if a else 'removed'}")
            continue
        if b.get("error") != a.get("error"):
            state = f"failed: {a['error']}" if a.get("error") else "works again"
            lines.append(f"mcp {name}: listing {state}")
        if b.get("version") != a.get("version"):
            lines.append(f"mcp {name}: server version {b.get('version')} -> {a.get('version')}")
        bt, at = b.get("tools", {}), a.get("tools", {})
        for tool in sorted(set(bt) | set(at)):
            if tool not in at:
                lines.append(f"mcp {name}: tool {tool} removed")
            elif tool not in bt:
                lines.append(f"mcp {name}: tool {tool} added")
            elif bt[tool] != at[tool]:
                lines.append(f"mcp {name}: tool {tool} changed (description or schema)")
    return lines


def run_manifest(run: Any) -> dict[str, Any]:
    """The manifest recorded on a run (a RunInfo), or {} for runs from before it existed."""
    raw = (run.tags or {}).get(DEPENDENCIES_TAG)
    try:
        return json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
