"""Load scenario YAML files into a Suite, reporting every problem at once with its position."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from costar._exceptions import InputError, ScenarioError, UsageError
from costar._input import clip, excerpt, parse_yaml, read_text
from costar.scenarios._matrix import expand, label_problem
from costar.scenarios._model import FileSpec, Scenario

SUFFIXES = (".yaml", ".yml")
Pos = tuple[int, int]  # 1-based line and column


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario with the file it came from (for paths relative to it and for messages)."""

    scenario: Scenario
    path: Path
    line: int = 1
    positions: dict[str, Pos] = field(  # "judges.only" -> (line, col)
        default_factory=dict, hash=False, compare=False
    )

    def where(self, dotted: str) -> str:
        """`path:line:col` of a field of the scenario (`judges.only`), else of the scenario."""
        line, col = self.positions.get(dotted, (self.line, 1))
        return f"{self.path}:{line}:{col}"

    @property
    def id(self) -> str:
        return self.scenario.id

    @property
    def base_dir(self) -> Path:
        return self.path.parent


@dataclass
class Suite:
    """A folder of scenarios, after filtering."""

    root: Path
    scenarios: list[LoadedScenario] = field(default_factory=list)
    drafts_skipped: int = 0  # draft scenarios left out (`include_drafts` was off)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.scenarios]

    def get(self, scenario_id: str) -> LoadedScenario:
        for s in self.scenarios:
            if s.id == scenario_id:
                return s
        raise KeyError(scenario_id)

    def hash(self) -> str:
        """A short hash of every scenario's definition and the fixture files it copies."""
        digest = hashlib.sha256()
        for item in sorted(self.scenarios, key=lambda s: s.id):
            digest.update(
                json.dumps(item.scenario.model_dump(mode="json"), sort_keys=True).encode()
            )
            for spec in item.scenario.setup.files.values():
                if isinstance(spec, FileSpec) and spec.from_:
                    source = item.base_dir / spec.from_
                    if source.is_file():
                        digest.update(source.read_bytes())
        return digest.hexdigest()[:16]


_SCALAR_TAGS = {"str", "int", "float", "bool", "none", "dict", "list"}


def _is_union_tag(part: Any) -> bool:
    """Pydantic names a union alternative by its type: 'str', 'list[str]', 'FileSpec', ..."""
    return isinstance(part, str) and (part in _SCALAR_TAGS or "[" in part or part[:1].isupper())


def _resolve(data: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
    """The data path a pydantic error points at, and where a union branched (None if none).

    Pydantic puts union alternatives ('str', 'FileSpec', ...) into the location; those parts are
    not data keys and are skipped.
    """
    path: list[Any] = []
    current = data
    union_at: tuple[Any, ...] | None = None
    for part in loc:
        if (
            isinstance(current, dict)
            and part in current
            or isinstance(current, list)
            and isinstance(part, int)
            and part < len(current)
        ):
            current = current[part]
            path.append(part)
        elif union_at is None and _is_union_tag(part):
            union_at = tuple(path)
    return tuple(path), union_at


def _hint(err: Mapping[str, Any], path: tuple[Any, ...]) -> str:
    kind = err["type"]
    last = excerpt(err["loc"][-1] if err["loc"] else "").strip("'\"")
    if kind == "extra_forbidden":
        return (
            f"unknown field '{last}' (remove it or fix its spelling; `costar schema` lists fields)"
        )
    if kind == "missing":
        return f"missing required field '{last}' (add it)"
    if kind == "missing_input":
        return (
            "missing required field 'input' (add it); or give a 'user:' block for a simulated user"
        )
    if kind == "string_pattern_mismatch" and path[-1:] == ("id",):
        return "invalid id (use letters, digits, '_', '.' and '-', starting with a letter or digit)"
    if kind == "literal_error":
        return f"{err['msg']}"
    msg = clip(err["msg"].removeprefix("Value error, "), 120)
    where = clip(".".join(str(p) for p in path) or "scenario", 80)
    return f"'{where}': {msg} (`costar schema` shows the expected shape)"


def _problems(exc: ValidationError, data: Any, marks: dict, file: Path, base: tuple) -> list[str]:
    resolved = [(err, *_resolve(data, tuple(err["loc"]))) for err in exc.errors()]
    # A union reports one error per alternative; keep only the deepest of each union's errors.
    deepest: dict[tuple[Any, ...], int] = {}
    for _err, path, union_at in resolved:
        if union_at is not None:
            deepest[union_at] = max(deepest.get(union_at, 0), len(path))
    lines: list[str] = []
    for err, path, union_at in resolved:
        if union_at is not None and len(path) < deepest[union_at]:
            continue
        key_pos = marks.get((*base, *path, "<key>")) if err["type"] == "extra_forbidden" else None
        line, col = key_pos or marks.get((*base, *path)) or marks.get(base, (1, 1))
        text = f"{file}:{line}:{col}: {_hint(err, path)}"
        if text not in lines:
            lines.append(text)
    return lines


def _outside(source: Path, confine_to: Path | None) -> bool:
    """Whether `source` (symlinks followed) lies outside the folder fixtures are confined to."""
    return confine_to is not None and not source.resolve().is_relative_to(confine_to)


def _fixture_problem(
    item: LoadedScenario, pos: Pos, path: str, what: str, confine_to: Path | None
) -> str | None:
    where = f"{item.path}:{pos[0]}:{pos[1]}"
    source = item.base_dir / path
    if _outside(source, confine_to):
        return (
            f"{where}: fixture path '{path}' is outside the suite folder (move the file into "
            "the suite, or set allow_outside_fixtures = true in costar.toml)"
        )
    if not source.is_file():
        relative = "paths in 'from' are" if what == "file" else "paths are"
        return f"{where}: {what} '{path}' not found ({relative} relative to the scenario file)"
    return None


def _check_fixture_paths(
    item: LoadedScenario, marks: dict, base: tuple, confine_to: Path | None
) -> list[str]:
    found: list[str | None] = []
    for name, spec in item.scenario.setup.files.items():
        if isinstance(spec, FileSpec) and spec.from_:
            pos = marks.get((*base, "setup", "files", name, "from"), (item.line, 1))
            found.append(_fixture_problem(item, pos, spec.from_, "file", confine_to))
    for name, seed in item.scenario.setup.seeds().items():
        if seed.sql_from:
            pos = marks.get((*base, "setup", "sqlite", name, "sql_file"), (item.line, 1))
            found.append(_fixture_problem(item, pos, seed.sql_from, "SQL file", confine_to))
    return [p for p in found if p]


def load_file(
    path: Path, confine_to: Path | None = None
) -> tuple[list[LoadedScenario], list[str], dict[str, Pos]]:
    """Scenarios in one file (one per YAML document), its problems, and each id's position.

    With `confine_to` (a resolved folder), fixture paths that resolve outside it are problems.
    """
    try:
        documents = parse_yaml(read_text(path), path)
    except InputError as exc:  # problems of a scenario file always say path:line:col
        message = str(exc)
        if not re.match(rf"{re.escape(str(path))}:\d+:\d+: ", message):
            at = re.match(rf"{re.escape(str(path))}:(\d+): ", message)
            rest = message[len(str(path)) + (len(at[1]) + 1 if at else 0) :]
            message = f"{path}:{at[1] if at else 1}:1{rest}"
        return [], [message], {}
    loaded: list[LoadedScenario] = []
    problems: list[str] = []
    id_pos: dict[str, Pos] = {}
    for doc, document in enumerate(documents):
        base: tuple[Any, ...] = (doc,)
        marks = {(*base, *at): pos for at, pos in document.marks.items()}
        data = document.data
        line, col = marks[base]
        if not isinstance(data, dict):
            problems.append(
                f"{path}:{line}:{col}: a scenario must be a mapping of fields "
                "(start with 'id: ...'; `costar schema` shows the fields)"
            )
            continue
        positions = {
            ".".join(at): pos
            for at, pos in document.marks.items()
            if 0 < len(at) <= 2 and all(isinstance(p, str) and p != "<key>" for p in at)
        }
        variants, matrix_problems = expand(data, marks, base, path)
        problems.extend(matrix_problems)
        found: list[tuple[Any, list[str]]] = []
        for variant in variants:
            try:
                scenario = Scenario.model_validate(variant.data)
            except ValidationError as exc:
                found.append((variant, _problems(exc, variant.data, marks, path, base)))
                continue
            item = LoadedScenario(scenario=scenario, path=path, line=line, positions=positions)
            file_problems = _check_fixture_paths(item, marks, base, confine_to)
            if file_problems:
                found.append((variant, file_problems))
                continue
            loaded.append(item)
            id_pos[scenario.id] = marks.get((*base, "id"), (line, col))
        # a problem every variant has is said once; one of some variants names their values
        counts: dict[str, int] = {}
        for _variant, lines in found:
            for text in lines:
                counts[text] = counts.get(text, 0) + 1
        for variant, lines in found:
            for text in lines:
                labelled = label_problem(text, variant, counts[text] == len(variants))
                if labelled not in problems:
                    problems.append(labelled)
    return loaded, problems, id_pos


def scenario_files(folder: Path) -> list[Path]:
    """Every scenario file under `folder`, recursively, in a stable order."""
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def load_suite(
    folder: str | Path,
    tags: list[str] | None = None,
    ids: list[str] | None = None,
    allow_outside_fixtures: bool = False,
    include_drafts: bool = False,
) -> Suite:
    """Load and validate every scenario under `folder`, then filter by tags and ids (globs).

    Draft scenarios (`draft: true`, written by `costar scenario generate`) are validated but
    left out unless `include_drafts`; how many were left out is `Suite.drafts_skipped`.

    Fixture paths (`from:`, `sql_file:`) must resolve, symlinks followed, inside the suite
    folder unless `allow_outside_fixtures` (the project's opt-in) is true.

    Raises ScenarioError listing every problem in the suite, and UsageError when the folder is
    missing or the filters leave nothing to run.
    """
    root = Path(folder)
    if not root.exists():
        raise UsageError(f"{root}: suite folder not found (pass a folder of scenario YAML files)")
    files = scenario_files(root)
    if not files:
        raise UsageError(f"{root}: no *.yaml scenario files found (add one; see `costar schema`)")
    problems: list[str] = []
    seen: dict[str, tuple[Path, Pos]] = {}
    scenarios: list[LoadedScenario] = []
    confine_to = None if allow_outside_fixtures else (root if root.is_dir() else root.parent)
    for path in files:
        loaded, file_problems, id_pos = load_file(path, confine_to and confine_to.resolve())
        problems.extend(file_problems)
        for item in loaded:
            line, col = id_pos[item.id]
            if item.id in seen:
                other, (oline, ocol) = seen[item.id]
                problems.append(
                    f"{path}:{line}:{col}: duplicate scenario id '{item.id}' "
                    f"(also at {other}:{oline}:{ocol}; ids must be unique in a suite)"
                )
                continue
            seen[item.id] = (path, (line, col))
            scenarios.append(item)
    if problems:
        raise ScenarioError(problems)
    drafts = 0 if include_drafts else sum(s.scenario.draft for s in scenarios)
    selected = [
        s
        for s in scenarios
        if (include_drafts or not s.scenario.draft)
        and (not tags or set(tags) & set(s.scenario.tags))
        and (not ids or any(fnmatch.fnmatchcase(s.id, pattern) for pattern in ids))
    ]
    if not selected:
        hint = (
            f"; {drafts} draft scenario(s) are left out until accepted (costar scenario accept) "
            "or run with --include-drafts"
            if drafts
            else ""
        )
        raise UsageError(
            f"{root}: no scenario matches the filters (tags={tags or []}, scenarios={ids or []}; "
            f"available ids: {', '.join(sorted(seen)[:10])}){hint}"
        )
    return Suite(root=root, scenarios=selected, drafts_skipped=drafts)
