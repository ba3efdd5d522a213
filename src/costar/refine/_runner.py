"""Running a worktree's agent into the project's store, judged by the project's own judges.

The agent runs as a `costar run` subprocess in the worktree's project folder: an in-process run
would reuse modules already imported from the main tree, so the edited code would not run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from costar.assess import AssessConfig, VerdictStore, assess
from costar.judges import Verdict, load_judges
from costar.refine._assistants import ScenarioScore
from costar.refine._config import RefineConfig, RefineError
from costar.traces import TraceCache, TraceStore, TraceView


class Runner:
    """Runs the agent of a project folder (a worktree's) into the project's store, then judges
    the run with the project's own judges."""

    def __init__(self, config: RefineConfig, session: str):
        self.config = config
        self.session = session
        self.gated = config.judges

    def run(self, project_dir: Path, ids: list[str], label: str) -> tuple[str, list[Verdict]]:
        cmd = [
            sys.executable,
            "-m",
            "costar.cli",
            "run",
            "--json",
            "--trials",
            str(self.config.trials),
        ]
        cmd += ["--name", f"refine {self.session} {label}"]
        for sid in ids:
            cmd += ["--scenario", sid]
        env = {
            **os.environ,
            "COSTAR_TRACKING_URI": self.config.tracking_uri,
            "COSTAR_EXPERIMENT": self.config.experiment,
        }
        done = subprocess.run(cmd, cwd=project_dir, env=env, capture_output=True, text=True)
        try:
            run_id = json.loads(done.stdout)["run_id"]
        except (json.JSONDecodeError, KeyError, TypeError):
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RefineError(f"the {label} run failed (exit {done.returncode}): {last}") from None
        return run_id, self.judge(run_id)

    def judge(self, run_id: str) -> list[Verdict]:
        c = self.config
        acfg = AssessConfig(
            root=c.root,
            tracking_uri=c.tracking_uri,
            experiment=c.experiment,
            run_ids=[run_id],
            judge_paths=c.judge_paths,
            judges=c.judges,
            mirror=False,
            verdict_store=c.verdict_store,
        )
        assess(acfg)
        versions = {j.name: j.version for j in load_judges(c.root, c.judge_paths, c.judges or None)}
        store = VerdictStore(c.verdict_store)
        try:
            return store.for_run(run_id, versions)
        finally:
            store.close()

    def views(self, verdicts: list[Verdict]) -> dict[str, TraceView]:
        ids = sorted({v.trace_id for v in verdicts if v.passed is False})
        store = TraceStore(self.config.tracking_uri, self.config.experiment)
        cache = TraceCache.in_project(self.config.root)
        try:
            return {v.trace_id: v for v in store.views(ids, cache)}
        finally:
            cache.close()

    def scores(self, project_dir: Path, ids: list[str], label: str) -> dict[str, ScenarioScore]:
        """Per scenario: the share of passing verdicts and the failing judges' rationales."""
        _, verdicts = self.run(project_dir, ids, label)
        views = self.views(verdicts)
        out: dict[str, ScenarioScore] = {}
        for sid in ids:
            mine = [v for v in verdicts if v.scenario_id == sid and v.passed is not None]
            bad = [v for v in mine if not v.passed]
            view = next((views[v.trace_id] for v in bad if v.trace_id in views), None)
            out[sid] = ScenarioScore(
                score=(len(mine) - len(bad)) / len(mine) if mine else 0.0,
                feedback="\n".join(f"{v.judge} failed: {v.rationale}" for v in bad),
                turns=view.turns if view else [],
                output=str(view.output) if view and view.output is not None else "",
            )
        return out
