"""Secrets never reach a store or a report: the bytes of every file costar wrote are grepped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.traces._redact import MARKER, Redactor

BEARER = "ya29.A0ARrdaMs3cr3tB3arerT0kenXYZ"
ENV_SECRET = "env-s3cr3t-9f8e7d6c5b4a"
OPENAI_KEY = "sk-proj-Abc123Def456Ghi789Jkl0"
CUSTOM = "internal-48213"
SECRETS = [BEARER, ENV_SECRET, OPENAI_KEY, CUSTOM]

AGENT = f"""
import os
import costar

@costar.tool
def call_api(url: str, headers: dict) -> dict:
    return {{"status": 200, "sent": headers["Authorization"]}}

def run(ctx):
    call_api("https://api.example/v1", {{"Authorization": "Bearer {BEARER}"}})
    return f"key {{os.environ['MY_SERVICE_API_KEY']}}, openai {OPENAI_KEY}, ticket {CUSTOM}"
"""

JUDGE = f"""
import os
import costar

@costar.judge(name="leaky-rationale", kind="check")
def leaky(view, scenario):
    # a judge that writes secrets into its rationale on its own, not from the trace
    return costar.Outcome(
        passed=False,
        rationale="Authorization: Bearer {BEARER} / " + os.environ["MY_SERVICE_API_KEY"],
    )
"""


def _costar(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MY_SERVICE_API_KEY": ENV_SECRET}
    return run_cli(project, *args, env=env)


def test_secrets_are_redacted_in_traces_verdicts_and_reports(project: Path) -> None:
    write_files(
        project,
        {
            "costar.toml": "[costar]\nsuite = 'scenarios'\nredact = ['internal-[0-9]+']\n",
            "leaky_agent.py": AGENT,
            "judges/leaky.py": JUDGE,
            "scenarios/a.yaml": "id: a\ninput: call the API\n",
        },
    )
    ran = _costar(project, "run", "--agent", "leaky_agent:run")
    assert ran.returncode == 0, ran.stderr
    assessed = _costar(project, "assess", "--last")
    assert assessed.returncode == 0, assessed.stderr
    html = project / "report.html"
    reported = _costar(project, "report", "--html", str(html))
    assert reported.returncode == 0, reported.stderr

    stores = [p for p in (project / ".costar").rglob("*") if p.is_file()]
    mlflow_db = project / ".costar" / "mlflow.db"
    verdict_db = project / ".costar" / "verdicts.db"
    assert mlflow_db in stores and verdict_db in stores
    for path in [*stores, html]:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, (secret, path)
    for path in (mlflow_db, verdict_db, html):
        assert b"[REDACTED]" in path.read_bytes(), path
    # what is not secret is kept: the tool call, its URL and the judge's verdict
    assert b"https://api.example/v1" in mlflow_db.read_bytes()
    assert b"leaky-rationale" in verdict_db.read_bytes()


SHAPES = [
    ("Authorization: Bearer ya29.a0AfH6SMBx1234", "Authorization: Bearer [REDACTED]"),
    ('{"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}', '{"Authorization": "Basic [REDACTED]"}'),
    ("key sk-ant-api03-AbCdEfGhIjKlMnOpQr", "key [REDACTED]"),
    ("aws AKIAIOSFODNN7EXAMPLE here", "aws [REDACTED] here"),
    ("gh ghp_0123456789abcdefghijABCDEFGHIJ012345", "gh [REDACTED]"),
    ("slack xoxb-1234567890-abcdefghij", "slack [REDACTED]"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl", "jwt [REDACTED]"),
    # prose that only looks like a credential stays as it was
    ("bearer bonds and basic arithmetic with a token structure", None),
    ("the sk-learn docs; AKIA is a prefix", None),
]


@pytest.mark.parametrize(("text", "expected"), SHAPES)
def test_built_in_secret_shapes(text: str, expected: str | None) -> None:
    assert Redactor(env={}).text(text) == (expected or text)


def test_secret_environment_values_are_redacted_and_other_values_kept() -> None:
    env = {"DB_PASSWORD": "hunter2-but-longer", "KEY_FILE": "/etc/ssl/k.pem", "HOME": "/root"}
    redactor = Redactor(env=env)
    text = 'pw hunter2-but-longer, file /etc/ssl/k.pem, json "hunter2-but-longer"'
    assert redactor.text(text) == 'pw [REDACTED], file /etc/ssl/k.pem, json "[REDACTED]"'
    assert redactor.value({"pw": ["hunter2-but-longer"], "n": 3}) == {"pw": [MARKER], "n": 3}


def test_an_invalid_redact_pattern_is_a_one_line_usage_error(project: Path) -> None:
    (project / "costar.toml").write_text("[costar]\nredact = ['(unclosed']\n", encoding="utf-8")
    done = _costar(project, "runs")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "costar.toml" in line and "'redact" in line and "(unclosed" in line


PRODUCTION = f"""
import os, sys
os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
import mlflow
import costar

@costar.tool
def call_api(url, headers):
    return {{"sent": headers["Authorization"]}}

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("production")
with mlflow.start_span("support-agent", span_type="AGENT"):
    call_api("https://api.example/v1", {{"Authorization": "Bearer {BEARER}"}})
mlflow.flush_trace_async_logging()
"""


@pytest.mark.slow
def test_steps_written_straight_to_mlflow_in_production_are_redacted(
    tmp_path: Path, store_uri: str
) -> None:
    script = tmp_path / "prod.py"
    script.write_text(PRODUCTION, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), store_uri], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    data = Path(store_uri.removeprefix("sqlite:///")).read_bytes()
    assert BEARER.encode() not in data
    assert b"Bearer [REDACTED]" in data and b"https://api.example/v1" in data
