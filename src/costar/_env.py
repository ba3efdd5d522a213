"""Keep dependencies off the network by default (users can still set these variables).

- MLFLOW_DISABLE_TELEMETRY, DO_NOT_TRACK: usage telemetry of MLflow and others.
- LITELLM_LOCAL_MODEL_COST_MAP: litellm's bundled price map instead of a download.
- MLFLOW_MODEL_CATALOG_URI="": MLflow 3.17 otherwise downloads a model price catalog, with
  retries, the first time it stores an LLM span that names its provider; offline that stalled
  every writing process for about 7 s. Empty means MLflow's bundled catalog.
- MLFLOW_HTTP_REQUEST_MAX_RETRIES=3, MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=1: MLflow's REST client
  otherwise retries 7 times with a doubling backoff, so an unreachable tracking server took
  over 4 minutes to report; now about 10 s.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "MLFLOW_MODEL_CATALOG_URI": "",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}


def quiet_dependencies() -> None:
    """Set each default unless the user already set that variable."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
