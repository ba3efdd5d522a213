"""`costar fake-llm serve` as a real process, and script validation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from costar._exceptions import ConfigError
from costar.llm import LLMClient, load_script


@pytest.mark.slow
def test_serve_command_answers_from_its_script(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text("rules:\n  - when: {last_message: ping}\n    reply: {text: pong}\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "costar.cli", "fake-llm", "serve", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "fake LLM serving 1 rules at http://127.0.0.1:" in line
        base_url = line.rsplit(" at ", 1)[1].strip()
        client = LLMClient("openai:/fake", base_url=base_url)
        assert client.chat([{"role": "user", "content": "ping"}]).text == "pong"
        client.close()
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    # one line per request on stderr, naming the rule that answered
    assert "POST /v1/chat/completions model=fake stream=no -> rule 1: text" in stderr


@pytest.mark.slow
def test_invalid_script_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - fault: {kind: '418'}\n")
    with pytest.raises(ConfigError, match="bad.yaml:2: 'rules.0.fault.kind'"):
        load_script(bad)
    done = subprocess.run(
        [sys.executable, "-m", "costar.cli", "fake-llm", "serve", "--script", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.startswith("costar: error: ")
