"""aoa as a real process (`python -m aoa`): it binds AOA_HOST, drains in-flight streams on
SIGTERM, and never writes a secret to its log or to an error body."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

import aoa
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.proxies import HTTPProxy, SOCKS5Proxy
from tests.support import free_port

ROOT = Path(aoa.__file__).parent


class AoaProcess:
    def __init__(self, env: dict[str, str], host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "AOA_HOST": host, "AOA_PORT": str(self.port)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aoa"], env={**base, **env}, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"aoa exited: {self.proc.stderr.read()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("aoa did not become healthy")
            time.sleep(0.05)

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out + err


@pytest.fixture
def processes():
    started: list[AoaProcess] = []

    def start(env, **kw):
        p = AoaProcess(env, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.communicate()


def _can_bind(host: str) -> bool:
    try:
        with socket.socket() as s:
            s.bind((host, 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _can_bind("127.0.0.2"), reason="127.0.0.2 is not a local address here (Linux has all of 127/8)")
def test_binds_aoa_host(processes):
    p = processes({"AOA_TYPE": "mock"}, host="127.0.0.2")
    assert httpx.get(p.url + "/healthz").status_code == 200
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", p.port)) != 0  # not listening on every interface
    code, log = p.stop()
    assert code == 0
    assert "127.0.0.2" in log


def test_sigterm_drains_inflight_stream(processes):
    p = processes({"AOA_TYPE": "mock", "MOCK_REPLY": "lorem", "MOCK_LOREM_WORDS": "12", "MOCK_TOKEN_RATE": "20",
                   "MOCK_FIRST_TOKEN_DELAY": "0", "AOA_SHUTDOWN_GRACE": "10"})
    c = openai.OpenAI(base_url=p.url + "/v1", api_key="x", max_retries=0)
    stream = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "go"}], stream=True)
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGTERM)
    words = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices).split()
    assert len(words) == 12  # the stream ran to its end, [DONE] included (the SDK stops there)
    out, err = p.proc.communicate(timeout=10)  # no second signal: the first must suffice
    assert p.proc.returncode == 0, out + err
    assert time.monotonic() - t0 < 5
    # The process is gone: nothing answers any more.
    with pytest.raises(httpx.HTTPError):
        httpx.get(p.url + "/healthz", timeout=1)


SECRETS = {
    "server": "sk-server-secret-AAAA1111",
    "access": "access-secret-BBBB2222",
    "proxy": "proxy-pass-CCCC3333",
    "bearer": "client-bearer-DDDD4444",
}


def _bodies_and_log_clean(bodies: list[str], log: str) -> None:
    assert log.strip(), "the log should not be empty"
    for name, secret in SECRETS.items():
        assert secret not in log, f"{name} secret in the log:\n{log}"
        for body in bodies:
            assert secret not in body, f"{name} secret in an error body: {body}"


def test_secrets_never_logged_nor_returned(serve, processes):
    fake = FakeOpenAI()
    up = serve(fake.app())
    proxy = HTTPProxy(user="pu", password=SECRETS["proxy"]).start()
    try:
        p = processes({
            "AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": SECRETS["server"],
            "AOA_API_KEYS": SECRETS["access"], "OPENAI_HTTP_PROXY": proxy.url, "AOA_LOG_LEVEL": "debug",
            "AOA_RETRIES": "0",  # the reset below must reach the client as a 502
        })
        url = p.url + "/v1/chat/completions"
        ok = {"Authorization": f"Bearer {SECRETS['access']}"}
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        bodies = []
        echo = {"error": {"message": f"Incorrect API key provided: {SECRETS['server']}. Also api-key: {SECRETS['server']}", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
        fake.reply_json(echo, status=401)
        r = httpx.post(url, json=body, headers=ok)
        assert r.status_code == 401 and "Incorrect API key provided" in r.text
        bodies.append(r.text)
        fake.reply_json(echo, status=401)
        r = httpx.post(url, json={**body, "stream": True}, headers=ok)
        assert r.status_code == 401
        bodies.append(r.text)
        fake.reply_reset()
        r = httpx.post(url, json=body, headers=ok)
        assert r.status_code == 502
        bodies.append(r.text)
        fake.reply_sse([{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]},
                        {"error": {"message": f"key {SECRETS['server']} revoked", "type": "server_error"}}], delay=0.05)
        r = httpx.post(url, json={**body, "stream": True}, headers=ok)
        assert '"error"' in r.text and "revoked" in r.text
        bodies.append(r.text)
        r = httpx.post(url, json=body, headers={"Authorization": f"Bearer {SECRETS['bearer']}"})
        assert r.status_code == 401
        bodies.append(r.text)
        assert len(fake.requests) == 4 and all(q.headers["Authorization"] == f"Bearer {SECRETS['server']}" for q in fake.requests)
        code, log = p.stop()
        assert code == 0
        assert "401" in log and "502" in log  # the access log saw these requests
        assert "revoked" in log  # the mid-stream error was logged, with the key scrubbed
        _bodies_and_log_clean(bodies, log)
    finally:
        proxy.stop()


def test_client_bearer_and_proxy_password_not_leaked(serve, processes):
    fake = FakeOpenAI()
    up = serve(fake.app())
    proxy = SOCKS5Proxy(user="pu", password=SECRETS["proxy"]).start()
    p = processes({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_SOCKS_PROXY": proxy.url, "AOA_LOG_LEVEL": "debug"})
    url = p.url + "/v1/chat/completions"
    bearer = {"Authorization": f"Bearer {SECRETS['bearer']}"}
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    bodies = []
    fake.reply_json({"error": {"message": f"Incorrect API key provided: {SECRETS['bearer']}.", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}, status=401)
    r = httpx.post(url, json=body, headers=bearer)
    assert r.status_code == 401 and "Incorrect API key" in r.text
    bodies.append(r.text)
    fake.reply_sse([{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]},
                    {"error": {"message": f"key {SECRETS['bearer']} revoked", "type": "server_error"}}], delay=0.05)
    r = httpx.post(url, json={**body, "stream": True}, headers=bearer)
    assert '"error"' in r.text and "revoked" in r.text
    bodies.append(r.text)
    proxy.stop()  # now the proxy is gone: a transport error naming the proxy
    r = httpx.post(url, json=body, headers=bearer)
    assert r.status_code == 502
    bodies.append(r.text)
    code, log = p.stop()
    assert "revoked" in log
    _bodies_and_log_clean(bodies, log)
