"""Rate limits, the response cache, the chat log and parameter overrides, end to end in one
process: the official SDK in front, the fake OpenAI upstream behind (state in process)."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

import aoa
from gateway import ratelimit
from providers import core
from tests.fakes.openai_api import FakeOpenAI

MSG = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def stack(serve, aoa_server):
    def start(**env):
        fake = FakeOpenAI()
        up = serve(fake.app())
        srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up", **env})
        return fake, srv

    return start


def client(srv, key="k1", **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url + "/v1", api_key=key, max_retries=0, **kw)


# --- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize("text,limit,window", [("60/minute", 60, 60), ("5/s", 5, 1), ("100000 / hour", 100000, 3600), ("2/day", 2, 86400)])
def test_rates_parse(text, limit, window):
    assert ratelimit.parse_rate(text, "X") == ratelimit.Rate(limit, window)


@pytest.mark.parametrize("text", ["60", "60/fortnight", "0/minute", "-1/minute", "x/minute", ""])
def test_bad_rates_refused_naming_the_variable(text):
    with pytest.raises(core.ConfigError, match="AOA_RATE_LIMIT"):
        aoa.load_config({"AOA_TYPE": "mock", "AOA_RATE_LIMIT": text or " /"})


def test_api_keys_with_their_own_limits():
    keys, limits = ratelimit.parse_api_keys("k1:120/minute, k2 ,k3:-:500/hour,weird:key:5/s")
    assert keys == ("k1", "k2", "k3", "weird:key")
    assert limits == {
        "k1": (ratelimit.Rate(120, 60), None),
        "k3": (None, ratelimit.Rate(500, 3600)),
        "weird:key": (ratelimit.Rate(5, 1), None),
    }
    cfg = aoa.load_config({"AOA_TYPE": "mock", "AOA_API_KEYS": "k1:120/minute,k2"})
    assert cfg.api_keys == ("k1", "k2")
    shown = aoa.describe(cfg)
    assert "k1" not in json.dumps(shown)


@pytest.mark.parametrize("env,needle", [
    ({"AOA_CACHE": "disk"}, "AOA_CACHE"),
    ({"AOA_CACHE": "redis"}, "AOA_REDIS_URL"),
    ({"AOA_CACHE": "memory", "AOA_CACHE_TTL": "-1"}, "AOA_CACHE_TTL"),
    ({"AOA_CHAT_LOG": "/nonexistent-dir/x.jsonl"}, "AOA_CHAT_LOG"),
    ({"MOCK_PARAMS": "[1]"}, "MOCK_PARAMS"),
    ({"MOCK_PARAMS": '{"model":"x"}'}, "MOCK_PARAMS"),
    ({"MOCK_MODEL_PARAMS": '{"a":1}'}, "MOCK_MODEL_PARAMS"),
    ({"AOA_REDIS_URL": "http://x"}, "AOA_REDIS_URL"),
])
def test_policy_config_errors_name_the_variable(env, needle):
    with pytest.raises(core.ConfigError, match=needle):
        aoa.load_config({"AOA_TYPE": "mock", **env})


def test_everything_off_by_default():
    cfg = aoa.load_config({"AOA_TYPE": "mock"})
    assert (cfg.limits, cfg.cache, cfg.chat_log, cfg.overrides, cfg.router, cfg.redis_url) == (None,) * 5 + ("",)


# --- rate limits -----------------------------------------------------------------------


def test_request_limit_429_in_openai_shape_with_headers(stack):
    fake, srv = stack(AOA_RATE_LIMIT="3/minute")
    c = client(srv)
    for i in range(3):
        raw = c.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG)
        assert raw.headers["x-ratelimit-limit-requests"] == "3"
        assert raw.headers["x-ratelimit-remaining-requests"] == str(2 - i)
    with pytest.raises(openai.RateLimitError) as exc:
        c.chat.completions.create(model="gpt-4o", messages=MSG)
    r = exc.value.response
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert r.headers["x-ratelimit-reset-requests"].endswith("s")
    err = r.json()["error"]
    assert err["code"] == "rate_limit_exceeded" and err["type"] == "requests"
    assert len(fake.requests) == 3  # the refused call never reached the upstream


def test_open_access_limits_per_address_and_keys_limit_per_key(stack):
    _, srv = stack(AOA_RATE_LIMIT="2/minute", AOA_API_KEYS="k1,k2:5/minute")
    for key, allowed in (("k1", 2), ("k2", 5)):
        c = client(srv, key)
        for _ in range(allowed):
            c.chat.completions.create(model="gpt-4o", messages=MSG)
        with pytest.raises(openai.RateLimitError):
            c.chat.completions.create(model="gpt-4o", messages=MSG)
    with pytest.raises(openai.AuthenticationError):
        client(srv, "nope").chat.completions.create(model="gpt-4o", messages=MSG)


def test_token_limit_counts_usage_of_answers_and_streams(stack):
    _, srv = stack(AOA_TOKEN_LIMIT="6/minute")
    c = client(srv)
    c.chat.completions.create(model="gpt-4o", messages=MSG)  # 2 prompt + 3 completion tokens
    stream = c.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, stream_options={"include_usage": True})
    assert "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices) == "echo: hello there"
    with pytest.raises(openai.RateLimitError) as exc:
        c.chat.completions.create(model="gpt-4o", messages=MSG)
    assert exc.value.response.json()["error"]["type"] == "tokens"
    assert exc.value.response.headers["x-ratelimit-limit-tokens"] == "6"


def test_token_limit_counts_responses_usage(stack):
    _, srv = stack(AOA_TOKEN_LIMIT="6/minute", OPENAI_RESPONSES="translate")
    c = client(srv)
    assert c.responses.create(model="gpt-4o", input="hello there").usage.total_tokens == 5
    c.responses.create(model="gpt-4o", input="x")  # admitted: 5 < 6 before it
    with pytest.raises(openai.RateLimitError):
        c.responses.create(model="gpt-4o", input="x")


def test_sliding_window_admits_again_as_the_window_slides(stack):
    _, srv = stack(AOA_RATE_LIMIT="2/second")
    c = client(srv)
    c.models.list()  # not counted: only API calls are
    for _ in range(2):
        c.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.RateLimitError) as exc:
        c.embeddings.create(model="text-embedding-3-small", input="x")
    time.sleep(float(exc.value.response.headers["Retry-After"]) + 0.05)
    time.sleep(1.0)  # a whole window later the previous one no longer counts at all
    c.embeddings.create(model="text-embedding-3-small", input="x")


# --- cache -----------------------------------------------------------------------------


def test_cache_hit_skips_upstream_and_replays_as_a_stream(stack):
    fake, srv = stack(AOA_CACHE="memory")
    c = client(srv)
    first = c.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG, temperature=0)
    assert first.headers["X-AOA-Cache"] == "miss"
    second = c.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG, temperature=0)
    assert second.headers["X-AOA-Cache"] == "hit"
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
    assert len(fake.requests) == 1
    # The streaming client gets the same answer as real chunks, usage included when asked.
    with c.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=MSG, temperature=0, stream=True, stream_options={"include_usage": True}
    ) as resp:
        assert resp.headers["X-AOA-Cache"] == "hit"
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        chunks = list(resp.parse())
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "echo: hello there"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage.total_tokens == 5 and chunks[-1].choices == []
    assert len(fake.requests) == 1


def test_cache_stores_assembled_streams_and_respects_the_rule(stack):
    fake, srv = stack(AOA_CACHE="memory")
    c = client(srv)
    list(c.chat.completions.create(model="gpt-4o", messages=MSG, seed=7, stream=True))
    again = c.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG, seed=7)
    assert again.headers["X-AOA-Cache"] == "hit"
    assert again.parse().choices[0].message.content == "echo: hello there"
    assert len(fake.requests) == 1
    # A different field is a different key; a non-deterministic request is never cached.
    c.chat.completions.create(model="gpt-4o", messages=MSG, seed=8)
    for _ in range(2):
        raw = c.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG, temperature=0.7)
        assert "X-AOA-Cache" not in raw.headers
    assert len(fake.requests) == 4


def test_cache_all_and_upstream_errors_not_stored(stack):
    fake, srv = stack(AOA_CACHE="memory", AOA_CACHE_ALL="true")
    c = client(srv)
    fake.reply_json({"error": {"message": "busy", "type": "server_error"}}, status=503)
    with pytest.raises(openai.InternalServerError):
        c.chat.completions.create(model="gpt-4o", messages=MSG)
    assert c.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG).headers["X-AOA-Cache"] == "miss"
    assert c.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG).headers["X-AOA-Cache"] == "hit"


# --- chat log --------------------------------------------------------------------------


def _lines(path, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            lines = [json.loads(x) for x in path.read_text().splitlines()]
            if len(lines) >= n:
                return lines
        time.sleep(0.02)
    raise AssertionError(f"fewer than {n} chat-log lines")


def test_chat_log_lines_for_answers_streams_and_errors_never_keys(stack, tmp_path):
    path = tmp_path / "chat.jsonl"
    fake, srv = stack(AOA_CHAT_LOG=str(path), AOA_API_KEYS="client-secret-key")
    c = client(srv, "client-secret-key")
    c.chat.completions.create(model="gpt-4o", messages=MSG, temperature=0.5, extra_headers={"X-Request-Id": "r-1"})
    list(c.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, stream_options={"include_usage": True}))
    fake.reply_json({"error": {"message": "bad", "type": "invalid_request_error"}}, status=400)
    with pytest.raises(openai.BadRequestError):
        c.chat.completions.create(model="gpt-4o", messages=MSG)
    a, s, e = _lines(path, 3)
    assert a["messages"] == MSG and a["params"] == {"temperature": 0.5} and a["request_id"] == "r-1"
    assert a["reply"]["choices"][0]["message"]["content"] == "echo: hello there"
    assert a["usage"]["total_tokens"] == 5 and a["status"] == 200 and a["model"] == "gpt-4o"
    assert s["stream"] is True and s["reply"]["choices"][0]["message"]["content"] == "echo: hello there"
    assert s["usage"]["total_tokens"] == 5
    assert e["status"] == 400 and e["reply"] is None
    text = path.read_text()
    assert "client-secret-key" not in text and "sk-up" not in text


def test_chat_log_redaction_and_rotation(stack, tmp_path):
    path = tmp_path / "chat.jsonl"
    _, srv = stack(AOA_CHAT_LOG=str(path), AOA_CHAT_LOG_REDACT="true", AOA_CHAT_LOG_MAX_BYTES="1024", AOA_CHAT_LOG_BACKUPS="2")
    c = client(srv)
    for _ in range(12):
        c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "secret " * 20}])
    srv.app[aoa.STATE].policies.chat_log.queue.join()  # every line written
    assert (tmp_path / "chat.jsonl.1").exists() and (tmp_path / "chat.jsonl.2").exists()
    assert not (tmp_path / "chat.jsonl.3").exists()
    for f in tmp_path.iterdir():
        assert f.stat().st_size <= 1024
        assert "secret" not in f.read_text()
    line = json.loads((tmp_path / "chat.jsonl.1").read_text().splitlines()[0])
    assert line["messages"][0]["content"] == "[140 chars]"


# --- overrides -------------------------------------------------------------------------


def test_params_forced_and_virtual_models(stack):
    fake, srv = stack(
        OPENAI_PARAMS='{"temperature":0.8,"user":null}',
        OPENAI_MODEL_ALIAS="creative:gpt-4o,precise:gpt-4o",
        OPENAI_MODEL_PARAMS='{"creative":{"temperature":1.2,"top_p":0.9},"precise":{"temperature":0}}',
    )
    c = client(srv)
    c.chat.completions.create(model="gpt-4o", messages=MSG, temperature=0, user="u")
    assert fake.last.json == {"model": "gpt-4o", "messages": MSG, "temperature": 0.8}
    c.chat.completions.create(model="creative", messages=MSG)
    assert fake.last.json == {"model": "gpt-4o", "messages": MSG, "temperature": 1.2, "top_p": 0.9}
    list(c.chat.completions.create(model="precise", messages=MSG, stream=True, temperature=2))
    assert fake.last.json["temperature"] == 0 and fake.last.json["model"] == "gpt-4o"


def test_overrides_reach_translating_providers_too(aoa_server):
    srv = aoa_server({"AOA_TYPE": "mock", "MOCK_PARAMS": '{"max_tokens":1}'})
    r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "mock-gpt", "messages": MSG}).json()
    assert r["choices"][0]["finish_reason"] == "length"


def test_garbage_in_the_cache_is_a_miss(stack):
    fake, srv = stack(AOA_CACHE="memory")
    c = client(srv)
    c.chat.completions.create(model="gpt-4o", messages=MSG, temperature=0)
    store = srv.app[aoa.STATE].policies.cache.store
    for stream in (False, True):
        for key in list(store.values):
            srv.call(store.set(key, b'{"not":"an answer"}', 60))
        # Spelled differently from the SDK's body (spaces, key order): the same entry.
        raw = httpx.post(srv.url + "/v1/chat/completions", json={"temperature": 0, "messages": MSG, "model": "gpt-4o", "stream": stream})
        assert raw.status_code == 200 and raw.headers["X-AOA-Cache"] == "miss"
    raw = httpx.post(srv.url + "/v1/chat/completions", json={"model": "gpt-4o", "messages": MSG, "temperature": 0})
    assert raw.headers["X-AOA-Cache"] == "hit"
    assert len(fake.requests) == 3


def test_chat_log_file_is_private(stack, tmp_path):
    path = tmp_path / "chat.jsonl"
    _, srv = stack(AOA_CHAT_LOG=str(path))
    client(srv).chat.completions.create(model="gpt-4o", messages=MSG)
    srv.app[aoa.STATE].policies.chat_log.queue.join()
    assert path.stat().st_mode & 0o777 == 0o600
