"""The judge set of a project: defaults, then the project's judges/*.yaml and judges/*.py.

Defaults judge what scenarios already say: output present, expected tool calls, expected facts,
the inline expectations (reply patterns, excluded texts, JSON paths of the output), final state,
budgets, no repeated failing tool call, and the main metrics. A YAML file adds built-ins with
parameters (and `defaults: false` drops the defaults); `opt_in: true` makes a judge score only
the scenarios that ask for it (`judges: {also: [name]}`)::

    judges:
      - name: policy-before-refund
        use: tool-sequence
        params: {before: [[read_policy, issue_refund]]}
      - name: refund-tone
        use: guidelines
        opt_in: true
        params: {guidelines: ["Apologises for the damage"]}

A Python file's `@costar.judge` functions become judges of the same name. Files in
`judges/aligned/` (written by `costar align`) are read last, so an aligned definition replaces
the judge of the same name.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from typing import Any

from costar._exceptions import ConfigError, InputError
from costar._input import clip, excerpt, load_yaml
from costar.judges._ensemble import resolve
from costar.judges._judge import Judge, build, registered
from costar.judges._metrics import DEFAULT_METRICS


def default_judges() -> list[Judge]:
    """The judges every project gets unless it opts out."""
    judges = [
        build("output-present"),
        build("expected-tool-calls"),
        build("expected-facts"),
        build("reply-matches"),
        build("reply-excludes"),
        build("output-json"),
        build("final-state"),
        build("budgets"),
        build("tool-sequence", name="no-repeated-failures"),
        build("skills-invoked"),
    ]
    judges += [build("metric", name=f"metric:{m}", params={"name": m}) for m in DEFAULT_METRICS]
    return judges


def _import_file(path: Path) -> list[Judge]:
    name = f"costar_project_judges_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: cannot import")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(
            f"{path}: importing the judges failed: {type(exc).__name__}: {exc}"
        ) from exc
    found = [fn.__costar_judge__ for fn in vars(module).values() if hasattr(fn, "__costar_judge__")]
    return [build(spec.name) for spec in found]


def _yaml_file(path: Path, root: Path | None = None) -> tuple[list[Judge], bool]:
    doc = load_yaml(path)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict) or not isinstance(data.get("judges", []), list):
        raise InputError(f"{path}:{doc.pos()[0]}: expected a mapping with a 'judges' list")
    unknown_top = set(data) - {"judges", "defaults", "alignment"}
    if unknown_top:
        key = sorted(map(str, unknown_top))[0]
        raise InputError(
            f"{path}:{doc.pos(key, '<key>')[0]}: unknown key {excerpt(key)} "
            "(judges, defaults, alignment)"
        )
    if not isinstance(data.get("defaults", True), bool):
        raise InputError(f"{path}:{doc.pos('defaults')[0]}: 'defaults' must be true or false")
    judges = []
    for i, entry in enumerate(data.get("judges", [])):
        line = doc.pos("judges", i)[0]
        if not isinstance(entry, dict) or "use" not in entry:
            raise InputError(f"{path}:{line}: judges[{i}] needs 'use: <built-in judge>'")
        unknown = sorted(map(str, set(entry) - {"use", "name", "params", "opt_in"}))
        if unknown:
            raise InputError(
                f"{path}:{line}: judges[{i}]: unknown key {excerpt(unknown[0])} "
                "(use, name, params, opt_in)"
            )
        if not isinstance(entry.get("opt_in", False), bool):
            raise InputError(f"{path}:{line}: judges[{i}].opt_in must be true or false")
        bad = next((k for k in ("use", "name") if not isinstance(entry.get(k, ""), str)), None)
        if bad or not isinstance(entry.get("params") or {}, dict):
            field = bad or "params"
            shape = "a mapping" if field == "params" else "a string"
            raise InputError(f"{path}:{line}: judges[{i}].{field} must be {shape}")
        if entry["use"] not in registered():
            raise InputError(
                f"{path}:{line}: judges[{i}]: unknown judge {excerpt(entry['use'])} "
                "(`costar judges list` shows the built-ins)"
            )
        try:
            built = build(entry["use"], entry.get("name"), entry.get("params") or {}, root)
            if "opt_in" in entry:
                built = dataclasses.replace(built, opt_in=entry["opt_in"])
            built.resources  # noqa: B018 - references and tools found now, with this line
            judges.append(built)
        except (ConfigError, ValueError, TypeError) as exc:
            raise InputError(f"{path}:{line}: judges[{i}]: {clip(str(exc), 160)}") from exc
    return judges, data.get("defaults", True)


def _with_read_only(judge: Judge, read_only: list[str]) -> Judge:
    """The project's `read_only` tools given to a tool-call check that names none itself."""
    if judge.uses != "expected-tool-calls" or not read_only or "read_only" in judge.params:
        return judge
    return dataclasses.replace(judge, params={**judge.params, "read_only": sorted(read_only)})


def load_judges(
    root: Path,
    paths: list[str],
    only: list[str] | None = None,
    read_only: list[str] | None = None,
) -> list[Judge]:
    """The project's judge set, optionally narrowed to the names in `only`. `read_only` tools
    (default: the project's `read_only` setting) go to tool-call checks that name none."""
    if read_only is None:
        from costar.config import load_settings

        read_only = load_settings(start=root).read_only
    project: list[Judge] = []
    keep_defaults = True
    files: list[Path] = []
    aligned: list[Path] = []
    for entry in paths:
        target = root / entry
        if target.is_dir():
            files += sorted(p for p in target.glob("*") if p.is_file())
            aligned += sorted((target / "aligned").glob("*.y*ml"))
        elif target.exists():
            files.append(target)
    # Python files first: their @costar.judge_tool functions are there for YAML judges' tools
    imported = {path: _import_file(path) for path in files + aligned if path.suffix == ".py"}
    for path in files + aligned:  # aligned definitions (`costar align`) come last and win
        if path.suffix == ".py":
            project += [dataclasses.replace(j, root=root) for j in imported[path]]
        elif path.suffix in (".yaml", ".yml"):
            found, defaults = _yaml_file(path, root)
            project += found
            keep_defaults = keep_defaults and defaults
    by_name: dict[str, Judge] = {}
    for j in (default_judges() if keep_defaults else []) + project:
        by_name[j.name] = j  # the project's definition wins over a default of the same name
    for name, j in list(by_name.items()):
        if j.uses == "ensemble":
            by_name[name] = resolve(j, by_name)
    return narrow([_with_read_only(j, read_only) for j in by_name.values()], only)


def narrow(judges: list[Judge], only: list[str] | None) -> list[Judge]:
    """The judges named in `only` (all when it is empty or None); a name the set does not
    have is a ConfigError that lists the names it has."""
    if not only:
        return judges
    names = {j.name for j in judges}
    missing = sorted(set(only) - names)
    if missing:
        raise ConfigError(f"no judge named {missing} (the project has: {', '.join(sorted(names))})")
    return [j for j in judges if j.name in only]


def describe(judges: list[Judge]) -> list[dict[str, Any]]:
    """One row per judge: name, kind, version, what it is built from, parameters, opt-in."""
    return [
        {
            "name": j.name,
            "kind": j.kind,
            "version": j.version,
            "uses": j.uses,
            "params": j.params,
            "opt_in": j.opt_in,
        }
        for j in judges
    ]


def unknown_judges(scenarios: list[Any], known: set[str] | list[str]) -> list[str]:
    """One `path:line: ...` problem per judge name a scenario's `judges:` block names that the
    project does not have (`scenarios` are LoadedScenarios; `known` the project's judge names)."""
    problems = []
    for item in scenarios:
        selection = item.scenario.judges
        if selection is None:
            continue
        for field in ("only", "also"):
            for name in getattr(selection, field) or []:
                if name not in known:
                    at = item.where(f"judges.{field}")
                    problems.append(
                        f"{at}: scenario {item.id!r}: judges.{field} names "
                        f"{excerpt(name)}, which the project has no judge of (it has: "
                        f"{clip(', '.join(sorted(known)), 300)}; `costar judges list`)"
                    )
    return problems
