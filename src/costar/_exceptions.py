"""Every error costar raises, under one base class.

    CostarError
    ├── UsageError            the user can fix it: exit code 2, one line, no traceback
    │   ├── ConfigError       costar.toml, flags or environment are wrong
    │   │   └── InputError    a file costar reads is unreadable or malformed (one line, path:line)
    │   ├── ScenarioError     one or more scenario files are invalid (all problems at once)
    │   ├── NotFoundError     a run, trace or file named by the user does not exist
    │   ├── AlignError        alignment cannot run (too few labels, not an LLM judge)
    │   └── web.BadRequest    a request the labelling page's API refuses (also a ValueError)
    ├── AgentError            the agent under test misbehaved; recorded in its trace, never raised
    │   ├── AgentTimeout      it ran past its timeout and was killed
    │   ├── AgentProtocolError  it answered in a shape costar cannot read (non-JSON, wrong fields)
    │   └── harness.ReplayedToolError  a recorded tool error raised again into a replayed agent
    ├── harness.ReplayMiss    a strict replay met a call with no recording (recorded in its span)
    ├── pytest_plugin.CostarFailure / CostarJudgeError  a judge failed / could not judge a test
    └── InfraError            costar's own machinery failed: exit code 3, retried where safe
        ├── StoreError        the trace store could not be read or written
        ├── SetupError        a scenario's initial state could not be built; recorded in its trace
        ├── RefineError       the refine loop cannot start or continue (no git, a failed run)
        │   └── refine.GitError  a git command failed
        └── LLMError          a model call failed after its bounded retries
            ├── LLMRateLimitError   HTTP 429 every time
            ├── LLMServerError      HTTP 5xx every time
            ├── LLMTimeoutError     no answer within the call's timeout
            ├── LLMResponseError    an answer costar cannot read (malformed JSON, cut off)
            └── LLMRequestError     the provider refused the request (4xx other than 429)

The classes named `package.Name` live beside the code that raises them; every other one is
here. tests/test_architecture.py checks that no exception class in costar stands outside.

Errors from dependencies are translated at the boundary (`raise StoreError(...) from exc`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes shared by every command."""

    OK = 0
    FINDINGS = 1  # a gate failed or findings exist
    USAGE = 2  # usage or configuration error
    INFRA = 3  # infrastructure error
    INTERRUPTED = 130  # Ctrl-C; the command says how to resume


class CostarError(Exception):
    """Base class of every costar error."""

    exit_code: ExitCode = ExitCode.INFRA


class UsageError(CostarError):
    """A mistake the user can fix; printed as one line."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """costar.toml, a flag or a COSTAR_* variable is invalid."""


class InputError(ConfigError):
    """A file costar reads is too big, not UTF-8, malformed or hostile (`costar._input`).

    The message is one line, `path:line[:col]: what (how to fix)`; newlines are flattened."""

    def __init__(self, message: str):
        super().__init__(" ".join(message.split("\n")))


class NotFoundError(UsageError):
    """A run, trace, agent or file the user named does not exist."""


class ScenarioError(UsageError):
    """Scenario files are invalid. `problems` holds one `path:line:col: what (fix)` per error."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{len(self.problems)} scenario {noun}:\n" + "\n".join(self.problems))


class AgentError(CostarError):
    """The agent under test failed. Recorded as trace status, never a costar crash."""

    status = "error"


class AgentTimeout(AgentError):
    """The agent ran past its timeout and was killed."""

    status = "timeout"


class AgentProtocolError(AgentError):
    """The agent's reply could not be read (non-JSON stdout, wrong HTTP response shape)."""


class InfraError(CostarError):
    """costar's own machinery failed (disk, network, store)."""

    exit_code = ExitCode.INFRA


class AlignError(UsageError):
    """Alignment cannot run (too few labels, a judge that is not an LLM judge, ...)."""


class SetupError(InfraError):
    """The scenario's initial state could not be built (a failing command, bad SQL)."""


class RefineError(InfraError):
    """The loop cannot start or continue (no git, no editable files, a run that failed)."""


class StoreError(InfraError):
    """The MLflow trace store could not be read or written."""


class LLMError(InfraError):
    """A model call failed after its bounded retries. `attempts` counts the tries made."""

    def __init__(self, message: str, attempts: int = 1):
        super().__init__(message)
        self.attempts = attempts


class LLMRateLimitError(LLMError):
    """The provider answered 429 on every attempt."""


class LLMServerError(LLMError):
    """The provider answered 5xx on every attempt."""


class LLMTimeoutError(LLMError):
    """No complete answer arrived within the call's timeout."""


class LLMResponseError(LLMError):
    """The answer was not a readable chat completion (malformed JSON, truncated body)."""


class LLMRequestError(LLMError):
    """The provider refused the request (4xx other than 429): a wrong key, model or argument."""
