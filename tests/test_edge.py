"""The listening edge, tried on a real `python -m aoa` process as a slow or hostile client would:
headers trickled byte by byte, more connections than allowed, requests aiohttp refuses while
parsing, `Expect: 100-continue` with an oversize body."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from tests.test_server_process import processes  # noqa: F401  (fixture)

MOCK = {"AOA_TYPE": "mock", "MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"}


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def _read_all(s: socket.socket, limit: float = 5.0) -> bytes:
    s.settimeout(limit)
    data = b""
    try:
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            data += piece
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def _json_error(data: bytes) -> dict:
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"application/json" in head, data[:400]
    return json.loads(body)["error"]


def test_headers_trickled_byte_by_byte_are_cut_off(processes):
    p = processes({**MOCK, "AOA_HEADER_TIMEOUT": "0.5"})
    s = _connect(p.port)
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    t0 = time.monotonic()
    closed_after = None
    s.settimeout(0.1)
    data = b""
    for byte in head:
        try:
            s.sendall(bytes([byte]))
            piece = s.recv(65536)
            if not piece:
                closed_after = time.monotonic() - t0
                break
            data += piece
        except TimeoutError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            closed_after = time.monotonic() - t0
            break
        if time.monotonic() - t0 > 6:
            break
    s.close()
    assert closed_after is not None and closed_after < 3, (closed_after, data)
    assert data.startswith(b"HTTP/1.1 408") and _json_error(data)["code"] == "request_timeout"
    # A client that sends its headers at once is not affected, even on a kept-alive connection
    # that stays quiet between requests for longer than the header timeout.
    with httpx.Client(base_url=p.url) as c:
        for _ in range(2):
            assert c.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
            time.sleep(0.8)


def test_connections_beyond_the_cap_get_a_503_and_healthz_recovers(processes):
    p = processes({**MOCK, "AOA_HEADER_TIMEOUT": "1", "AOA_MAX_CONNECTIONS": "4"})
    held = [_connect(p.port) for _ in range(4)]
    for s in held:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # never finished
    time.sleep(0.2)
    extra = _connect(p.port)
    data = _read_all(extra, 3)
    extra.close()
    assert data.startswith(b"HTTP/1.1 503"), data[:200]
    assert _json_error(data)["code"] == "too_many_connections"
    # The held connections are cut by the header timeout; the server answers again.
    deadline = time.monotonic() + 5
    while True:
        try:
            if httpx.get(p.url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "healthz never came back"
        time.sleep(0.1)
    for s in held:
        s.close()
    code, log = p.stop()
    assert "Traceback" not in log, log


def _raw(port: int, request: bytes) -> bytes:
    with _connect(port) as s:
        s.sendall(request)
        return _read_all(s, 3)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n",
        b"GET /v1/models?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Encoding: zstdx\r\nContent-Length: 2\r\n\r\n{}',
        b"G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
    ],
    ids=["header-9k", "200-headers", "url-9k", "content-encoding", "bad-method", "tls-hello"],
)
def test_requests_aiohttp_refuses_are_openai_shaped_without_traceback(processes, request_bytes):
    p = processes({**MOCK, "AOA_LOG_LEVEL": "debug"})
    data = _raw(p.port, request_bytes)
    assert data[:9] in (b"HTTP/1.1 ", b"HTTP/1.0 ") and data[9:10] == b"4", data[:300]
    err = _json_error(data)
    assert err["type"] == "invalid_request_error" and err["message"]
    assert httpx.get(p.url + "/healthz").status_code == 200
    code, log = p.stop()
    assert "Traceback" not in log, log


def test_expect_100_continue_with_an_oversize_body_gets_413_first(processes):
    p = processes({**MOCK, "AOA_MAX_BODY": "2048"})
    with _connect(p.port) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        data = _read_all(s, 3)
    assert data.startswith(b"HTTP/1.1 413"), data[:300]
    assert b"100 Continue" not in data
    assert _json_error(data)["code"] == "request_too_large"
    # Within the limit, the client is told to go on and the request is served.
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    with _connect(p.port) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(body))
        s.settimeout(3)
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 100 Continue"), first
        s.sendall(body)
        rest = _read_all(s, 3)
    assert b"HTTP/1.1 200" in first + rest


def test_a_non_json_content_type_is_accepted_when_the_body_is_json(processes):
    """Documented: aoa reads the body as JSON whatever the Content-Type (curl -d sends
    application/x-www-form-urlencoded)."""
    p = processes(MOCK)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    r = httpx.post(p.url + "/v1/chat/completions", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200
    r = httpx.post(p.url + "/v1/chat/completions", content=b"a=1&b=2", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


def test_a_flood_of_accept_errors_is_logged_once_per_period():
    import logging

    from gateway.edge import OncePer

    records: list[logging.LogRecord] = []
    logger = logging.getLogger("test.edge.flood")
    logger.propagate = False
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    logger.addFilter(OncePer(period=0.3))
    try:
        raise OSError(24, "Too many open files")
    except OSError as exc:
        err = exc
    for _ in range(5000):
        logger.error("socket.accept() out of system resource", exc_info=err)
    time.sleep(0.35)
    logger.error("socket.accept() out of system resource", exc_info=err)
    assert len(records) == 2
    assert records[0].exc_info is None  # no traceback per accept failure
    assert "4999 more" in records[1].getMessage()


def test_with_few_file_descriptors_a_slowloris_flood_cannot_take_healthz_down():
    """128 descriptors, 150 connections trickling headers: the default cap (32 here) keeps
    descriptors free, the rest are refused, /healthz comes back and the log stays short."""
    import os
    import resource
    import subprocess
    import sys

    from tests.support import free_port
    from tests.test_server_process import ROOT

    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "AOA_HOST": "127.0.0.1", "AOA_PORT": str(port),
           "AOA_HEADER_TIMEOUT": "2", **MOCK}
    proc = subprocess.Popen([sys.executable, "-m", "aoa"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128)))
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "aoa did not start"
            time.sleep(0.05)
        held = []
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHo")
            held.append(s)
        # Within the header timeout the held connections are cut and /healthz answers again;
        # every flooding connection has had an answer (503 at once, or 408 once it was let in).
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "healthz never came back"
            time.sleep(0.1)
        outcome: dict[str, int] = {}
        for s in held:
            s.settimeout(5)
            try:
                got = s.recv(100)
                kind = got[:12].decode(errors="replace") or "closed"
            except TimeoutError:
                kind = "no answer"
            except ConnectionResetError:
                kind = "reset"
            outcome[kind] = outcome.get(kind, 0) + 1
        # How many are refused at once (503) or let in and timed out (408) depends on how fast
        # this machine opens them; none is left without an answer.
        assert set(outcome) <= {"HTTP/1.1 503", "HTTP/1.1 408"}, outcome
        for s in held:
            s.close()
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=15)
    assert "Traceback" not in err and len(err.splitlines()) < 50, err[-3000:]
