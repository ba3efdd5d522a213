"""A stand-in for a coding assistant, for the offline demo of `costar refine`.

A real assistant (`claude -p {brief}`, `codex exec {brief}`, `aider --message-file
{brief_file}`) reads the brief, finds the cause and edits the agent. This script knows one fix:
when the judges report refunds issued without reading the policy, it adds a hard rule to the
system prompt. The scripted fake LLM (fake_llm.yaml) follows that rule, as a real model would.
"""

from __future__ import annotations

import sys
from pathlib import Path

RULE = (
    "Hard rule for refunds: never call issue_refund before read_policy, and never in the same "
    "turn as the request. Read the policy, tell the customer what it allows, and wait for them "
    "to confirm."
)


def main() -> int:
    brief = Path(sys.argv[1]).read_text(encoding="utf-8")
    if "read_policy" not in brief:
        print("the brief reports no refund-policy failure; nothing changed")
        return 0
    prompt = Path("prompts/system.md")
    prompt.write_text(prompt.read_text(encoding="utf-8").rstrip() + "\n\n" + RULE + "\n")
    print(f"added the refund rule to {prompt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
