"""The built-in assistant: GEPA rewrites a prompt component, the fake LLM proposing the new
text from the judges' feedback, and the acceptance gate keeps the change."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_refine import SUITE, commit_all, config, git

from _helpers import write_files

pytestmark = pytest.mark.loop

AGENT = """
from pathlib import Path

HERE = Path(__file__).parent


def run(ctx):
    prompt = (HERE / "prompt.md").read_text().lower()
    if ctx.input == "greet":
        return "hello!" if "say hello" in prompt else "hi"
    return {"bye": "goodbye", "greet again": "welcome back"}.get(ctx.input, ctx.input)
"""
BETTER = "Be kind to customers. Always say hello when someone greets you."
SCRIPT = {
    "rules": [
        {
            "when": {"user": "I provided an assistant with the following instructions"},
            "reply": {"text": f"Here is a better version.\n```\n{BETTER}\n```"},
        }
    ]
}


@pytest.fixture
def repo(project: Path) -> Path:
    write_files(
        project,
        {
            "costar.toml": (
                "[costar]\nsuite = 'scenarios'\nagent = 'shop_agent:run'\n"
                "agent_files = ['shop_agent.py', 'prompt.md']\nrefine_components = ['prompt.md']\n"
            ),
            "shop_agent.py": AGENT,
            "prompt.md": "Be kind to customers.\n",
            ".gitignore": ".costar/\n__pycache__/\n",
            **SUITE,
        },
    )
    return commit_all(project)


def test_gepa_improves_the_prompt_and_the_change_is_accepted(repo: Path, fake_llm) -> None:
    from costar.config import load_settings
    from costar.refine import refine

    fake = fake_llm(SCRIPT, "openai:/reflector")
    cfg = config(repo, "gepa", gepa_budget=8, max_iterations=1)
    cfg.components = load_settings(start=repo).refine_components
    result = refine(cfg)
    reflections = [r for r in fake.requests if "I provided an assistant" in str(r)]

    assert result.status == "accepted", result.attempts[0].reason
    (attempt,) = result.attempts
    assert attempt.tokens > 0 and reflections
    assert "greet" in str(reflections[0]) and "expected-facts failed" in str(reflections[0])
    assert BETTER in git(repo, "show", f"{attempt.branch}:prompt.md")
    assert "-Be kind to customers." in attempt.diff and f"+{BETTER}" in attempt.diff
