"""Timestamps frameworks report, as nanoseconds since the epoch."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any


def to_ns(value: Any, default: int | None = None) -> int:
    """ISO text, a datetime or Unix seconds as epoch nanoseconds (`default`, else now)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1e9)
    if isinstance(value, int | float):
        return int(value * 1e9)
    return default if default is not None else time.time_ns()
