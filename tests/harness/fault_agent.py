"""A command agent for the fault tests: JSON on stdin, JSON on stdout; the input says what to do.

quick      reply at once
hold       unless MARK_DIR/go exists: start a child (it must die with the agent's process
           group), write MARK_DIR/<pid>.held holding both pids, wait for MARK_DIR/go
surrogate  reply with text holding a lone surrogate (the JSON escape \\ud800)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    text = json.load(sys.stdin)["input"]
    marks = os.environ["MARK_DIR"]
    go = os.path.join(marks, "go")
    if text.startswith("hold") and not os.path.exists(go):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        with open(os.path.join(marks, f"{os.getpid()}.held"), "w") as fh:
            fh.write(f"{os.getpid()} {child.pid}")
        while not os.path.exists(go):
            time.sleep(0.05)
        child.kill()
    if text == "surrogate":
        print(json.dumps({"output": "bad \ud800 text"}))
        return
    print(json.dumps({"output": f"done: {text}"}))


if __name__ == "__main__":
    main()
