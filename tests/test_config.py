"""One typed project context: every COSTAR_* variable is a Settings field read in costar.config
alone, `Settings.project()` names every `.costar/` path, and each step's config is built from
the settings by its own `from_settings`."""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import pytest

import costar
from costar._exceptions import CostarError, InputError
from costar.config import Project, Settings, current_settings, env_var, load_settings

SRC = Path(costar.__file__).parent
# the modules that may name a COSTAR_* variable: the settings, and the child-process protocol
ENV_OWNERS = {"config.py", "_protocol.py"}
VARIABLE = re.compile(r"^COSTAR_[A-Z][A-Z0-9_]*$")


def _trees() -> list[tuple[str, ast.Module]]:
    return [
        (p.relative_to(SRC).as_posix(), ast.parse(p.read_text(encoding="utf-8")))
        for p in sorted(SRC.rglob("*.py"))
    ]


# -- the source: who reads the environment -----------------------------------------------------
def test_only_config_and_the_protocol_module_name_costar_variables() -> None:
    """A COSTAR_* name anywhere else is a direct read (or write) of a setting behind the
    Settings' back; code asks `costar.config` (`current_settings`, `env_var`) instead."""
    found = [
        f"src/costar/{rel}:{node.lineno}: {node.value}"
        for rel, tree in _trees()
        if rel not in ENV_OWNERS
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and VARIABLE.match(node.value)
    ]
    assert not found, "COSTAR_* variables named outside costar.config:\n" + "\n".join(found)


def _reads_environment(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in ("environ", "getenv"):
            return True
        if isinstance(sub, ast.Name) and sub.id == "getenv":
            return True
    return False


def test_no_module_reads_the_environment_when_it_is_imported() -> None:
    """A value read at import time ignores costar.toml and every later change (a test's
    environment, a flag): settings are read when they are used."""
    found = []
    for rel, tree in _trees():
        pending: list[ast.stmt] = list(tree.body)
        while pending:
            stmt = pending.pop()
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                continue  # runs when called; only its defaults run now
            if isinstance(stmt, ast.ClassDef):
                pending += stmt.body
                continue
            if isinstance(stmt, ast.If | ast.Try | ast.With):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for inner in getattr(stmt, block, []):
                        pending += inner.body if isinstance(inner, ast.ExceptHandler) else [inner]
                if isinstance(stmt, ast.If) and _reads_environment(stmt.test):
                    found.append(f"src/costar/{rel}:{stmt.lineno}")
                continue
            if _reads_environment(stmt):
                found.append(f"src/costar/{rel}:{stmt.lineno}")
    assert not found, "environment read at import time:\n" + "\n".join(found)


def test_every_exception_class_joins_the_costar_error_tree() -> None:
    classes: dict[str, list[str]] = {}
    where: dict[str, str] = {}
    for rel, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                ]
                classes[node.name] = bases
                where[node.name] = f"src/costar/{rel}:{node.lineno}"
    builtin_errors = {
        n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)
    }

    def is_exception(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name in builtin_errors:
            return True
        return name not in seen and any(
            is_exception(b, seen | {name}) for b in classes.get(name, [])
        )

    def in_tree(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name == "CostarError":
            return True
        bases = classes.get(name, [])
        return name not in seen and any(in_tree(b, seen | {name}) for b in bases)

    outside = [f"{where[n]}: {n}" for n in classes if is_exception(n) and not in_tree(n)]
    assert not outside, "exceptions outside the CostarError tree:\n" + "\n".join(outside)
    assert {"ReplayedToolError", "BadRequest", "CostarFailure", "GitError"} <= set(classes)


# -- Settings: layers and the project ------------------------------------------------------------
def _toml(root: Path, text: str) -> Path:
    (root / "costar.toml").write_text("[costar]\n" + text, encoding="utf-8")
    return root


def test_environment_beats_costar_toml_which_beats_the_default(tmp_path, monkeypatch) -> None:
    root = _toml(tmp_path, 'model = "openai:/from-toml"\ntrials = 3\nllm_timeout = 5\n')
    monkeypatch.setenv("COSTAR_MODEL", "openai:/from-env")
    monkeypatch.setenv("COSTAR_MONITOR_BATCH", "10")

    settings = load_settings(start=root)

    assert settings.model == "openai:/from-env"  # env over toml
    assert settings.trials == 3 and settings.llm_timeout == 5.0  # toml over default
    assert settings.monitor_batch == 10  # env over default, typed
    assert settings.llm_max_retries == 3 and settings.judge_model is None  # defaults
    assert load_settings({"model": "openai:/from-flag"}, start=root).model == "openai:/from-flag"


def test_every_field_has_its_variable_and_a_description() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} is undocumented"
        if name != "root":
            assert env_var(name) == f"COSTAR_{name.upper()}"
    with pytest.raises(KeyError):
        env_var("no_such_setting")


def test_a_bad_variable_is_one_clear_config_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COSTAR_LLM_TIMEOUT", "soon")
    with pytest.raises(InputError, match="'llm_timeout'") as caught:
        load_settings(start=tmp_path)
    assert "\n" not in str(caught.value)
    monkeypatch.delenv("COSTAR_LLM_TIMEOUT")
    monkeypatch.setenv("COSTAR_MCP_SERVERS", "{not json")
    with pytest.raises(InputError, match="COSTAR_MCP_SERVERS: not JSON"):
        load_settings(start=tmp_path)


def test_tables_and_lists_come_from_the_environment_as_json(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COSTAR_MCP_SERVERS", '{"files": "python -m files_server"}')
    monkeypatch.setenv("COSTAR_JUDGE_PAIRS", '[["a", "b"]]')
    monkeypatch.setenv("COSTAR_JUDGES", "judges, more_judges")
    settings = load_settings(start=tmp_path)
    assert settings.mcp_servers == {"files": "python -m files_server"}
    assert settings.judge_pairs == [["a", "b"]]
    assert settings.judges == ["judges", "more_judges"]


def test_the_api_key_is_kept_out_of_reprs(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COSTAR_LLM_API_KEY", "sk-very-secret")
    settings = load_settings(start=tmp_path)
    assert settings.api_key() == "sk-very-secret"
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings)


def test_project_names_the_root_the_stores_and_every_costar_path(tmp_path) -> None:
    project = load_settings(start=tmp_path).project()
    state = tmp_path / ".costar"
    assert project.root == tmp_path and project.costar_dir == state
    assert project.tracking_uri == f"sqlite:///{(state / 'mlflow.db').resolve()}"
    assert project.verdict_url == f"sqlite:///{(state / 'verdicts.db').resolve()}"
    assert project.cache_dir == state / "cache"
    assert project.traces_db == state / "cache" / "traces.db"
    assert project.dspy_cache == state / "cache" / "dspy"
    assert project.autolog_db == state / "autolog.db"
    expected = {"unsaved", "align", "monitor", "refine", "explain"}
    assert {getattr(project, f"{d}_dir").name for d in expected} == expected
    assert all(getattr(project, f"{d}_dir").parent == state for d in expected)


def test_project_keeps_configured_stores(tmp_path) -> None:
    root = _toml(tmp_path, 'tracking_uri = "http://127.0.0.1:5000"\n')
    settings = load_settings({"verdict_store": "postgresql://db/verdicts"}, start=root)
    assert settings.project() == Project(
        tmp_path, "http://127.0.0.1:5000", "postgresql://db/verdicts"
    )
    assert settings.store_uri() == "http://127.0.0.1:5000"


def test_the_trace_cache_lives_where_the_project_says(tmp_path) -> None:
    from costar.assess import TraceCache

    cache = TraceCache.in_project(tmp_path)
    try:
        assert Project.at(tmp_path).traces_db.is_file()
    finally:
        cache.close()


def test_library_defaults_follow_costar_toml_and_the_environment(tmp_path, monkeypatch) -> None:
    """Code handed no Settings (a judge's model, the shared LLM client) sees costar.toml and
    COSTAR_* variables, and notices when either changes."""
    from costar.judges import judge_model
    from costar.llm import close_clients, get_client

    monkeypatch.chdir(_toml(tmp_path, 'model = "openai:/toml-model"\nllm_timeout = 7\n'))
    assert judge_model(None) == "openai:/toml-model"
    assert judge_model("openai:/own") == "openai:/own"
    monkeypatch.setenv("COSTAR_JUDGE_MODEL", "openai:/env-judge")
    assert judge_model(None) == "openai:/env-judge"
    monkeypatch.delenv("COSTAR_JUDGE_MODEL")
    _toml(tmp_path, 'model = "openai:/edited"\nllm_timeout = 7\n')
    assert current_settings().model == "openai:/edited"

    monkeypatch.setenv("COSTAR_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("COSTAR_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    try:
        client = get_client()
        assert (client.model, client.timeout, client.max_retries) == ("openai:/edited", 7.0, 0)
        assert client.endpoint.base_url == "http://127.0.0.1:9/v1"
    finally:
        close_clients()


# -- each step's config from the settings --------------------------------------------------------
@pytest.fixture
def settings(tmp_path) -> Settings:
    root = _toml(
        tmp_path,
        'suite = "cases"\njudges = ["checks"]\ntrials = 2\ntimeout = 30\nexecutor = "ray"\n'
        'redact = ["acct-[0-9]+"]\nrefine_assistant = "gepa"\nembedding_model = "openai:/emb"\n'
        'read_only = ["search"]\nmonitor_batch = 25\nexperiment = "shop"\n',
    )
    return load_settings(start=root)


def test_run_config_from_settings_takes_the_project_then_the_flags(settings) -> None:
    from costar.harness import RunConfig

    config = RunConfig.from_settings(settings, trials=5, concurrency=None)
    assert config.suite == settings.root / "cases" and config.trials == 5
    assert (config.timeout, config.executor, config.experiment) == (30.0, "ray", "shop")
    assert config.tracking_uri == settings.project().tracking_uri
    assert config.redact == ["acct-[0-9]+"] and config.concurrency == 4


def test_assess_and_align_configs_from_settings(settings) -> None:
    from costar.align import AlignConfig
    from costar.assess import AssessConfig

    assess = AssessConfig.from_settings(settings, last=True)
    assert assess.judge_paths == ["checks"] and assess.redact == ["acct-[0-9]+"] and assess.last
    assert assess.verdict_store == settings.project().verdict_url
    assert (assess.executor, assess.address) == ("ray", None)  # run's and ci's executor too
    assert AssessConfig.from_settings(settings, executor="local").executor == "local"
    assert assess.project().align_dir == settings.project().align_dir

    align = AlignConfig.from_settings(settings, judge="tone", folds=4, model=None)
    assert (align.judge, align.folds, align.optimizer, align.model) == ("tone", 4, "memalign", None)
    assert align.assess.experiment == "shop" and align.project() == settings.project()


def test_monitor_refine_explain_and_discover_configs_from_settings(settings) -> None:
    from costar.discover import CoverageConfig, DiscoverConfig
    from costar.explain import ExplainConfig
    from costar.monitor import MonitorConfig
    from costar.refine import RefineConfig

    (settings.root / "checks").mkdir()
    monitor = MonitorConfig.from_settings(settings, sample=0.5)
    assert monitor.batch == 25 and monitor.sample == 0.5 and monitor.name == "shop"
    assert monitor.cursor_path == settings.project().monitor_dir / "shop.json"
    assert MonitorConfig.from_settings(settings, "prod", batch=3).batch == 3

    refine = RefineConfig.from_settings(settings, max_iterations=2)
    assert (refine.assistant, refine.max_iterations, refine.suite) == ("gepa", 2, "cases")

    explain = ExplainConfig.from_settings(settings, "tr-1", model=None)
    assert explain.read_only == ["search"] and explain.timeout == 30.0 and explain.target == "tr-1"

    discover = DiscoverConfig.from_settings(settings, ["run-1"], z=3.0)
    assert discover.embedding_model == "openai:/emb" and discover.z == 3.0
    coverage = CoverageConfig.from_settings(settings, "prod", embedding_model="openai:/other")
    assert coverage.embedding_model == "openai:/other" and coverage.suite == settings.root / "cases"


def test_generate_configs_from_settings(settings) -> None:
    from costar.discover import DEFAULT_THRESHOLD, FromSpecConfig, FromTracesConfig

    traces = FromTracesConfig.from_settings(settings, "prod", threshold=None, min_size=2)
    assert traces.suite == settings.root / "cases" and traces.experiment == "prod"
    assert traces.threshold == DEFAULT_THRESHOLD and traces.min_size == 2
    assert traces.verdict_store == settings.project().verdict_url
    spec = FromSpecConfig.from_settings(settings, model="openai:/gen", embedding_model=None)
    assert spec.root == settings.root and spec.model == "openai:/gen"
    assert spec.embedding_model == "openai:/emb"


def test_errors_raised_by_settings_are_costar_errors(tmp_path) -> None:
    root = _toml(tmp_path, "trials = 0\n")
    with pytest.raises(CostarError, match=r"costar.toml:2: 'trials'"):
        load_settings(start=root)


def test_the_readme_lists_every_variable_with_its_field() -> None:
    readme = (SRC.parents[1] / "README.md").read_text(encoding="utf-8")
    missing = [
        name
        for name in Settings.model_fields
        if name != "root" and f"| `{env_var(name)}` | `{name}` |" not in readme
    ]
    assert not missing, f"README's configuration table lacks {missing}"


def test_ray_workers_get_the_model_settings_of_costar_toml(tmp_path, monkeypatch) -> None:
    """A worker runs in a folder of its own, where no costar.toml is found."""
    from costar._ray import worker_env

    monkeypatch.chdir(_toml(tmp_path, 'model = "openai:/toml-model"\nllm_timeout = 9\n'))
    monkeypatch.setenv("COSTAR_JUDGE_MODEL", "openai:/env-judge")
    env = worker_env()
    assert env["COSTAR_MODEL"] == "openai:/toml-model" and env["COSTAR_LLM_TIMEOUT"] == "9.0"
    assert env["COSTAR_JUDGE_MODEL"] == "openai:/env-judge"
    assert "COSTAR_LLM_BASE_URL" not in env  # not set anywhere: the worker's default
    assert load_settings(start=tmp_path.parent).model is None  # elsewhere: not the toml's
    monkeypatch.chdir(tmp_path.parent)
    for key, value in env.items():
        if key.startswith("COSTAR_"):
            monkeypatch.setenv(key, value)
    assert current_settings().model == "openai:/toml-model"
