"""`costar fake-llm serve`: the scripted OpenAI-compatible fake LLM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costar.cli._output import cannot_listen


def fake_llm_serve(
    script: Annotated[Path, typer.Option("--script", help="YAML or JSON script of rules.")],
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free).")] = 0,
) -> None:
    """Serve /v1/chat/completions, /v1/responses, /v1/embeddings and /v1/models on 127.0.0.1
    until Ctrl-C; one line per request on stderr names the rule that answered."""
    import sys
    import time

    from costar.llm import FakeLLM

    try:
        fake = FakeLLM(script, port=port, log=sys.stderr).start()
    except OSError as exc:
        cannot_listen(port, exc)
    typer.echo(f"fake LLM serving {len(fake.script.rules)} rules at {fake.base_url}")
    typer.echo(f"point costar at it: COSTAR_MODEL=openai:/fake COSTAR_LLM_BASE_URL={fake.base_url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
