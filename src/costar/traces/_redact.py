"""Secret redaction: what costar stores never holds a credential the agent or a judge handled.

Applied where text leaves costar for storage: spans as they become MLflow spans, verdicts as they
enter the verdict store, and written reports. A match is replaced by MARKER. What is matched:
- built-in shapes: bearer and basic credentials, OpenAI/Anthropic-style `sk-...` keys, AWS access
  key ids (`AKIA...`), GitHub tokens (`ghp_...`, `github_pat_...`), Slack tokens (`xox.-...`),
  Google API keys (`AIza...`) and JWT-like `eyJ....eyJ....sig` strings;
- the values of environment variables whose names look secret (KEY, TOKEN, SECRET, PASSWORD,
  CREDENTIAL, ...), at least MIN_ENV_VALUE characters long and not a path, as found when the
  Redactor is made;
- the project's own patterns (costar.toml `redact = [...]`, regular expressions).
A pattern with a group named `secret` replaces only that group (so `Bearer ` stays readable).
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from costar._exceptions import ConfigError

MARKER = "[REDACTED]"
MIN_ENV_VALUE = 8  # shorter values would redact ordinary words
_TOKEN = r"[A-Za-z0-9._~+/-]"


def _word(prefixes: str, width: int) -> str:
    """`prefixes` (one width) at the start of a word. The literal comes first so the regex
    engine can search for it quickly; the boundary is checked after it, looking back."""
    return rf"(?:{prefixes})(?<![A-Za-z0-9_]{'.' * width})"


DEFAULT_PATTERNS = (
    # a bearer credential: with a digit, or long (so prose such as "bearer bonds" stays)
    _word("Bearer|bearer|BEARER", 6)
    + rf"\s+(?P<secret>(?:(?={_TOKEN}*\d){_TOKEN}{{8,}}|{_TOKEN}{{20,}})=*)",
    r"(?:Authorization|authorization|AUTHORIZATION)[\"']?\s*[:=]\s*[\"']?"
    rf"(?:Basic|basic|Token|token|Digest|digest)\s+(?P<secret>{_TOKEN}{{6,}}=*)",
    _word("sk-", 3) + r"[A-Za-z0-9_-]{16,}",
    _word("AKIA|ASIA", 4) + r"[0-9A-Z]{16}\b",
    _word("gh[pousr]_", 4) + r"[A-Za-z0-9]{30,}",
    _word("github_pat_", 11) + r"[A-Za-z0-9_]{22,}",
    _word("xox[abposr]-", 5) + r"[A-Za-z0-9-]{10,}",
    _word("AIza", 4) + r"[0-9A-Za-z_-]{35}",
    _word("eyJ", 3) + r"[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}",
)
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL)", re.I)
_NOT_SECRET = {"true", "false", "none", "null"}


def compile_patterns(patterns: Iterable[str], where: str = "costar.toml 'redact'") -> list:
    """The patterns compiled; an invalid one is a ConfigError that names it."""
    out = []
    for pattern in patterns:
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            raise ConfigError(
                f"{where}: {pattern!r} is not a valid regular expression: {exc} (fix or remove it)"
            ) from exc
    return out


def secret_env_values(env: Mapping[str, str]) -> list[str]:
    """Values of variables whose names look secret, long enough not to be ordinary words
    (file paths such as KEY_FILE=/etc/... are not secrets)."""
    return [
        value
        for name, value in env.items()
        if _SECRET_NAME.search(name)
        and len(value) >= MIN_ENV_VALUE
        and value.lower() not in _NOT_SECRET
        and not value.startswith(("/", "~", "./"))
    ]


class Redactor:
    """Replaces secrets in text and in JSON-like values (dicts, lists, strings)."""

    def __init__(
        self,
        patterns: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        defaults: bool = True,
    ):
        self.patterns = compile_patterns([*(DEFAULT_PATTERNS if defaults else ()), *patterns])
        values = secret_env_values(os.environ if env is None else env)
        # each value also as it appears inside JSON text and inside HTML
        forms = {f for v in values for f in (v, json.dumps(v)[1:-1], html.escape(v))}
        self._literal = (
            re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
            if forms
            else None
        )

    def text(self, text: str) -> str:
        """`text` with every secret replaced by MARKER."""
        if not text:
            return text
        if self._literal is not None:
            text = self._literal.sub(MARKER, text)
        for pattern in self.patterns:
            if "secret" in pattern.groupindex:
                text = pattern.sub(_only_secret, text)
            else:
                text = pattern.sub(MARKER, text)
        return text

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with secrets replaced in every string (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                (self.text(k) if isinstance(k, str) else k): self.value(v) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.text(repr(value))  # what storage would write for it anyway

    def spans(self, spans: Iterable[Any]) -> list[Any]:
        """Copies of SpanRecords with redacted name, inputs, outputs, attributes and error."""
        return [
            replace(
                s,
                name=self.text(s.name),
                inputs=self.value(s.inputs),
                outputs=self.value(s.outputs),
                attributes=self.value(s.attributes),
                error=self.text(s.error) if s.error else s.error,
            )
            for s in spans
        ]


def _only_secret(match: re.Match[str]) -> str:
    start, end = match.span("secret")
    whole = match.group(0)
    offset = match.start()
    return whole[: start - offset] + MARKER + whole[end - offset :]
