"""Typed settings in layers: defaults, then `costar.toml`, then `COSTAR_*` variables, then flags.

`costar.toml` is found by walking up from the working directory. Relative paths inside it are
resolved against the folder that holds it (the project root).

This is the one module that reads `COSTAR_*` variables: every one a user may set is a Settings
field (`COSTAR_<FIELD>`). Code that was handed no Settings (the model interface's defaults, a
judge's model) asks `current_settings()`. The variables costar sets for the processes it starts
(an agent's event file, the replay endpoint) are a protocol, named in `costar._protocol`.
`Settings.project()` names every path under the project's `.costar/` folder.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from costar._exceptions import InputError
from costar._input import clip, load_toml, read_text

CONFIG_NAME = "costar.toml"
DEFAULT_STORE_DIR = ".costar"
ENV_PREFIX = "COSTAR_"


@dataclass(frozen=True)
class Project:
    """Where a project keeps its state: the root, the store URIs and every `.costar/` path."""

    root: Path
    tracking_uri: str
    verdict_url: str

    @classmethod
    def at(
        cls, root: Path, tracking_uri: str | None = None, verdict_url: str | None = None
    ) -> Project:
        """The project rooted at `root`; the stores default to SQLite files in `.costar/`."""
        state = Path(root) / DEFAULT_STORE_DIR
        return cls(
            root=Path(root),
            tracking_uri=tracking_uri or f"sqlite:///{(state / 'mlflow.db').resolve()}",
            verdict_url=verdict_url or f"sqlite:///{(state / 'verdicts.db').resolve()}",
        )

    @property
    def costar_dir(self) -> Path:
        """`.costar/`: stores, caches and the state of long-running commands."""
        return self.root / DEFAULT_STORE_DIR

    @property
    def cache_dir(self) -> Path:
        """`.costar/cache/`: derived data, rebuilt from the stores when deleted."""
        return self.costar_dir / "cache"

    @property
    def traces_db(self) -> Path:
        """`.costar/cache/traces.db`: the compact copy of stored traces that assess re-scores."""
        return self.cache_dir / "traces.db"

    @property
    def dspy_cache(self) -> Path:
        """`.costar/cache/dspy/`: DSPy's cache of the alignment optimizers' model calls."""
        return self.cache_dir / "dspy"

    @property
    def autolog_db(self) -> Path:
        """`.costar/autolog.db`: the scratch MLflow store autologged Python agents write to."""
        return self.costar_dir / "autolog.db"

    @property
    def unsaved_dir(self) -> Path:
        """`.costar/unsaved/`: spill files of trials the store did not take (RUN_ID.jsonl)."""
        return self.costar_dir / "unsaved"

    @property
    def align_dir(self) -> Path:
        """`.costar/align/`: the record of each `costar align`."""
        return self.costar_dir / "align"

    @property
    def monitor_dir(self) -> Path:
        """`.costar/monitor/`: monitor cursors (NAME.json) and alert logs (NAME-alerts.jsonl)."""
        return self.costar_dir / "monitor"

    @property
    def refine_dir(self) -> Path:
        """`.costar/refine/`: one folder per `costar refine` session."""
        return self.costar_dir / "refine"

    @property
    def explain_dir(self) -> Path:
        """`.costar/explain/`: attributions, one TRACE_ID.json per explained trace."""
        return self.costar_dir / "explain"


class Settings(BaseModel):
    """Project settings. Every field can be set in costar.toml, as COSTAR_<FIELD>, or by a flag."""

    model_config = ConfigDict(extra="forbid")

    root: Path = Field(
        default_factory=Path.cwd, description="Project root (folder of costar.toml)."
    )
    suite: str = Field(
        "scenarios", description="Folder of scenario YAML files, searched recursively."
    )
    agent: str | None = Field(
        None,
        description="Agent under test: 'pkg.module:function', 'cmd:COMMAND' or an http(s) URL.",
    )
    agent_files: list[str] = Field(
        default_factory=list,
        description="Globs of the agent's files (prompts, code); their hash is the agent version.",
    )
    autolog: list[str] = Field(
        default_factory=list,
        description="MLflow autolog flavours to switch on for Python agents (e.g. 'openai').",
    )
    judges: list[str] = Field(
        default_factory=lambda: ["judges"],
        description="Judge files or folders (*.yaml built-ins with params, *.py @costar.judge).",
    )
    verdict_store: str | None = Field(
        None,
        description="SQLAlchemy URL of the verdict store; default sqlite:///<root>/.costar/"
        "verdicts.db (teams: a shared database such as PostgreSQL).",
    )
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; default sqlite:///<root>/.costar/mlflow.db."
    )
    experiment: str = Field("costar", description="MLflow experiment that holds runs and traces.")
    trials: int = Field(1, ge=1, description="Trials per scenario.")
    concurrency: int = Field(4, ge=1, description="Trials run at once.")
    timeout: float = Field(
        120.0, gt=0, description="Seconds one trial may take before it is killed."
    )
    setup_timeout: float = Field(60.0, gt=0, description="Seconds one setup command may take.")
    workspace_dir: str | None = Field(
        None, description="Where trial workspaces are made; default a temporary folder."
    )

    read_only: list[str] = Field(
        default_factory=list,
        description="Tools that only read (look-ups, searches): the expected-tool-calls check "
        "leaves expectations and calls of them out, so an agent that searched differently is "
        "not failed. A judge's own `read_only` parameter replaces this list.",
    )

    min_kappa: float = Field(
        0.6,
        ge=-1,
        le=1,
        description="`costar judges check` fails when a judge's kappa with the golden set is "
        "below this.",
    )
    judge_pairs: list[list[str]] = Field(
        default_factory=list,
        description="Pairs of judges that should agree (e.g. a check and an LLM judge of the "
        "same rule); `costar label --suggest` ranks traces where they disagree first.",
    )

    dependencies: list[str] = Field(
        default_factory=list,
        description="Python packages the agent depends on; their installed versions are recorded "
        "with every run and trace.",
    )
    mcp_servers: dict[str, str] = Field(
        default_factory=dict,
        description="MCP servers the agent uses: name = command line (stdio) or http(s) URL. "
        "Their version and tool-definition hashes are recorded with every run and trace.",
    )
    judge_mcp_servers: dict[str, str] = Field(
        default_factory=dict,
        description="MCP servers whose tools judges may call (`tools: [NAME.TOOL]` on an agentic "
        "judge): name = command line (stdio) or http(s) URL. Servers in `mcp_servers` may be "
        "named too.",
    )
    refine_assistant: str | None = Field(
        None,
        description="`costar refine`'s coding assistant: a command template such as "
        "'claude -p {brief}' or 'aider --message-file {brief_file}', or 'gepa' (built in).",
    )
    refine_components: list[str] = Field(
        default_factory=list,
        description="Text components the built-in GEPA assistant may rewrite (default: the "
        "non-code agent_files).",
    )
    holdout_tag: str = Field(
        "holdout", description="Scenarios with this tag are `costar refine`'s held-out split."
    )

    allow_outside_fixtures: bool = Field(
        False,
        description="Let scenarios copy fixtures (`from:`, `sql_file:`) from outside the suite "
        "folder (absolute paths, `../`, symlinks out). Off: such paths are refused.",
    )
    redact: list[str] = Field(
        default_factory=list,
        description="Regular expressions whose matches are replaced by [REDACTED] before traces, "
        "verdicts and reports are stored (added to the built-in secret patterns).",
    )
    max_error_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Judge error rate per judge that `costar assess` tolerates before it exits 1 "
        "(0: any judge error fails; `--allow-errors` never fails).",
    )

    executor: str = Field(
        "local", description="Where `costar run` and `costar assess` work: local (threads) or ray."
    )
    ray_address: str | None = Field(
        None,
        description="Ray cluster address for the ray executor (ray://HOST:10001, HOST:6379 or "
        "auto); default: a local Ray started for the command.",
    )
    rate_limits: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Per-model LLM limits shared by all workers: model = {requests_per_minute, "
        "tokens_per_minute} ('*' for every model).",
    )

    embedding_model: str | None = Field(
        None,
        description="Embedding model (e.g. openai:/text-embedding-3-small) for `costar scenario "
        "generate`, `costar coverage` and `costar discover`; default none: TF-IDF, no model.",
    )

    simulator_model: str | None = Field(
        None,
        description="Model that plays simulated users (scenarios with a `user:` block); default "
        "the judge model (`judge_model`, else `model`).",
    )

    model: str | None = Field(
        None,
        description="The default model of every LLM use (e.g. openai:/gpt-4.1-mini, "
        "ollama:/llama3.1); judges, the simulator and discovery fall back to it.",
    )
    judge_model: str | None = Field(
        None, description="Model of LLM and agentic judges without their own; default `model`."
    )
    llm_base_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible server (vLLM, Ollama, the fake LLM); "
        "default the provider's own (OPENAI_BASE_URL, ...).",
    )
    llm_api_key: SecretStr | None = Field(
        None,
        description="Key sent to the model server; default the provider's own (OPENAI_API_KEY, "
        "...). Keep it in the environment, not in costar.toml.",
    )
    llm_timeout: float = Field(60.0, gt=0, description="Seconds one model call attempt may take.")
    llm_max_retries: int = Field(
        3, ge=0, description="Retries of a model call after a 429, a 5xx or a timeout."
    )
    labeller: str | None = Field(
        None, description="Who `costar label` records as the labeller; default the login name."
    )
    monitor_batch: int = Field(
        200,
        ge=1,
        description="Traces `costar monitor` fetches with their spans and scores at once "
        "(memory stays bounded whatever the backlog).",
    )

    @field_validator("redact")
    @classmethod
    def _valid_patterns(cls, value: list[str]) -> list[str]:
        import re

        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return value

    def project(self) -> Project:
        """The project: its root, store URIs and `.costar/` paths."""
        return Project.at(self.root, self.tracking_uri, self.verdict_store)

    def store_uri(self) -> str:
        """The tracking URI, defaulting to the project's own SQLite store."""
        return self.project().tracking_uri

    def verdict_url(self) -> str:
        """The verdict store's URL, defaulting to a SQLite file beside the trace store."""
        return self.project().verdict_url

    def step_fields(self) -> dict[str, Any]:
        """What most steps' configs take from the project: root, tracking_uri, experiment,
        verdict_store (a URL) and judge_paths."""
        project = self.project()
        return {
            "root": self.root,
            "tracking_uri": project.tracking_uri,
            "experiment": self.experiment,
            "verdict_store": project.verdict_url,
            "judge_paths": self.judges,
        }

    def judge_model_or_default(self) -> str | None:
        """The model of judges without their own: `judge_model`, else `model`."""
        return self.judge_model or self.model

    def api_key(self) -> str | None:
        """`llm_api_key` in plain text (None when not set)."""
        return self.llm_api_key.get_secret_value() if self.llm_api_key else None

    def resolve(self, path: str | Path) -> Path:
        """A path from config or flags, relative to the project root."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.root / p)


def given_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """The flags a command was given: None means "not given", so the setting applies."""
    return {k: v for k, v in flags.items() if v is not None}


def find_config(start: Path | None = None) -> Path | None:
    """The nearest costar.toml at or above `start` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def env_var(name: str) -> str:
    """The environment variable of Settings field `name` (`COSTAR_<NAME>`)."""
    if name not in Settings.model_fields or name == "root":
        raise KeyError(f"{name!r} is not a setting")
    return ENV_PREFIX + name.upper()


def _from_env(env: Any = None) -> dict[str, Any]:
    """The settings given as COSTAR_* variables in `env` (default the process environment)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        raw = env.get(ENV_PREFIX + name.upper()) if name != "root" else None
        if raw is None:
            continue
        if field.annotation in (list[str],):
            values[name] = [item.strip() for item in raw.split(",") if item.strip()]
        elif field.annotation is not str and str(field.annotation).startswith(("dict", "list")):
            try:  # JSON, as Ray workers receive it
                values[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InputError(f"{env_var(name)}: not JSON ({exc.msg})") from exc
        else:
            values[name] = raw
    return values


def env_setting(name: str, env: Any = None) -> Any:
    """The raw value of one setting from its COSTAR_* variable (None when unset), parsed as
    `load_settings` parses it (lists comma-separated, tables as JSON)."""
    env_var(name)
    return _from_env(env).get(name)


def _variables() -> list[str]:
    return [ENV_PREFIX + name.upper() for name in Settings.model_fields if name != "root"]


_current: dict[tuple[Any, ...], Settings] = {}
_current_lock = threading.Lock()


def current_settings() -> Settings:
    """The settings in force where none were handed over: costar.toml (found upward from the
    working directory) and COSTAR_* variables, no flags. Cached until the folder, the file or
    a COSTAR_* variable changes."""
    here = Path.cwd()
    path = find_config(here)
    stat = path.stat() if path else None
    env = tuple(map(os.environ.get, _variables()))
    key = (here, path, stat and (stat.st_mtime_ns, stat.st_size), env)
    with _current_lock:
        found = _current.get(key)
    if found is None:
        found = load_settings(start=here)
        with _current_lock:
            if len(_current) > 32:
                _current.clear()
            _current[key] = found
    return found


def load_settings(overrides: dict[str, Any] | None = None, start: Path | None = None) -> Settings:
    """Settings from costar.toml (found upward), the environment, then `overrides` (flags).

    Overrides whose value is None are treated as "not given".
    """
    path = find_config(start)
    data: dict[str, Any] = {}
    root = (start or Path.cwd()).resolve()
    if path is not None:
        root = path.parent
        parsed = load_toml(path)
        section = parsed.get("costar", parsed)
        if not isinstance(section, dict):
            raise InputError(
                f"{path}:{_line_of(path, 'costar')}: 'costar' must be a table "
                "(write [costar] on its own line, then the settings)"
            )
        data.update(section)
    data.update(_from_env())
    data.update(given_flags(overrides or {}))
    data["root"] = root
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        where = f"{path}:{_line_of(path, str(err['loc'][0]))}" if path else "settings"
        raise InputError(
            f"{where}: '{clip(key, 60)}': {clip(err['msg'], 120)} "
            "(see `costar run --help` for the accepted values)"
        ) from exc


def _line_of(path: Path, key: str) -> int:
    """The line of costar.toml that sets `key` (1 when it cannot be told)."""
    text = read_text(path)
    pattern = re.compile(rf"^\s*\[?\s*[\"']?{re.escape(key)}[\"']?\s*[=\]]", re.M)
    found = pattern.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else 1
