"""The access log and the request id: every response carries `X-Request-Id` (the client's when
valid), every access line and error body names it, client values cannot forge log lines, and
`AOA_LOG_FORMAT=json` gives one JSON object per line."""

from __future__ import annotations

import io
import json
import logging

import httpx
import openai
import pytest

from gateway import logs
from tests.fakes.openai_api import FakeOpenAI

MOCK = {"AOA_TYPE": "mock", "MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def access_lines():
    """Turns the access log on into a buffer; returns a function giving the lines so far."""
    made = {}

    def start(fmt: str = "text", secrets: list[str] | None = None):
        buf = io.StringIO()
        logs.setup_access_log(buf, fmt, secrets)
        made["buf"] = buf

        def lines() -> list[str]:
            logs.flush_access_log()
            return buf.getvalue().splitlines()

        return lines

    yield start
    logs.close_access_log()


def test_request_id_generated_echoed_and_logged(aoa_server, access_lines):
    lines = access_lines()
    srv = aoa_server(MOCK)
    a = httpx.post(srv.url + "/v1/chat/completions", json=CHAT)
    b = httpx.get(srv.url + "/healthz")
    rid_a, rid_b = a.headers["X-Request-Id"], b.headers["X-Request-Id"]
    assert rid_a.startswith("req_") and rid_a != rid_b
    got = lines()
    assert len(got) == 2
    assert got[0].endswith(f"rid={rid_a}") and " POST /v1/chat/completions 200 " in got[0] and "model=m" in got[0]
    assert got[1].endswith(f"rid={rid_b}")


@pytest.mark.parametrize("given, kept", [
    ("3f2b8c1e-6a3d-4c2e-9b1a-0d9e8f7a6b5c", True),
    ("req_abc123", True),
    ("a" * 128, True),
    ("a" * 129, False),
    ("bad id", False),
    ("x\r\nforged: 1", False),
    ("<script>", False),
])
def test_client_request_id_kept_only_when_safe(aoa_server, access_lines, given, kept):
    lines = access_lines()
    srv = aoa_server(MOCK)
    # httpx refuses CR/LF in header values; send the raw bytes so aoa sees them.
    r = httpx.post(srv.url + "/v1/chat/completions", json=CHAT, headers={"X-Request-Id": given} if "\r" not in given else {})
    rid = r.headers["X-Request-Id"]
    if "\r" not in given:
        assert (rid == given) is kept
    assert rid in lines()[-1]


def test_request_id_in_error_bodies_and_sdk(aoa_server, access_lines):
    lines = access_lines()
    srv = aoa_server({**MOCK, "AOA_API_KEYS": "k-1234"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], extra_headers={"X-Request-Id": "trace-42"})
    assert exc.value.request_id == "trace-42"  # the SDK reads the header
    assert exc.value.body["request_id"] == "trace-42"
    assert "401" in lines()[-1] and lines()[-1].endswith("rid=trace-42")


def test_request_id_in_mid_stream_error_event(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up"})
    fake.reply_sse([{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]},
                    {"error": {"message": "boom", "type": "server_error"}}], delay=0.05)
    r = httpx.post(srv.url + "/v1/chat/completions", json={**CHAT, "stream": True}, headers={"X-Request-Id": "s-1"})
    last = [json.loads(e[6:]) for e in r.text.split("\n\n") if e.startswith("data: {")][-1]
    assert last["error"]["request_id"] == "s-1" == r.headers["X-Request-Id"]


def test_control_characters_cannot_forge_lines(aoa_server, access_lines):
    lines = access_lines()
    srv = aoa_server(MOCK)
    model = "m\r\n2026-01-01 00:00:00,000 INFO aoa.access: GET /admin 200\u2028x\x1b[31m"
    httpx.post(srv.url + "/v1/chat/completions", json={**CHAT, "model": model})
    httpx.get(srv.url + "/v1/models/a%0d%0aforged%0a")
    got = lines()
    assert len(got) == 2, got
    assert "model=m\\x0d\\x0a2026" in got[0] and "\\u2028x\\x1b[31m" in got[0]
    assert "/v1/models/a\\x0d\\x0aforged\\x0a 404" in got[1]


def test_configured_secret_in_a_client_value_is_scrubbed(aoa_server, access_lines):
    lines = access_lines(secrets=["sk-server-SECRET"])
    srv = aoa_server(MOCK)
    httpx.post(srv.url + "/v1/chat/completions", json={**CHAT, "model": "sk-server-SECRET"})
    assert "sk-server-SECRET" not in lines()[-1] and "[redacted]" in lines()[-1]


def test_json_format(aoa_server, access_lines):
    lines = access_lines("json")
    srv = aoa_server(MOCK)
    r = httpx.post(srv.url + "/v1/chat/completions", json={**CHAT, "model": "a\nb", "stream": True}, headers={"X-Request-Id": "j-1"})
    httpx.get(srv.url + "/nope")
    first, second = (json.loads(line) for line in lines())
    assert first["request_id"] == "j-1" == r.headers["X-Request-Id"]
    assert (first["method"], first["path"], first["status"], first["model"], first["stream"]) == ("POST", "/v1/chat/completions", 200, "a\nb", True)
    assert first["logger"] == "aoa.access" and first["upstream_status"] == "-" and first["ms"] >= 0
    assert first["time"].endswith("Z") and "T" in first["time"]  # UTC, ISO 8601
    assert second["status"] == 404 and second["request_id"].startswith("req_")
    for name in ("attempts", "key_index"):
        assert name not in first  # one attempt, one key: nothing to say


def test_policy_facts_are_rendered(access_lines):
    lines = access_lines()
    trace = logs.Trace("r-1")
    trace.attempts, trace.key_index, trace.tokens_in, trace.tokens_out = 2, 1, 10, 5
    logs.access("POST", "/v1/chat/completions", 200, trace)
    assert lines()[-1].endswith(" attempts=2 key_index=1 tokens=10/5 rid=r-1")
    json_lines = access_lines("json")
    logs.access("POST", "/v1/chat/completions", 200, trace)
    record = json.loads(json_lines()[-1])
    assert (record["attempts"], record["key_index"], record["tokens_in"], record["tokens_out"]) == (2, 1, 10, 5)


def test_json_format_for_every_log_line(capsys):
    logs.setup_logging("info", ["sk-secret-1234"], "json")
    try:
        logging.getLogger("aoa").warning("upstream said %s", "bad key sk-secret-1234\nsecond line")
        err = capsys.readouterr().err
        (line,) = err.splitlines()
        record = json.loads(line)
        assert record["level"] == "warning" and record["logger"] == "aoa"
        assert "sk-secret-1234" not in line and record["message"].endswith("second line")
    finally:
        logging.getLogger().handlers[:] = []
        logs.close_access_log()


def test_lines_are_buffered_not_flushed_per_request(access_lines):
    lines = access_lines()
    sink = logs._access
    writes = []
    sink.stream = type("S", (), {"write": lambda self, t: writes.append(t), "flush": lambda self: None})()
    for i in range(50):
        logs.access("GET", "/healthz", 200, logs.Trace(f"r{i}"))  # no loop here: written at once
    assert len(writes) == 50

    import asyncio

    async def burst():
        for i in range(50):
            logs.access("GET", "/healthz", 200, logs.Trace(f"b{i}"))
        await asyncio.sleep(logs.FLUSH_S * 2)

    writes.clear()
    asyncio.run(burst())
    assert len(writes) == 1 and writes[0].count("\n") == 50


def test_cors_exposes_aoa_headers(aoa_server):
    srv = aoa_server(MOCK)
    r = httpx.post(srv.url + "/v1/chat/completions", json=CHAT, headers={"Origin": "https://app.example"})
    exposed = {h.strip().lower() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"x-aoa-overhead-ms", "x-request-id"} <= exposed
