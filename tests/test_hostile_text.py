"""Text that leaves aoa (error bodies, log lines) is redacted whole before it is shortened, never
mangles aoa's own help text, and cannot forge log lines with control characters."""

from __future__ import annotations

import logging

import httpx
import pytest

from gateway.redact import Redactor, printable
from tests.fakes.openai_api import FakeOpenAI
from tests.test_hostile_model import Recorder

KEY = "sk-proj-SERVERSIDE0123456789abcdefSECRET"
CLIENT = "client-token-0123456789abcdefghijkl"


def _fragments(secret: str, n: int = 6) -> list[str]:
    return [secret[i : i + n] for i in range(len(secret) - n + 1)]


@pytest.mark.parametrize("cut", [0, 4, 10, 20, 30, 36])
@pytest.mark.parametrize("forwarded", [False, True])
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_key_straddling_any_cut_never_shows(serve, aoa_server, cut, forwarded, kind):
    rec = Recorder()
    up = serve(rec.app())
    secret = CLIENT if forwarded else KEY
    # Plain text, the key placed so that any byte cap near 200 would cut through it.
    rec.reply = (500, ("x" * (200 - cut) + secret + " trailing words").encode(), "text/plain")
    prefix = kind.upper()
    env = {"AOA_TYPE": kind, f"{prefix}_ENDPOINT": up.url}
    if not forwarded:
        env[f"{prefix}_API_KEY"] = KEY
    srv = aoa_server(env)
    r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
                   headers={"Authorization": f"Bearer {CLIENT}"}, timeout=10)
    assert r.status_code == 500
    message = r.json()["error"]["message"]
    assert "[redacted]" in message
    assert not [f for f in _fragments(secret) if f in message], message


def test_a_long_error_message_is_shortened_after_redaction():
    r = Redactor([KEY])
    out = r.shorten("y" * 1990 + KEY, 2000)
    assert not [f for f in _fragments(KEY) if f in out]
    assert len(out) <= 2001


def test_the_401_help_text_survives_the_redactor(aoa_server):
    srv = aoa_server({"AOA_TYPE": "mock", "AOA_API_KEYS": "good-key-1234"})
    r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "m", "messages": []}, timeout=10)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Invalid or missing API key (Authorization: Bearer <key>)."


@pytest.mark.parametrize(
    "text",
    ["Authorization: Bearer sk-abc123def", "bearer abc.def.ghi", "?key=AIzaSy123&x=1", '"api-key": "abcd1234"', "x-goog-api-key: AIzaSyQ", "https://u:pw1234@h/"],
)
def test_credential_shapes_still_redacted(text):
    out = Redactor([])(text)
    assert "[redacted]" in out
    for secret in ("sk-abc123def", "abc.def.ghi", "AIzaSy123", "abcd1234", "AIzaSyQ", "pw1234"):
        assert secret not in out


def test_printable_escapes_control_characters():
    assert printable("plain é 模型") == "plain é 模型"
    out = printable("m\r\n2026-01-01 INFO aoa.access: forged\x1b[2J\x00\u2028")
    assert "\r" not in out and "\n" not in out and "\x1b" not in out and "\x00" not in out and "\u2028" not in out
    assert out.startswith("m\\r\\n2026")


def test_an_upstream_error_mid_stream_cannot_forge_a_log_line(serve, aoa_server, caplog):
    fake = FakeOpenAI()
    up = serve(fake.app())
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
    fake.reply_sse([chunk, {"error": {"message": "boom\n2026-01-01 00:00:00 INFO aoa.access: POST /admin 200", "type": "server_error"}}])
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": KEY})
    with caplog.at_level(logging.WARNING, logger="aoa"):
        r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}, timeout=10)
        assert r.status_code == 200 and "boom" in r.text
    lines = [rec.getMessage() for rec in caplog.records if "stream ended" in rec.getMessage()]
    assert lines and all("\n" not in line for line in lines), lines
