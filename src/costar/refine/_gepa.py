"""The built-in assistant: GEPA (the `gepa` package) searches over the agent's declared text
components (prompts, skills, tool descriptions); an LLM through `costar.llm` proposes each new
version from the judges' scores and rationales. Every candidate is scored by running the agent
on training scenarios and judging the traces, the same way the acceptance gate does.
"""

from __future__ import annotations

import glob
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costar.refine._assistants import AssistantOutcome, AssistantTask, ScenarioScore

if TYPE_CHECKING:
    from gepa import GEPAResult
    from gepa.core.adapter import ProposalFn


class _Reflector:
    """The reflection LM GEPA calls: a prompt in, text out, tokens counted."""

    def __init__(self, model: str | None):
        from costar.llm import get_client

        self.client = get_client(model)
        self.tokens = 0
        self._lock = threading.Lock()

    def __call__(self, prompt: str | list[dict[str, Any]]) -> str:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        result = self.client.chat(messages, temperature=1.0)
        with self._lock:
            self.tokens += result.usage.input_tokens + result.usage.output_tokens
        return result.text or ""


class _Adapter:
    """GEPA's view of the agent: a candidate is a text per component file."""

    propose_new_texts: ProposalFn | None = None

    def __init__(self, task: AssistantTask, files: list[str]):
        self.task = task
        self.files = files
        self.calls = 0

    def _write(self, candidate: dict[str, str]) -> None:
        for rel, text in candidate.items():
            (self.task.project_dir / rel).write_text(text, encoding="utf-8")

    def evaluate(self, batch: list[str], candidate: dict[str, str], capture_traces: bool = False):
        from gepa import EvaluationBatch

        self._write(candidate)
        self.calls += 1
        scores = self.task.evaluate(list(batch))
        results = [scores.get(s, ScenarioScore(0.0, "no verdicts: the run failed")) for s in batch]
        return EvaluationBatch(
            outputs=[r.output for r in results],
            scores=[r.score for r in results],
            trajectories=[{"scenario": s, "result": r} for s, r in zip(batch, results, strict=True)]
            if capture_traces
            else None,
        )

    def make_reflective_dataset(self, candidate, eval_batch, components_to_update):
        records = [
            {
                "Inputs": " / ".join(t["result"].turns) or t["scenario"],
                "Generated Outputs": t["result"].output,
                "Feedback": t["result"].feedback or "All judges passed.",
            }
            for t in eval_batch.trajectories or []
        ]
        return {name: records for name in components_to_update}


class GepaAssistant:
    """Proposes new versions of the text components with GEPA (see the module docstring)."""

    name = "gepa"

    def __init__(self, model: str | None, budget: int, components: list[str]):
        self.model = model
        self.budget = budget
        self.components = components

    def _files(self, project: Path) -> list[str]:
        found: set[str] = set()
        for pattern in self.components:
            for path in glob.glob(str(project / pattern), recursive=True):
                p = Path(path)
                if p.is_file() and p.suffix not in (".py", ".pyc", ".db", ".sqlite"):
                    found.add(p.relative_to(project).as_posix())
        return sorted(found)

    def propose(self, task: AssistantTask) -> AssistantOutcome:
        try:
            import gepa
        except ImportError:
            return AssistantOutcome(
                "crashed", "the built-in assistant needs gepa: pip install 'costar[align]'"
            )
        files = self._files(task.project_dir)
        if not files:
            return AssistantOutcome(
                "crashed",
                "no text components to optimise: set refine_components in costar.toml "
                '(for example ["prompts/*.md"])',
            )
        seed = {rel: (task.project_dir / rel).read_text(encoding="utf-8") for rel in files}
        reflector = _Reflector(self.model)
        adapter = _Adapter(task, files)
        try:
            result: GEPAResult[Any, Any] = gepa.optimize(
                seed_candidate=seed,
                trainset=task.train,
                valset=task.train,
                adapter=adapter,
                reflection_lm=reflector,
                max_metric_calls=self.budget,
                display_progress_bar=False,
                seed=0,
            )
        except Exception as exc:  # the optimiser's failure is the attempt's outcome
            adapter._write(seed)
            return AssistantOutcome(
                "crashed",
                f"GEPA failed: {type(exc).__name__}: {exc}"[:400],
                tokens=reflector.tokens,
            )
        best = result.best_candidate
        assert isinstance(best, dict), "a dict seed gives a dict candidate: a text per file"
        adapter._write(best)
        changed = [rel for rel in files if best[rel] != seed[rel]]
        score = result.val_aggregate_scores[result.best_idx]
        return AssistantOutcome(
            "ok",
            f"GEPA tried {len(result.candidates)} candidate(s) in {adapter.calls} evaluations; "
            f"best training score {score:.2f}; changed {', '.join(changed) or 'nothing'}",
            tokens=reflector.tokens,
        )
