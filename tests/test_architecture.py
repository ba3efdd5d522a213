"""The layering of DESIGN.md, checked on the source: who may import whom, and through which door.

Rules (read from every `import` in src/costar, including imports inside functions and under
TYPE_CHECKING; `importlib.import_module` strings are not seen):

1. Public doors only. A module of package P imports another package Q through `costar.Q` (its
   `__init__` and `__all__`), never a private module `costar.Q._x` or a private name
   `from costar.Q import _x`. The top-level modules `costar._exceptions`, `costar._input`,
   `costar._env`, `costar._proc`, `costar._protocol`, `costar._serve`, `costar._signals` and
   `costar.config` are the shared foundation every package may use.
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
5. No package reaches into another package's private members: `obj._x` where `_x` is an
   attribute or method another package defines (the trace store's `._tracing`, say), unless
   its own package defines one of that name too.
6. traces is the only door to MLflow's traces and assessments. Outside it, only the modules in
   MLFLOW_USERS import mlflow at all (each for a reason that is not traces), and none of them
   touches MLflow's tracing: `mlflow.tracing`, `mlflow.entities`, the tracing client, the
   module-level span, trace and assessment functions (TRACING_APIS).

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
FOUNDATION = {
    "_exceptions",
    "_input",
    "_env",
    "_proc",
    "_protocol",
    "_ray",
    "_serve",
    "_signals",
    "config",
}

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
KNOWN_DEBT: dict[tuple[str, str], str] = {}

# Modules outside traces that may import mlflow, and why: none reads or writes traces.
MLFLOW_USERS = {
    "align/_mlflow.py": "MLflow's judges and their optimizers (make_judge, judge.align) and the "
    "tracking URI they log to",
    "align/_align.py": "MlflowException, what the optimizers raise",
}
# mlflow's names for traces and assessments (`mlflow.X` or `from mlflow import X`)
TRACING_APIS = {
    "tracing",
    "entities",
    "MlflowClient",
    "client",
    "trace",
    "start_span",
    "start_span_no_context",
    "get_trace",
    "search_traces",
    "get_current_active_span",
    "update_current_trace",
    "get_last_active_trace_id",
    "flush_trace_async_logging",
    "log_feedback",
    "log_expectation",
    "log_assessment",
    "delete_traces",
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
    """Every break of rules 1, 2, 5 and 6: (file, module or rule) -> what is wrong."""
    found: dict[tuple[str, str], str] = {}
    owners = _owners((SRC, root) if root != SRC else (SRC,))
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
            found.update(_mlflow_breaks(path, rel))
        found.update(_private_reaches(path, rel, unit, owners))
    return found


def _owners(roots: tuple[Path, ...]) -> dict[str, set[str]]:
    """Private member name -> the packages that define it (`self._x = ...`, `def _x`)."""
    owners: dict[str, set[str]] = {}
    for root in roots:
        for path in _sources(root):
            unit = _unit(path, root)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.ClassDef):
                    names = [
                        n.name
                        for n in node.body
                        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                    ]
                elif (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                ):
                    names = [node.attr]
                for name in names:
                    if name.startswith("_") and not name.startswith("__"):
                        owners.setdefault(name, set()).add(unit)
    return owners


def _private_reaches(
    path: Path, rel: str, unit: str, owners: dict[str, set[str]]
) -> dict[tuple[str, str], str]:
    """Rule 5: `obj._x` (obj not self or cls) where only other packages define `_x`."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__") or (
            isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        ):
            continue
        defined_by = owners.get(node.attr, set())
        if defined_by and unit not in defined_by:
            found[(rel, f".{node.attr}")] = (
                f"src/costar/{rel}:{node.lineno} reaches into {ast.unparse(node)}, private to "
                f"costar.{sorted(defined_by)[0]}; add a public method there and call that"
            )
    return found


def _mlflow_breaks(path: Path, rel: str) -> dict[tuple[str, str], str]:
    """Rule 6: mlflow outside traces only in MLFLOW_USERS, and never its tracing APIs."""
    found = {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [(a.name, a.asname or a.name.split(".")[0]) for a in node.names]
            aliases |= {alias for name, alias in modules if name.split(".")[0] == "mlflow"}
            imported = [(name, name.split(".")[1:2]) for name, _ in modules]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            imported = [
                (node.module, [*node.module.split(".")[1:2], *(a.name for a in node.names)])
            ]
        else:
            continue
        for module, names in imported:
            if module.split(".")[0] != "mlflow":
                continue
            where = f"src/costar/{rel}:{node.lineno}"
            if rel not in MLFLOW_USERS:
                found[(rel, "mlflow")] = (
                    f"{where} imports {module}: outside costar.traces only MLFLOW_USERS import "
                    "mlflow; read and write traces and assessments through TraceStore"
                )
            elif used := sorted(set(names) & TRACING_APIS):
                found[(rel, f"mlflow.{used[0]}")] = (
                    f"{where} imports MLflow's tracing ({module}: {', '.join(used)}); "
                    "only costar.traces may: add what is needed there"
                )
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr in TRACING_APIS
        ):
            found[(rel, f"mlflow.{node.attr}")] = (
                f"src/costar/{rel}:{node.lineno} calls {ast.unparse(node)}, MLflow's tracing; "
                "only costar.traces may: add what is needed there"
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


def test_the_rules_catch_private_reaches_backward_imports_and_mlflow(tmp_path: Path) -> None:
    """The checker itself, on a made-up tree: what a bad merge would bring is caught (a private
    import, a backward import, a reach into the store's privates, mlflow outside traces)."""
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
    (tmp_path / "monitor").mkdir()
    (tmp_path / "monitor" / "_watch.py").write_text(
        "def f(store):\n    from mlflow.entities import Feedback\n    return store._client\n"
    )
    (tmp_path / "align").mkdir()
    (tmp_path / "align" / "_mlflow.py").write_text(
        "import mlflow\nfrom mlflow.genai.judges import make_judge\n"
        "def off():\n    mlflow.tracing.disable()\n    return make_judge, mlflow.set_tracking_uri\n"
    )
    found = _breaks(tmp_path)
    assert set(found) == {
        ("gate/_probe.py", "costar.harness._run"),
        ("gate/_probe.py", "costar.harness"),
        ("gate/_probe.py", "costar.assess._engine"),
        ("explain/_replay.py", "costar.monitor"),
        ("explain/_replay.py", "._tracing"),
        ("monitor/_watch.py", "mlflow"),
        ("monitor/_watch.py", "._client"),
        ("align/_mlflow.py", "mlflow.tracing"),
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
