"""Run the support agent's suite end to end.

Offline (the default), the model is the scripted fake LLM serving fake_llm.yaml on 127.0.0.1:
replies come from that script, not from a real model. With COSTAR_MODEL set (and the
provider's key, or COSTAR_LLM_BASE_URL for a local server), the same suite runs against that
real model. Then the project's judges score the run (`costar assess --last`) and the demo ends
with its report (`costar report`, also written to .costar/report.html). Extra arguments go to
`costar run` (default: --trials 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from costar.llm import FakeLLM

HERE = Path(__file__).parent
COSTAR = str(Path(sys.executable).parent / "costar")
ASSESS = [COSTAR, "assess", "--last"]  # then score the traces just recorded
REPORT = [COSTAR, "report", "--html", ".costar/report.html"]  # and report on the newest run


def main() -> int:
    args = sys.argv[1:] or ["--trials", "2"]
    model = os.environ.get("COSTAR_MODEL")
    if model:
        print(f"model: {model} (a real model, named by COSTAR_MODEL)", flush=True)
        run = [COSTAR, "run", "--name", f"support on {model}", *args]
        return (
            subprocess.call(run, cwd=HERE)
            or subprocess.call(ASSESS, cwd=HERE)
            or subprocess.call(REPORT, cwd=HERE)
        )
    with FakeLLM(HERE / "fake_llm.yaml") as fake:
        print(
            f"model: the scripted fake LLM at {fake.base_url}. This is not a real model: its "
            "replies come from examples/support/fake_llm.yaml. Set COSTAR_MODEL to use one.",
            flush=True,
        )
        env = {**os.environ, **fake.env("openai:/scripted-fake")}
        run = [COSTAR, "run", "--name", "support on the scripted fake LLM", *args]
        return (
            subprocess.call(run, cwd=HERE, env=env)
            or subprocess.call(ASSESS, cwd=HERE, env=env)
            or subprocess.call(REPORT, cwd=HERE, env=env)
        )


if __name__ == "__main__":
    sys.exit(main())
