"""`costar scenario generate --from-spec`: drafts from the agent's own description.

The spec is the agent's system prompt and skills files, its tool schemas, and the existing suite.
One model call lists the intents the agent serves; then each cell of intents x edge-case
categories (with a persona taken in turn) is one call that writes one scenario as JSON. Cells
are visited category by category, so `max_drafts` spreads over the categories. The initial
state is one of the setups the suite already uses (the model picks it by name from the list it
is shown, with excerpts of the fixture files), copied with its fixture paths made relative to
the drafts folder. Every answer is validated: the fields it may set, the tools it expects must be
the agent's, the file must load through the suite loader; otherwise it is rejected and counted.
A candidate within the similarity threshold of a scenario (drafts included) or of an earlier
candidate is dropped as a near-duplicate.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from costar._exceptions import ConfigError
from costar._input import load_json, load_yaml, read_text
from costar.config import Settings, given_flags
from costar.discover._analysis import DEFAULT_THRESHOLD, scenario_topic
from costar.discover._drafts import (
    DRAFTS_FOLDER,
    Rejected,
    draft_fields,
    scenario_yaml,
    slug,
    unique_id,
    write_draft,
)
from costar.discover._model import Model
from costar.discover._result import Duplicate, GenerateResult
from costar.discover._space import embed_texts
from costar.scenarios import FileSpec, LoadedScenario, Suite, load_suite

CATEGORIES = {
    "common": "the ordinary, well-formed request",
    "ambiguous-request": "the request can be read more than one way; the agent must ask",
    "missing-data": "something the agent needs is missing or does not exist",
    "policy-limit": "the request runs into a rule or limit the agent must keep",
    "change-of-mind": "the user changes or withdraws the request in a later turn",
    "adversarial-input": "the user tries to make the agent break its rules or instructions",
}
PERSONAS = [
    "a brief, matter-of-fact customer",
    "an upset customer who has written before",
    "a polite customer who gives more detail than needed",
]
PLAN = """You plan test scenarios for an AI agent from its specification. Answer with JSON: \
{"intents": [{"name": "kebab-case", "description": "what the user wants"}]}, listing the \
distinct things users ask this agent for (at most 8)."""
WRITE = """You write one test scenario for an AI agent. Answer with JSON only: {"id": \
"kebab-case-id", "description": "what the scenario tests", "input": "the user's message" or \
["turn 1", "turn 2"], "setup": "the name of one of the listed setups, or null", \
"expectations": {"guidelines": ["what a good answer does"], "facts": ["a fact the reply \
states"], "tool_calls": [{"name": "tool", "args": {}, "min": 1, "max": 1}]}}. Use only the \
agent's tools; use min 0 and max 0 for a tool that must not be called. Use the data in the \
setup's fixtures (ids, names) so the scenario can run."""
ALLOWED_EXPECTATIONS = {"guidelines", "facts", "tool_calls"}


class FromSpecConfig(BaseModel):
    """What `costar scenario generate --from-spec` needs."""

    root: Path
    suite: Path
    prompts: list[Path] = Field(default_factory=list, description="System prompt files.")
    skills: list[Path] = Field(default_factory=list, description="Skills files.")
    tools: str | None = Field(None, description="Tool schemas: a JSON/YAML file or module:NAME.")
    out: Path | None = None
    model: str | None = None
    seed: int = 0
    threshold: float = Field(DEFAULT_THRESHOLD, gt=0, le=1)
    max_drafts: int = Field(12, ge=1)
    personas: list[str] = Field(default_factory=lambda: list(PERSONAS))
    categories: list[str] = Field(default_factory=lambda: list(CATEGORIES))
    embedding_model: str | None = None
    allow_outside_fixtures: bool = False
    force: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, **fields: Any) -> FromSpecConfig:
        """The project's root, suite and `embedding_model`, then `fields` (the flags; None
        means the setting)."""
        project = {
            "root": settings.root,
            "suite": settings.resolve(settings.suite),
            "embedding_model": settings.embedding_model,
            "allow_outside_fixtures": settings.allow_outside_fixtures,
        }
        given = given_flags(fields)
        return cls(**{**project, **given})


def load_tools(spec: str | None, root: Path) -> list[dict[str, Any]]:
    """Tool schemas (OpenAI function shape) from a JSON/YAML file, or `module:NAME` imported
    with the project root on the path."""
    if not spec:
        return []
    path = root / spec
    if path.suffix in (".json", ".yaml", ".yml"):
        data = load_json(path) if path.suffix == ".json" else load_yaml(path).data
    else:
        module, _, name = spec.partition(":")
        if not name:
            raise ConfigError(f"--tools {spec!r}: give a .json/.yaml file or module:NAME")
        sys.path.insert(0, str(root))
        try:
            data = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"--tools {spec!r}: cannot import it: {exc}") from exc
        finally:
            sys.path.remove(str(root))
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise ConfigError(f"--tools {spec!r}: expected a list of tool schemas")
    return data


def _tool_name(tool: dict[str, Any]) -> str:
    return str((tool.get("function") or tool).get("name", ""))


def setups(suite: Suite, out: Path) -> dict[str, dict[str, Any]]:
    """The distinct setups the suite uses, by name: each with its fixture paths made relative
    to `out`, the scenarios using it and excerpts of its fixture files."""
    found: dict[str, dict[str, Any]] = {}
    for item in suite.scenarios:
        data = item.scenario.setup.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        if not data:
            continue
        key = json.dumps(_rebased(data, item, out), sort_keys=True)
        entry = found.setdefault(key, {"setup": json.loads(key), "used_by": [], "files": {}})
        entry["used_by"].append(item.id)
        for rel in _fixture_paths(item):
            entry["files"][rel.name] = read_text(item.base_dir / rel)[:1500]
    return {f"setup-{i + 1}": v for i, v in enumerate(found.values())}


def _fixture_paths(item: LoadedScenario) -> list[Path]:
    setup = item.scenario.setup
    paths = [Path(s.from_) for s in setup.files.values() if isinstance(s, FileSpec) and s.from_]
    return paths + [Path(s.sql_from) for s in setup.seeds().values() if s.sql_from]


def _rebased(data: dict[str, Any], item: LoadedScenario, out: Path) -> dict[str, Any]:
    for group, key in (("files", "from"), ("sqlite", "sql_file")):
        for spec in (data.get(group) or {}).values():
            if isinstance(spec, dict) and isinstance(spec.get(key), str):
                spec[key] = os.path.relpath((item.base_dir / spec[key]).resolve(), out.resolve())
    return data


def _cells(intents: list[dict[str, str]], config: FromSpecConfig) -> list[dict[str, str]]:
    cells = []
    for c, category in enumerate(config.categories):
        for i, intent in enumerate(intents):
            persona = config.personas[(i + c) % len(config.personas)] if config.personas else ""
            cells.append(
                {
                    "intent": intent["name"],
                    "about": intent.get("description", ""),
                    "category": category,
                    "meaning": CATEGORIES.get(category, category),
                    "persona": persona,
                }
            )
    return cells


def _candidate(
    answer: dict[str, Any] | None,
    cell: dict[str, str],
    tools: set[str],
    named: dict[str, dict[str, Any]],
) -> dict[str, Any] | str:
    """The scenario data of an answer, or why it is rejected."""
    if answer is None:
        return "the model's answer was not a JSON object"
    unknown = set(answer) - {"id", "description", "input", "setup", "expectations", "tags"}
    if unknown:
        return f"unknown field(s) {sorted(unknown)}"
    exp = answer.get("expectations") or {}
    if not isinstance(exp, dict) or set(exp) - ALLOWED_EXPECTATIONS:
        return f"expectations may hold only {sorted(ALLOWED_EXPECTATIONS)}"
    calls = exp.get("tool_calls") or []
    strangers = sorted({str(c.get("name")) for c in calls if isinstance(c, dict)} - tools)
    if tools and strangers:
        return f"expects tool(s) the agent does not have: {strangers}"
    data: dict[str, Any] = {
        "id": str(answer.get("id") or cell["intent"]),
        "description": answer.get("description", ""),
        "tags": [
            "edge" if cell["category"] != "common" else "common",
            cell["category"],
            slug(cell["intent"], 30),
        ],
        "input": answer.get("input"),
        "expectations": exp,
    }
    setup = answer.get("setup")
    if isinstance(setup, str) and setup in named:
        data["setup"] = named[setup]["setup"]
    return data


def generate_from_spec(config: FromSpecConfig, progress: Any = None) -> GenerateResult:
    """Drafts from the spec (see the module docstring)."""
    import numpy as np

    started = time.monotonic()
    suite = load_suite(
        config.suite, allow_outside_fixtures=config.allow_outside_fixtures, include_drafts=True
    )
    out = config.out or config.suite / DRAFTS_FOLDER
    tools = load_tools(config.tools, config.root)
    spec = {
        "system_prompt": "\n\n".join(read_text(config.root / p) for p in config.prompts),
        "skills": "\n\n".join(read_text(config.root / p) for p in config.skills),
        "tools": tools,
        "existing_scenarios": [
            {"id": s.id, "description": s.scenario.description, "input": s.scenario.turns}
            for s in suite.scenarios
        ],
    }
    named = setups(suite, out)
    model = Model(config.model, config.seed)
    result = GenerateResult("spec", config.threshold)
    plan = model.ask(PLAN, "List the intents of this agent.", spec)
    intents = [i for i in (plan or {}).get("intents", []) if isinstance(i, dict) and i.get("name")][
        :8
    ]
    if not intents:
        result.notes.append("the model listed no intents; nothing was generated")
        result.model = model.use
        return result
    existing = [scenario_topic(s) for s in suite.scenarios]
    taken = set(suite.ids)
    kept: list[tuple[str, str]] = []  # (id, topic) of drafts written
    shown_setups = {
        k: {"setup": v["setup"], "used_by": v["used_by"], "fixture_files": v["files"]}
        for k, v in named.items()
    }
    for cell in _cells(intents, config):
        if len(result.written) >= config.max_drafts:
            break
        result.candidates += 1
        if progress:
            progress(f"writing a {cell['category']} scenario for {cell['intent']}")
        task = "Write one scenario for this cell of the test plan."
        data = {"cell": cell, "spec": spec, "setups": shown_setups}
        answer = model.ask(WRITE, task, data)
        found = _candidate(answer, cell, {_tool_name(t) for t in tools}, named)
        wanted = slug(str((answer or {}).get("id") or cell["intent"]), 50)
        sid = unique_id(f"gen-{wanted.removeprefix('gen-')}", taken)
        if isinstance(found, str):
            result.rejected.append(Rejected(sid, found))
            continue
        found["id"] = sid
        loaded = _as_topic(found)
        space = embed_texts(  # written texts: words alone
            [loaded, *existing, *(t for _, t in kept)], config.embedding_model, characters=False
        )
        sims = space.vectors[1:] @ space.vectors[0]
        if len(sims) and float(np.max(sims)) >= config.threshold:
            j = int(np.argmax(sims))
            near = suite.scenarios[j].id if j < len(existing) else kept[j - len(existing)][0]
            result.duplicates.append(Duplicate(sid, near, round(float(sims[j]), 4)))
            continue
        comments = [
            f"Generated by `costar scenario generate --from-spec` ({model.name}, seed "
            f"{config.seed}): intent {cell['intent']}, {cell['category']}, {cell['persona']}.",
            "A draft: never run or gated until you accept it (costar scenario accept).",
        ]
        if "setup" not in found:
            comments.append("TODO setup: no setup of the suite fits; write the initial state.")
        text = scenario_yaml(draft_fields(found), comments)
        done = write_draft(
            sid,
            text,
            out,
            config.suite,
            "spec",
            dict(cell),
            confine=not config.allow_outside_fixtures,
            force=config.force,
        )
        if isinstance(done, Rejected):
            result.rejected.append(done)
        else:
            result.written.append(done)
            kept.append((sid, loaded))
    result.representation = "tf-idf + lsa" if not config.embedding_model else "embeddings"
    result.model = model.use
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _as_topic(data: dict[str, Any]) -> str:
    turns = data.get("input")
    parts = [*(turns if isinstance(turns, list) else [turns]), data.get("description", "")]
    exp = data.get("expectations") or {}
    parts += list(exp.get("guidelines") or []) + list(exp.get("facts") or [])
    return "\n".join(str(p) for p in parts if p)
