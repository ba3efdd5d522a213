"""The Scenario: a test fixture with initial state, the user's input and expectations.

Persistent schema: `version` lets old files keep loading as the schema grows.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

# the version of the scenario schema
SCENARIO_VERSION: Final = 1
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Scalar = str | int | float | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _omit_when_empty(
    model: BaseModel, handler: SerializerFunctionWrapHandler, fields: tuple[str, ...]
) -> dict[str, Any]:
    """The model's dump without `fields` that hold no value. Fields added to the schema after
    version 1 go here: a scenario that does not use them dumps exactly as it did before they
    existed, so its suite hash and every verdict's `inputs` hash stay the same and upgrading
    costar re-scores nothing."""
    data = handler(model)
    for name in fields:
        if name in data and (data[name] is None or data[name] is False or data[name] in ([], {})):
            del data[name]
    return data


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return pattern


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError("an empty text is in every reply; give the words to exclude")
    return text


def _skill(name: str) -> str:
    if not re.fullmatch(r"[\w.:/-]+", name):
        raise ValueError(f"{name!r} is not a skill name (letters, digits, _ . : / -)")
    return name


def _json_path(path: str) -> str:
    import jsonpath_rfc9535

    try:
        jsonpath_rfc9535.compile(path)
    except jsonpath_rfc9535.JSONPathError as exc:
        raise ValueError(
            f"{path!r} is not a JSON path (RFC 9535, such as $.refund.amount or "
            f"$.items[0].sku): {str(exc).splitlines()[0]}"
        ) from None
    return path


class FileSpec(_Strict):
    """One file of the initial workspace: inline `content` or copied `from` a path."""

    content: str | None = Field(None, description="The file's text, written as is.")
    from_: str | None = Field(
        None, alias="from", description="Path to copy, relative to the scenario file."
    )

    @model_validator(mode="after")
    def _one_source(self) -> FileSpec:
        if (self.content is None) == (self.from_ is None):
            raise ValueError("give exactly one of 'content' or 'from'")
        return self


class SqliteSeed(_Strict):
    """A SQLite database of the initial state, seeded from SQL and/or JSON rows per table."""

    sql: str | None = Field(None, description="SQL script run first (CREATE TABLE, INSERT ...).")
    sql_from: str | None = Field(
        None, alias="sql_file", description="Path of a .sql script, relative to the scenario file."
    )
    tables: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict,
        description="Rows per table; a table missing from the SQL is created from the row keys.",
    )


class SetupCommand(_Strict):
    """A shell command run in the workspace after files and databases exist."""

    run: str = Field(description="Shell command, run with the workspace as working directory.")
    timeout: float | None = Field(None, gt=0, description="Seconds; default setup_timeout.")


class Setup(_Strict):
    """The initial state each trial starts from, built afresh in its own workspace."""

    files: dict[str, str | FileSpec] = Field(
        default_factory=dict,
        description="Workspace-relative path -> inline text, or {content: ...} / {from: path}.",
    )
    sqlite: dict[str, SqliteSeed | dict[str, list[dict[str, Any]]] | str] = Field(
        default_factory=dict,
        description="Database file -> SQL text, rows per table, or {sql, sql_file, tables}.",
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Environment variables given to setup and the agent."
    )
    commands: list[str | SetupCommand] = Field(
        default_factory=list, description="Shell commands run in order; a failure aborts setup."
    )

    @field_validator("files", "sqlite")
    @classmethod
    def _relative_paths(cls, value: dict[str, Any]) -> dict[str, Any]:
        for path in value:
            if path.startswith("/") or ".." in path.replace("\\", "/").split("/"):
                raise ValueError(f"'{path}' must be a relative path inside the workspace")
        return value

    @field_validator("files", "sqlite", "env", "commands")
    @classmethod
    def _no_nul(cls, value: Any, info: ValidationInfo) -> Any:
        # no path, environment variable or command line can hold a NUL byte: refuse it when the
        # file loads, not in the middle of a run
        texts: list[Any] = list(value)
        if info.field_name == "env":
            texts += value.values()
            for name in value:
                if not name or "=" in name:
                    raise ValueError(f"{name!r} is not an environment variable name")
        elif info.field_name == "files":
            texts += [spec.from_ for spec in value.values() if isinstance(spec, FileSpec)]
        for text in texts:
            text = text.run if isinstance(text, SetupCommand) else text
            if isinstance(text, str) and "\0" in text:
                raise ValueError(
                    f"{text!r} contains a NUL byte (\\0), which no path, "
                    "command or environment variable can hold; remove it"
                )
        return value

    def seeds(self) -> dict[str, SqliteSeed]:
        """Every database seed in its full form."""
        out: dict[str, SqliteSeed] = {}
        for name, seed in self.sqlite.items():
            if isinstance(seed, str):
                out[name] = SqliteSeed(sql=seed)
            elif isinstance(seed, dict):
                out[name] = SqliteSeed(tables=seed)
            else:
                out[name] = seed
        return out

    def command_specs(self) -> list[SetupCommand]:
        """Every setup command in its full form."""
        return [SetupCommand(run=c) if isinstance(c, str) else c for c in self.commands]


class ExpectedToolCall(_Strict):
    """A tool call the agent should make."""

    name: str = Field(description="Tool name.")
    args: dict[str, Any] = Field(
        default_factory=dict, description="Arguments that must match (a subset unless exact)."
    )
    exact: bool = Field(False, description="Arguments must match exactly, not as a subset.")
    min: int = Field(1, ge=0, description="Fewest matching calls.")
    max: int | None = Field(None, ge=0, description="Most matching calls; no limit when absent.")


class ExpectedArtifact(_Strict):
    """A file the agent should leave in the workspace."""

    path: str = Field(description="Workspace-relative path.")
    regex: str | None = Field(None, description="A regular expression the content must match.")
    json_schema: dict[str, Any] | None = Field(
        None, alias="schema", description="JSON Schema the file's JSON content must satisfy."
    )


class StateAssertion(_Strict):
    """A query over a final-state database and the rows it should return."""

    db: str | None = Field(None, description="Database file; default the only one in setup.")
    sql: str = Field(description="A read-only query.")
    rows: list[list[Any]] = Field(description="Expected rows, in order.")


class Expectations(_Strict):
    """What a good outcome looks like; judges read these."""

    guidelines: list[str] = Field(default_factory=list, description="Plain-language criteria.")
    facts: list[str] = Field(
        default_factory=list, description="Facts the agent's replies must state."
    )
    tool_calls: list[ExpectedToolCall] = Field(
        default_factory=list, description="Tool calls expected."
    )
    tool_call_mode: Literal["subset", "exact", "sequence"] | None = Field(
        None,
        description="How tool calls are compared: subset (the expected calls happened), exact "
        "(those calls and no other, duplicates counted) or sequence (exact, in order); default "
        "the judge's mode.",
    )
    read_only: list[str] = Field(
        default_factory=list,
        description="Tools that only read, added to the project's `read_only` for this scenario: "
        "the tool-call check ignores expectations and calls of them.",
    )
    artifacts: list[ExpectedArtifact] = Field(
        default_factory=list, description="Files expected in the final workspace."
    )
    state: list[StateAssertion] = Field(
        default_factory=list, description="Final-state database assertions."
    )
    budgets: dict[str, float] = Field(
        default_factory=dict,
        description="Upper limits on metrics, e.g. {tool_calls: 8, total_tokens: 20000}.",
    )
    reply_matches: list[Annotated[str, AfterValidator(_regex)]] = Field(
        default_factory=list,
        description="Regular expressions (Python syntax, searched anywhere in a reply); each "
        "must match at least one of the agent's replies.",
    )
    reply_excludes: list[Annotated[str, AfterValidator(_text)]] = Field(
        default_factory=list,
        description="Texts no reply may contain (case and spacing ignored, as for facts).",
    )
    output_json: dict[Annotated[str, AfterValidator(_json_path)], Any] = Field(
        default_factory=dict,
        description="JSON path (RFC 9535, e.g. $.refund.amount) -> the value it must select "
        "in the agent's final output read as JSON. A path with wildcards or filters is "
        "compared as the list of the values it selects.",
    )
    skills: list[Annotated[str, AfterValidator(_skill)]] = Field(
        default_factory=list,
        description="Skills the agent must use before its final answer (how a skill shows in a "
        "trace is the project's `skills-invoked` judge's to say); judged by `skills-invoked`.",
    )

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _omit_when_empty(
            self, handler, ("reply_matches", "reply_excludes", "output_json", "skills")
        )


class JudgeSelection(_Strict):
    """Which of the project's judges score this scenario (metrics are always measured)."""

    only: list[str] | None = Field(
        None,
        description="Only these judges score the scenario; the others skip it with a reason.",
    )
    also: list[str] = Field(
        default_factory=list,
        description="Opt-in judges (`opt_in: true` in judges/*.yaml) that score it too.",
    )

    @model_validator(mode="after")
    def _something(self) -> JudgeSelection:
        if self.only is None and not self.also:
            raise ValueError("give 'only: [judge, ...]' or 'also: [judge, ...]'")
        if self.only is not None and self.also:
            raise ValueError("'only' already names every judge that applies; drop 'also'")
        if self.only is not None and not self.only:
            raise ValueError("'only: []' would skip every judge; name at least one")
        return self

    def applies(self, judge: str, opt_in: bool) -> str | None:
        """None when `judge` scores the scenario, else why it skips it."""
        if self.only is not None:
            return None if judge in self.only else "not among the scenario's judges.only"
        if opt_in and judge not in self.also:
            return "an opt-in judge the scenario does not ask for (judges.also)"
        return None


class SimulatedUser(_Strict):
    """A user played by an LLM (the simulator) instead of fixed turns; see `costar.harness`."""

    goal: str = Field(description="What the user wants from the conversation.")
    persona: str = Field("", description="Who the user is and how they write.")
    knows: dict[str, Scalar] = Field(
        default_factory=dict,
        description="Facts the user knows and reveals only when the agent asks for them "
        "(name -> value, such as {order number: 1042}).",
    )
    constraints: list[str] = Field(
        default_factory=list, description="Rules the user keeps to (what they accept or refuse)."
    )
    stop: str = Field(
        "the goal is reached, or the agent says it cannot be reached",
        description="When the user ends the conversation.",
    )
    max_turns: int = Field(6, ge=1, le=50, description="Most user turns before the trial stops.")
    opening: str | None = Field(
        None, description="The user's first message, word for word; default the simulator's."
    )
    model: str | None = Field(
        None, description="Simulator model for this scenario; default the project's setting."
    )
    temperature: float = Field(0.7, ge=0, le=2, description="The simulator's temperature.")
    seed: int | None = Field(
        None,
        description="Base seed for the simulator where the model accepts one (each trial adds "
        "its number); default one derived from the scenario id.",
    )

    @field_validator("goal")
    @classmethod
    def _has_goal(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(
                "an empty goal gives the simulated user nothing to do; say what it wants"
            )
        return value

    @field_validator("opening")
    @classmethod
    def _has_opening(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty opening message; give the words, or drop 'opening'")
        return value


class Scenario(_Strict):
    """One test fixture: initial state, the user's input and what a good outcome looks like."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        # editors reading the JSON schema learn that one of the two is needed
        json_schema_extra={"anyOf": [{"required": ["input"]}, {"required": ["user"]}]},
    )
    version: Literal[1] = Field(SCENARIO_VERSION, description="Scenario schema version.")
    id: str = Field(pattern=ID_PATTERN, description="Unique id within the suite.")
    description: str = Field("", description="What the scenario tests.")
    tags: list[str] = Field(
        default_factory=list, description="Labels for filtering: common, edge, regression, ..."
    )
    setup: Setup = Field(default_factory=Setup, description="The initial state.")
    input: str | list[str] | None = Field(
        None,
        description="The user's message, or a list of user turns for a multi-turn conversation "
        "(or `user:` instead, for a simulated user).",
    )
    user: SimulatedUser | None = Field(
        None,
        description="A simulated user (goal, persona, what it knows, constraints, when it "
        "stops, max_turns) in place of fixed turns in `input`.",
    )
    expectations: Expectations = Field(
        default_factory=Expectations, description="What judges check."
    )
    source: Literal["written", "production", "generated"] = Field(
        "written", description="Where the scenario came from."
    )
    judges: JudgeSelection | None = Field(
        None,
        description="Which judges score this scenario: {only: [...]} or {also: [opt-in ...]}; "
        "default every judge of the project that is not opt-in.",
    )
    matrix: dict[str, list[Scalar]] | list[dict[str, Scalar]] | None = Field(
        None,
        description="Values to expand this file into one scenario per combination: a mapping "
        "of lists (every combination) or a list of mappings (these rows). `{name}` in the "
        "other fields takes each value; the values go into the id.",
    )
    variant: dict[str, Scalar] = Field(
        default_factory=dict,
        description="The matrix values this scenario was expanded with (set when loading).",
    )
    draft: bool = Field(
        False,
        description="A candidate written by costar (`costar scenario generate`): never run, "
        "assessed into a gate or gated until a person accepts it (`costar scenario accept`).",
    )

    @model_validator(mode="after")
    def _expanded(self) -> Scenario:
        if self.input is None and self.user is None:
            raise PydanticCustomError(
                "missing_input",
                "a scenario needs 'input' (the user's message or turns) or 'user' (a simulated "
                "user with a goal); add one",
            )
        if self.matrix is not None:
            raise ValueError(
                "a matrix scenario is expanded when its file loads (costar.scenarios.load_suite)"
            )
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _omit_when_empty(
            self, handler, ("input", "user", "judges", "matrix", "variant", "draft")
        )

    @field_validator("input")
    @classmethod
    def _non_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and not value:
            raise ValueError("a multi-turn input needs at least one user turn")
        return value

    @field_validator("user")
    @classmethod
    def _not_both(cls, value: SimulatedUser | None, info: ValidationInfo) -> SimulatedUser | None:
        if value is not None and info.data.get("input") is not None:
            raise ValueError(
                "give 'input' (fixed turns) or 'user' (a simulated user), not both; drop one"
            )
        return value

    @property
    def turns(self) -> list[str]:
        """The user's fixed turns (one for a single prompt; none for a simulated user, whose
        turns exist only in its traces)."""
        if self.input is None:
            return []
        return [self.input] if isinstance(self.input, str) else list(self.input)
