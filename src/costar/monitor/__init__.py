"""Monitor: the project's judges on sampled production traces (a persisted cursor, windows,
drift and cost alerts to the terminal, a JSON-lines file or a webhook), and production traces
promoted to candidate scenarios."""

from costar.monitor._alerts import (
    Alert,
    AlertPolicy,
    Window,
    alerts_for,
    detect,
    fisher_lower,
    robust_outliers,
    robust_z,
    send,
)
from costar.monitor._follow import AlertLog, WatchPass, parse_duration, watch
from costar.monitor._promote import (
    scenario_text,
    trace_ids_from_alerts,
    user_turns,
    write_scenarios,
)
from costar.monitor._watch import (
    Cursor,
    MonitorConfig,
    PassResult,
    monitor_pass,
    sampled,
    window_run_id,
    window_start,
)

__all__ = [
    "Alert",
    "AlertLog",
    "AlertPolicy",
    "Cursor",
    "MonitorConfig",
    "PassResult",
    "WatchPass",
    "Window",
    "alerts_for",
    "detect",
    "fisher_lower",
    "monitor_pass",
    "parse_duration",
    "robust_outliers",
    "robust_z",
    "sampled",
    "scenario_text",
    "send",
    "trace_ids_from_alerts",
    "user_turns",
    "watch",
    "window_run_id",
    "window_start",
    "write_scenarios",
]
