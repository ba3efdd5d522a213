"""Run a subprocess with a timeout that kills its whole process group and bounded capture.

Used by setup commands and the command agent adapter. Output beyond the cap is counted and
dropped, so an agent that prints gigabytes cannot exhaust memory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import IO

DEFAULT_CAP = 1_000_000  # bytes kept per stream


@dataclass
class _Capture:
    cap: int
    data: bytearray
    dropped: int = 0

    def feed(self, stream: IO[bytes]) -> None:
        while chunk := stream.read(65536):
            room = self.cap - len(self.data)
            if room > 0:
                self.data += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        body = self.data.decode("utf-8", errors="replace")
        if self.dropped:
            body += f"\n[costar: output truncated, {self.dropped} more bytes dropped]"
        return body


@dataclass
class ProcResult:
    """What a finished, killed or cancelled process left behind."""

    returncode: int | None
    stdout: bytes
    stderr_text: str
    stdout_dropped: int
    timed_out: bool
    cancelled: bool
    seconds: float

    def stdout_text(self) -> str:
        body = self.stdout.decode("utf-8", errors="replace")
        if self.stdout_dropped:
            body += f"\n[costar: output truncated, {self.stdout_dropped} more bytes dropped]"
        return body


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_process(
    args: str | list[str],
    *,
    cwd: str | os.PathLike[str],
    env: dict[str, str],
    timeout: float,
    stdin: bytes | None = None,
    shell: bool = False,
    cap: int = DEFAULT_CAP,
    cancel: threading.Event | None = None,
) -> ProcResult:
    """Run `args` in its own session; kill the whole group at `timeout` or when `cancel` is set."""
    start = time.monotonic()
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        shell=shell,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    out, err = _Capture(cap, bytearray()), _Capture(cap, bytearray())
    assert proc.stdout and proc.stderr and proc.stdin
    readers = [
        threading.Thread(target=out.feed, args=(proc.stdout,), daemon=True),
        threading.Thread(target=err.feed, args=(proc.stderr,), daemon=True),
    ]
    for t in readers:
        t.start()

    def write_stdin() -> None:
        try:
            if stdin:
                proc.stdin.write(stdin)  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            pass

    writer = threading.Thread(target=write_stdin, daemon=True)
    writer.start()
    deadline = start + timeout
    timed_out = cancelled = False
    while True:
        try:
            proc.wait(timeout=0.05)
            break
        except subprocess.TimeoutExpired:
            if cancel is not None and cancel.is_set():
                cancelled = True
            elif time.monotonic() >= deadline:
                timed_out = True
            else:
                continue
            _kill_group(proc)
            proc.wait()
            break
    # The group is gone or the leader exited; children that keep the pipes open are killed too.
    for t in readers:
        t.join(timeout=2)
        if t.is_alive():
            _kill_group(proc)
            t.join(timeout=2)
    writer.join(timeout=2)
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    return ProcResult(
        returncode=proc.returncode,
        stdout=bytes(out.data),
        stderr_text=err.text(),
        stdout_dropped=out.dropped,
        timed_out=timed_out,
        cancelled=cancelled,
        seconds=time.monotonic() - start,
    )
