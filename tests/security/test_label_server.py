"""The labelling server under hostile clients: real server on 127.0.0.1, raw sockets and httpx."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from _judge_project import assess_config, record
from costar.align import GoldenSet
from costar.judges import build
from costar.traces import TraceStore
from costar.web import LabelServer, LabelSession


@pytest.fixture
def server(project: Path):
    cfg = assess_config(project)
    (row,) = TraceStore(cfg.tracking_uri).run_traces(record(project, 1))
    queue = [{"trace_id": row.trace_id, "scenario_id": row.scenario_id, "reasons": []}]
    session = LabelSession(cfg, [build("output-present")], queue, "ann")
    with LabelServer(session) as srv:
        yield srv


def _auth(srv: LabelServer, **extra: str) -> dict[str, str]:
    return {"X-Costar-Token": srv.session.token, **extra}


def _raw(srv: LabelServer, request: bytes) -> bytes:
    """Send `request` on a raw socket, keep it open, read the answer (the server closes after)."""
    host, port = srv._server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _post_head(srv: LabelServer, length: str) -> bytes:
    port = srv._server.server_address[1]
    return (
        f"POST /api/label HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"X-Costar-Token: {srv.session.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


def _labels(srv: LabelServer) -> list:
    return GoldenSet(TraceStore(srv.session.config.tracking_uri)).labels()


@pytest.mark.parametrize("body", ["[]", '["a", 1]', '"text"', "5"])
def test_a_body_that_is_not_an_object_is_a_short_400(server, body: str) -> None:
    answer = httpx.post(
        server.base_url + "/api/label", content=body, headers=_auth(server), timeout=10
    )
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert "Error" not in message and "object" in message and len(message) < 120


@pytest.mark.parametrize("value", [{"a": 1}, ["pass"], [1, 2]])
def test_a_label_value_that_is_not_a_scalar_is_refused_and_not_stored(server, value) -> None:
    body = {
        "trace_id": server.session.queue[0]["trace_id"],
        "judge": "output-present",
        "value": value,
    }
    answer = httpx.post(server.base_url + "/api/label", json=body, headers=_auth(server))
    assert answer.status_code == 400 and "value" in answer.json()["error"]
    assert _labels(server) == []
    body["value"] = "pass"  # the same label with a scalar value is stored
    assert httpx.post(server.base_url + "/api/label", json=body, headers=_auth(server)).is_success
    assert [lb.value for lb in _labels(server)] == [True]


@pytest.mark.parametrize(
    ("length", "status"), [("-1", 400), ("abc", 400), ("1e3", 400), (str(10**12), 413)]
)
def test_a_bad_content_length_is_refused_at_once(server, length: str, status: int) -> None:
    # the body never comes: a server that waits for it would hit the socket timeout instead
    answer = _raw(server, _post_head(server, length))
    assert answer.startswith(f"HTTP/1.1 {status}".encode()), answer[:200]
    assert _labels(server) == []


def test_cross_origin_posts_are_refused(server) -> None:
    body = {
        "trace_id": server.session.queue[0]["trace_id"],
        "judge": "output-present",
        "value": {"bad": 1},
    }
    url = server.base_url + "/api/label"
    for origin in ("http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1"):
        refused = httpx.post(url, json=body, headers=_auth(server, Origin=origin))
        assert refused.status_code == 403, origin
    # the page's own origin passes the origin check (and reaches validation: 400, not 403)
    own = httpx.post(url, json=body, headers=_auth(server, Origin=server.base_url))
    assert own.status_code == 400


def test_early_client_disconnects_print_no_traceback(server, capfd) -> None:
    host, port = server._server.server_address[:2]
    for _ in range(20):
        sock = socket.create_connection((host, port), timeout=10)
        sock.sendall(_post_head(server, "5000") + b'{"trace_id": ')
        # close with a reset, before the body is complete and before the answer is read
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    # the server still serves, and said nothing like a traceback while it coped
    assert httpx.get(server.base_url + "/api/queue", headers=_auth(server)).status_code == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) <= 1


@pytest.mark.skipif(
    shutil.which("ss") is None, reason="ss is not installed (apt-get install iproute2)"
)
def test_the_listen_backlog_is_larger_than_five(server) -> None:
    port = server._server.server_address[1]
    listing = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    # for a listening socket, ss shows the backlog as Send-Q (the third column)
    assert int(listing[2]) >= 64, listing
