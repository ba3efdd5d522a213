"""Typed settings in layers: defaults, then `costar.toml`, then `COSTAR_*` variables, then flags.

`costar.toml` is found by walking up from the working directory. Relative paths inside it are
resolved against the folder that holds it (the project root).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from costar._exceptions import InputError
from costar._input import clip, load_toml, read_text

CONFIG_NAME = "costar.toml"
DEFAULT_STORE_DIR = ".costar"


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
        "the judge model (COSTAR_JUDGE_MODEL, else COSTAR_MODEL).",
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

    def store_uri(self) -> str:
        """The tracking URI, defaulting to the project's own SQLite store."""
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{(self.root / DEFAULT_STORE_DIR / 'mlflow.db').resolve()}"

    def verdict_url(self) -> str:
        """The verdict store's URL, defaulting to a SQLite file beside the trace store."""
        if self.verdict_store:
            return self.verdict_store
        return f"sqlite:///{(self.root / DEFAULT_STORE_DIR / 'verdicts.db').resolve()}"

    def resolve(self, path: str | Path) -> Path:
        """A path from config or flags, relative to the project root."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.root / p)


def find_config(start: Path | None = None) -> Path | None:
    """The nearest costar.toml at or above `start` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _from_env() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        raw = os.environ.get(f"COSTAR_{name.upper()}")
        if raw is None or name == "root":
            continue
        if field.annotation in (list[str],):
            values[name] = [item.strip() for item in raw.split(",") if item.strip()]
        elif name == "rate_limits":  # JSON, as workers receive it
            try:
                values[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InputError(f"COSTAR_RATE_LIMITS: not JSON ({exc.msg})") from exc
        else:
            values[name] = raw
    return values


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
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
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
