"""`costar monitor`'s loop: passes once or until interrupted, each alert raised only once.

Which alerts were raised is kept beside the cursor (NAME-alerted.json), so a window that stays
in drift across passes, restarts and crashes alerts once, not on every pass.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costar._exceptions import ConfigError
from costar.monitor._alerts import Alert, AlertPolicy, alerts_for, send
from costar.monitor._watch import MonitorConfig, PassResult, monitor_pass

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds from '90', '30s', '15m', '1h' or '1d'."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
    if not found or int(found.group(1)) <= 0:
        raise ConfigError(f"duration {text!r}: use a number with s, m, h or d (for example 1h)")
    return int(found.group(1)) * _UNITS[found.group(2) or "s"]


@dataclass
class WatchPass:
    """One pass: what was scored, each window's statistics, the alerts new in this pass."""

    result: PassResult
    windows: list[dict[str, Any]]
    alerts: list[Alert] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # alerts that could not be delivered


class AlertLog:
    """The alerts already raised, by kind, subject and window, in a JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: set[str] = set(json.loads(path.read_text())) if path.exists() else set()

    @staticmethod
    def key(alert: Alert) -> str:
        return f"{alert.kind}|{alert.subject}|{alert.window}"

    def fresh(self, alerts: list[Alert]) -> list[Alert]:
        return [a for a in alerts if self.key(a) not in self.seen]

    def remember(self, alerts: list[Alert]) -> None:
        self.seen |= {self.key(a) for a in alerts}
        self.path.write_text(json.dumps(sorted(self.seen)))


def watch(
    cfg: MonitorConfig,
    policy: AlertPolicy,
    sink: Path | None,
    webhook: str | None,
    on_pass: Callable[[WatchPass], None],
    follow: bool = False,
    pause_s: float = 60,
) -> int:
    """Monitor passes (one, or with `follow` until KeyboardInterrupt, `pause_s` apart); new
    alerts go to `sink` and `webhook`. Returns how many alerts were raised."""
    log = AlertLog(cfg.cursor_path.with_name(f"{cfg.name}-alerted.json"))
    raised = 0
    while True:
        result = monitor_pass(cfg)
        found, stats = alerts_for(cfg.verdicts, cfg.name, result.windows, policy)
        fresh = log.fresh(found)
        problems = send(fresh, sink, webhook)
        log.remember(fresh)
        raised += len(fresh)
        on_pass(WatchPass(result, stats, fresh, problems))
        if not follow:
            return raised
        time.sleep(pause_s)
