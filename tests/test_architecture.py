"""The layering of DESIGN.md, checked on the source: who may import whom, and through which door.

Rules (read from every `import` in src/costar, including imports inside functions and under
TYPE_CHECKING; `importlib.import_module` strings are not seen):

1. Public doors only. A module of package P imports another package Q through `costar.Q` (its
   `__init__` and `__all__`), never a private module `costar.Q._x` or a private name
   `from costar.Q import _x`. The top-level modules `costar._exceptions`, `costar._input`,
   `costar._env`, `costar._proc`, `costar._protocol`, `costar._signals` and `costar.config`
   are the shared foundation every package may use.
2. Data flows one way (DESIGN.md "Data flows one way"):
     scenarios -> harness (with agents, frameworks) -> traces -> assess (with judges) -> verdicts
       -> report | gate | refine | monitor | align | discover | explain | ...
   MAY_IMPORT below names, for each package, the packages it may import. The harness never
   judges; judges and everything right of traces never run the agent (no harness, no agents),
   except refine (the agent loop; it also reads explain's attributions), explain
   (counterfactual replay through the harness's public API) and ci (it orchestrates run,
   assess and gate). The model interface (llm), scenarios and traces are leaves.
3. The allowed graph has no cycle, so the actual one has none either.
4. Every package is in MAY_IMPORT: a new package states its place in the flow here first.
5. No package other than traces reaches into the trace store's private members (`._tracing`).

KNOWN_DEBT lists the places that still break a rule, each with the work that removes it. The
test fails on any break not listed there, and on a listed entry that no longer happens (so the
list only shrinks).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from dataclasses import is_dataclass
from pathlib import Path

import pytest

import costar

SRC = Path(costar.__file__).parent
FOUNDATION = {"_exceptions", "_input", "_env", "_proc", "_protocol", "_ray", "_signals", "config"}

# Packages downstream of assess: they read stored traces and verdicts, never run the agent.
_READS_VERDICTS = {"assess", "judges", "traces", "scenarios", "llm"}

MAY_IMPORT: dict[str, set[str]] = {
    # leaves: the model interface, the scenario model and the trace store depend on no step
    "llm": set(),
    "scenarios": set(),
    "traces": set(),
    # left of traces: what runs the agent
    "agents": {"traces", "scenarios", "llm"},
    "frameworks": {"agents", "traces", "llm"},
    "harness": {"scenarios", "agents", "frameworks", "traces", "llm"},
    # right of traces: stored traces only
    "judges": {"traces", "scenarios", "llm"},
    "assess": {"judges", "traces", "scenarios", "llm"},
    "align": _READS_VERDICTS,
    "gate": _READS_VERDICTS,
    "monitor": _READS_VERDICTS,
    "importers": _READS_VERDICTS,
    "discover": _READS_VERDICTS | {"monitor"},
    "report": _READS_VERDICTS | {"gate", "monitor", "align", "discover"},
    "web": _READS_VERDICTS | {"align", "report"},
    # downstream of assess, and allowed to run the agent again
    "explain": _READS_VERDICTS | {"harness", "agents"},
    "refine": _READS_VERDICTS | {"harness", "agents", "gate", "align", "report", "explain"},
    "ci": _READS_VERDICTS | {"harness", "gate"},
    # entry points over the library
    "testing": {"llm"},
    "pytest_plugin": {"assess", "traces", "judges"},
    "cli": {"*"},
    "costar": {"*"},  # the lazy top-level exports
}

# (importing file relative to src/costar, imported module or rule) -> the work that removes it
KNOWN_DEBT: dict[tuple[str, str], str] = {
    ("llm/_client.py", "costar.traces"): "issue 15 item 2: an observer hook the harness installs",
    ("llm/_client.py", "costar.traces._record"): "issue 15 item 2: the observer hook",
    ("align/_golden.py", "._tracing"): "issue 15 item 2: labels through public store methods",
    ("assess/_engine.py", "._tracing"): "issue 15 item 2: TraceStore.log_feedback",
    ("monitor/_watch.py", "._tracing"): "issue 15 item 2: TraceStore.search",
}


def _unit(path: Path, root: Path = SRC) -> str:
    """The package (or top-level module) a source file belongs to."""
    rel = path.relative_to(root)
    if len(rel.parts) == 1:
        return "costar" if rel.stem == "__init__" else rel.stem
    return rel.parts[0]


def _imports(path: Path, root: Path = SRC) -> list[tuple[int, str]]:
    """(line, module) of each costar import in a file (`from costar.x import _y`: costar.x._y)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(("costar", *path.relative_to(root).parent.parts))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "costar"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.split(".")[0] != "costar":
                continue
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{a.name}") for a in node.names if a.name[0] == "_"]
    return found


def _target(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "costar"


def _sources(root: Path = SRC) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _breaks(root: Path = SRC) -> dict[tuple[str, str], str]:
    """Every break of rules 1, 2 and 5: (file, module or rule) -> what is wrong."""
    found: dict[tuple[str, str], str] = {}
    for path in _sources(root):
        rel, unit = path.relative_to(root).as_posix(), _unit(path, root)
        allowed = MAY_IMPORT.get(unit, set()) | FOUNDATION | {unit}
        for line, module in _imports(path, root):
            target = _target(module)
            private = [p for p in module.split(".")[2:] if p.startswith("_")]
            where = f"src/costar/{rel}:{line}"
            if target != unit and target not in FOUNDATION and private:
                found[(rel, module)] = (
                    f"{where} imports the private {module}; export what it needs from "
                    f"costar.{target} (its __init__ and __all__) and import that"
                )
            elif target not in allowed and "*" not in allowed:
                found[(rel, _target_key(module))] = (
                    f"{where} imports {module}, against the data flow: costar.{unit} may import "
                    f"only {sorted(MAY_IMPORT.get(unit, set()))} (tests/test_architecture.py)"
                )
        if unit != "traces":
            text = path.read_text(encoding="utf-8")
            if "._tracing" in text:
                line = text[: text.index("._tracing")].count("\n") + 1
                found[(rel, "._tracing")] = (
                    f"src/costar/{rel}:{line} reaches into TraceStore._tracing; "
                    "add a public method on the store"
                )
    return found


def _target_key(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_every_package_has_a_place_in_the_flow() -> None:
    units = {_unit(p) for p in _sources()} - FOUNDATION
    missing = sorted(units - set(MAY_IMPORT))
    assert not missing, (
        f"packages {missing} have no rule: add them to MAY_IMPORT in tests/test_architecture.py "
        "with the packages they may import (DESIGN.md, 'Data flows one way')"
    )


def test_the_allowed_flow_has_no_cycle() -> None:
    def visit(unit: str, path: tuple[str, ...]) -> None:
        for dep in sorted(MAY_IMPORT.get(unit, set()) - {"*"}):
            assert dep not in path, f"cycle in MAY_IMPORT: {' -> '.join((*path, dep))}"
            visit(dep, (*path, dep))

    for unit in MAY_IMPORT:
        visit(unit, (unit,))


def test_imports_use_public_doors_and_follow_the_data_flow() -> None:
    found = _breaks()
    new = [why for key, why in sorted(found.items()) if key not in KNOWN_DEBT]
    assert not new, "\n".join(new)


def test_known_debt_is_still_real() -> None:
    found = _breaks()
    gone = [f"{file} {what}" for file, what in KNOWN_DEBT if (file, what) not in found]
    assert not gone, f"fixed, remove from KNOWN_DEBT: {gone}"


def test_the_rules_catch_a_private_import_and_a_backward_import(tmp_path: Path) -> None:
    """The checker itself, on a made-up tree: what a bad merge would bring is caught."""
    (tmp_path / "gate").mkdir()
    (tmp_path / "explain").mkdir()
    (tmp_path / "gate" / "_probe.py").write_text(
        "from costar.harness._run import RunConfig\nimport costar.harness\n"
        "from costar.assess import _engine\nfrom ._gate import x\n"
    )
    (tmp_path / "explain" / "_replay.py").write_text(
        "from costar.harness import run_trial\nfrom costar.assess import assess\n"
        "def f(store):\n    from costar.monitor import watch\n    return store._tracing\n"
    )
    found = _breaks(tmp_path)
    assert set(found) == {
        ("gate/_probe.py", "costar.harness._run"),
        ("gate/_probe.py", "costar.harness"),
        ("gate/_probe.py", "costar.assess._engine"),
        ("explain/_replay.py", "costar.monitor"),
        ("explain/_replay.py", "._tracing"),
    }, found
    assert (
        "src/costar/gate/_probe.py:2 imports costar.harness, against the data flow"
        in found[("gate/_probe.py", "costar.harness")]
    )


# -- public surfaces -------------------------------------------------------------------------

PACKAGES = sorted(f"costar.{m.name}" for m in pkgutil.iter_modules([str(SRC)]) if m.ispkg)


def _documented(name: str, value: object, package: str) -> bool:
    """A class, function or module has its own docstring (not a dataclass's generated
    signature); any other value is named in the package docstring or has a comment or
    docstring beside its assignment."""
    if inspect.isclass(value) or inspect.isroutine(value) or inspect.ismodule(value):
        doc = value.__doc__ if not inspect.isclass(value) else vars(value).get("__doc__")
        if not doc or not doc.strip():
            return False
        return not (is_dataclass(value) and doc.startswith(f"{value.__name__}("))
    module = importlib.import_module(package)
    if name in (module.__doc__ or ""):
        return True
    for path in _sources():  # a re-exported constant is documented where it is assigned
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.startswith((f"{name} =", f"{name}: ")):
                before = lines[i - 1].strip() if i else ""
                after = lines[i + 1].strip() if i + 1 < len(lines) else ""
                if "#" in line or before.startswith("#") or after.startswith(('"', "'")):
                    return True
    return False


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_imports_is_documented_and_listed(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__doc__, f"{package} has no docstring"
    assert hasattr(module, "__all__"), f"{package} declares no __all__"
    undocumented = []
    for name in module.__all__:
        value = getattr(module, name)  # AttributeError names the missing export
        if not _documented(name, value, package):
            undocumented.append(name)
    assert not undocumented, f"{package}: public names without documentation: {undocumented}"
    unlisted = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and getattr(v, "__module__", "").startswith(package + ".")
        and n not in module.__all__
    }
    assert not unlisted, f"{package} exports {sorted(unlisted)} without listing them in __all__"
