"""Key pools, retries before the first byte, stream usage and `/metrics` (gateway/keys.py,
gateway/retry.py, gateway/usage.py, gateway/metrics.py), against fake upstreams that fail on cue."""

from __future__ import annotations

import email.utils
import json
import logging
import time

import httpx
import openai
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

import aoa as aoa_mod
from gateway.keys import KeyPool, tail
from gateway.retry import Policy, Retrier, parse_retry_after
from providers import core
from tests.fakes.openai_api import FakeOpenAI, openai_error
from tests.support import LogCapture

KEY0 = "sk-pool-key-zero-0000aaaa"
KEY1 = "sk-pool-key-one-1111bbbb"
FAST = {"AOA_RETRIES": "2", "AOA_RETRY_BACKOFF": "0.001"}
MSG = [{"role": "user", "content": "hello there"}]


def env_for(up, **extra: str) -> dict[str, str]:
    return {"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": KEY0, **FAST, **extra}


def chat(srv, **kw) -> httpx.Response:
    return httpx.post(srv.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG, **kw}, timeout=10)


def auth_of(rec) -> str:
    return rec.headers["Authorization"].removeprefix("Bearer ")


def scrape(srv, headers: dict[str, str] | None = None) -> dict[str, dict[tuple, float]]:
    """GET /metrics through prometheus-client's parser: {sample name: {sorted labels: value}}."""
    r = httpx.get(srv.url + "/metrics", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def eventually(check, timeout: float = 5.0):
    """A stream's client sees [DONE] before the server has logged and counted the request."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def total(samples: dict[str, dict[tuple, float]], name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for k, v in samples.get(name, {}).items() if want <= set(k))


@pytest.fixture
def logs():
    cap = LogCapture({"AOA_TYPE": "mock"})
    root = logging.getLogger()
    old = root.level
    root.addHandler(cap)
    root.setLevel(logging.INFO)
    yield cap
    root.removeHandler(cap)
    root.setLevel(old)


# --- the pool and the policy, alone -------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("err", [core.Error(401, "who"), core.Error(403, "no"), core.Error(429, "pay", code="insufficient_quota")])
async def test_refusals_move_to_the_next_key(err):
    pool = KeyPool(("a", "b"), cooldown=5, auth_cooldown=60)
    retrier = Retrier(Policy(retries=2), pool)
    call = core.Call(id="x", created=0, model="m", client_model="", key="")
    used: list[str] = []

    async def attempt(_: object) -> str:
        used.append(call.key)
        if len(used) == 1:
            raise err
        return "ok"

    trace = _Trace()
    assert await retrier.run(trace, call, _nothing, attempt) == "ok"
    assert used == ["a", "b"] and trace.key_index == 1
    assert pool.cooling() == [True, False] and pool.until[0] - time.monotonic() > 50


def test_pool_round_robin_skips_cooling_keys_and_reports_the_shortest_wait():
    clock = Clock()
    pool = KeyPool(("a", "b", "c"), cooldown=5, auth_cooldown=60, clock=clock)
    assert [pool.pick() for _ in range(4)] == [0, 1, 2, 0]
    assert pool.throttled(1, 30.0)
    assert [pool.pick() for _ in range(3)] == [2, 0, 2]
    assert pool.throttled(0, None)  # no Retry-After: AOA_KEY_COOLDOWN
    assert pool.refused(2, core.Error(401, "no"))
    assert pool.cooling() == [True, True, True]
    with pytest.raises(core.Error) as exc:
        pool.pick()
    assert exc.value.status == 429 and exc.value.retry_after == "5" and exc.value.code == "upstream_keys_cooling"
    clock.now += 5
    assert pool.pick() == 0 and pool.cooling() == [False, True, True]
    assert pool.failures == [1, 1, 1] and pool.cooldowns == [1, 1, 1]


def test_a_single_key_is_never_put_aside():
    pool = KeyPool(("only",), cooldown=5, auth_cooldown=60)
    assert not pool.throttled(0, 30.0)
    assert not pool.refused(0, core.Error(401, "no"))
    assert pool.pick() == 0 and pool.cooling() == [False]


def test_key_tail_shows_at_most_four_characters():
    assert tail("sk-abcdefghijklmnop1234") == "…1234"
    assert tail("short-key") == "…"  # four characters of a short key give too much away


@pytest.mark.parametrize("value,seconds", [
    ("7", 7.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None), ("", None), (None, None), ("1e9", 86400.0),
])
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value) == seconds


def test_parse_retry_after_http_date():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= parse_retry_after(when) <= 31


async def _nothing() -> None:
    return None


class _Trace:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.attempts = 0
        self.key_index = -1
        self.upstream_s = 0.0


async def test_backoff_doubles_with_jitter_and_honours_retry_after():
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    errors = [core.Error(503, "busy"), core.Error(502, "x", code="upstream_unreachable"), core.Error(503, "busy", retry_after="3")]
    retrier = Retrier(Policy(retries=3, backoff=1.0, max_wait=60), None, sleep=sleep, jitter=lambda: 1.0)

    async def attempt(_: object) -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    trace = _Trace()
    assert await retrier.run(trace, core.Call(id="x", created=0, model="m", client_model="", key=""), _nothing, attempt) == "ok"
    assert waits == [1.0, 2.0, 4.0] and trace.attempts == 4
    # Jitter: between half and all of the doubled wait; Retry-After wins when longer.
    errors[:] = [core.Error(503, "busy"), core.Error(503, "busy", retry_after="3")]
    waits.clear()
    retrier.jitter = lambda: 0.0
    await retrier.run(_Trace(), core.Call(id="x", created=0, model="m", client_model="", key=""), _nothing, attempt)
    assert waits == [0.5, 3.0]


async def test_provider_retry_codes_are_retried_unless_the_status_forbids():
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    retrier = Retrier(Policy(retries=1, backoff=0.001), None, frozenset({"overloaded_error"}), sleep=sleep)
    call = core.Call(id="x", created=0, model="m", client_model="", key="")
    for err, retried in ((core.Error(418, "busy", code="overloaded_error"), True), (core.Error(418, "teapot", code="other"), False),
                         (core.Error(400, "busy", code="overloaded_error"), False)):
        errors = [err]

        async def attempt(_: object) -> str:
            if errors:
                raise errors.pop()
            return "ok"

        if retried:
            assert await retrier.run(_Trace(), call, _nothing, attempt) == "ok"
        else:
            with pytest.raises(core.Error):
                await retrier.run(_Trace(), call, _nothing, attempt)


def test_every_provider_retry_codes_is_a_frozenset_of_strings():
    import providers

    for kind in providers.KINDS:
        codes = getattr(providers.load(kind), "RETRY_CODES", frozenset())
        assert isinstance(codes, frozenset) and all(isinstance(c, str) for c in codes), kind


async def test_a_request_the_provider_refuses_is_neither_sent_nor_retried():
    async def build() -> None:
        raise core.Error(400, "bad field", param="x")

    async def send(_: object) -> None:
        raise AssertionError("never sent")

    trace = _Trace()
    with pytest.raises(core.Error):
        await Retrier(Policy(), None).run(trace, core.Call(id="x", created=0, model="m", client_model="", key=""), build, send)
    assert trace.attempts == 0


async def test_budget_and_never_statuses_stop_retries():
    async def sleep(s: float) -> None:
        raise AssertionError("no wait expected")

    retrier = Retrier(Policy(retries=5, backoff=0.001, max_wait=2), None, sleep=sleep)
    call = core.Call(id="x", created=0, model="m", client_model="", key="")
    for err in (core.Error(503, "busy", retry_after="10"), core.Error(400, "bad"), core.Error(404, "no"), core.Error(401, "who")):
        trace = _Trace()

        async def attempt(_: object) -> None:
            raise err

        with pytest.raises(core.Error) as exc:
            await retrier.run(trace, call, _nothing, attempt)
        assert exc.value is err and trace.attempts == 1


# --- retries against a fake upstream ------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_retryable_status_then_200_is_retried(serve, aoa_server, logs, status):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up))
    fake.reply_json({"error": {"message": "busy", "type": "server_error", "param": None, "code": None}}, status=status)
    r = chat(srv)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "echo: hello there"
    assert len(fake.requests) == 2
    assert "attempts=2" in logs.text


def test_connect_errors_are_retried_then_relayed(aoa_server, logs):
    from tests.support import free_port

    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": f"http://127.0.0.1:{free_port()}/v1", "OPENAI_API_KEY": KEY0, **FAST})
    r = chat(srv)
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unreachable"
    assert "attempts=3" in logs.text
    assert total(scrape(srv), "aoa_upstream_retries_total", reason="upstream_unreachable") == 2


def test_retries_off(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, AOA_RETRIES="0"))
    fake.reply_json({"error": {"message": "busy", "type": "server_error", "param": None, "code": None}}, status=503)
    assert chat(srv).status_code == 503 and len(fake.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_client_errors_are_never_retried(serve, aoa_server, status):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up))
    fake.reply_json({"error": {"message": "no", "type": "invalid_request_error", "param": None, "code": None}}, status=status)
    assert chat(srv).status_code == status and len(fake.requests) == 1


def test_reset_before_headers_is_retried_sdk(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up))
    fake.reply_reset()
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    r = c.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True)
    assert "".join(ch.choices[0].delta.content or "" for ch in r if ch.choices) == "echo: hello there"
    assert len(fake.requests) == 2


def test_reset_mid_stream_is_not_retried(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up))
    first = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "par"}, "finish_reason": None}]}
    fake.reply_reset_mid_stream([first])
    r = chat(srv, stream=True)
    assert r.status_code == 200
    assert '"par"' in r.text and '"error"' in r.text and "[DONE]" not in r.text
    assert len(fake.requests) == 1


def test_retry_after_beyond_the_budget_is_relayed(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, AOA_RETRY_MAX_WAIT="1"))
    fake.reply_json({"error": {"message": "slow down", "type": "requests", "param": None, "code": None}}, status=429, headers={"Retry-After": "20"})
    t0 = time.monotonic()
    r = chat(srv)
    assert r.status_code == 429 and r.headers["Retry-After"] == "20"
    assert len(fake.requests) == 1 and time.monotonic() - t0 < 1


# --- key pools ----------------------------------------------------------------------------


def test_429_with_retry_after_moves_to_the_next_key(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, OPENAI_API_KEY=f"{KEY0}, {KEY1}"))
    fake.reply_json({"error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}, status=429, headers={"Retry-After": "30"})
    r = chat(srv)
    assert r.status_code == 200
    assert [auth_of(q) for q in fake.requests] == [KEY0, KEY1]
    # Key 0 is put aside: the next requests all use key 1.
    assert chat(srv).status_code == 200 and chat(srv).status_code == 200
    assert [auth_of(q) for q in fake.requests[2:]] == [KEY1, KEY1]
    m = scrape(srv)
    assert m["aoa_key_cooling"] == {(("key", "0"),): 1.0, (("key", "1"),): 0.0}
    assert total(m, "aoa_key_cooldowns_total", key="0") == 1
    assert total(m, "aoa_upstream_retries_total", reason="429") == 1
    assert total(m, "aoa_upstream_errors_total", reason="429") == 1
    assert total(m, "aoa_upstream_attempts_total") == 4


def test_requests_spread_over_the_keys(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, OPENAI_API_KEY=f"{KEY0},{KEY1}"))
    for _ in range(4):
        assert chat(srv).status_code == 200
    assert [auth_of(q) for q in fake.requests] == [KEY0, KEY1, KEY0, KEY1]


def test_refused_key_cools_longer_and_is_logged_once_redacted(serve, aoa_server, logs):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, OPENAI_API_KEY=f"{KEY0},{KEY1}", AOA_KEY_AUTH_COOLDOWN="1"))
    refusal = {"error": {"message": f"Incorrect API key provided: {KEY0}.", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
    fake.reply_json(refusal, status=401)
    assert chat(srv).status_code == 200
    assert [auth_of(q) for q in fake.requests] == [KEY0, KEY1]
    assert chat(srv).status_code == 200  # key 0 is put aside: key 1 again
    time.sleep(1.1)  # the cooldown ends; key 0 is refused again, but logged only the first time
    fake.reply_json(refusal, status=401)
    assert chat(srv).status_code == 200
    assert [auth_of(q) for q in fake.requests[2:]] == [KEY1, KEY0, KEY1]
    assert "key_index=1" in logs.text
    lines = [line for line in logs.lines if "refused" in line]
    assert len(lines) == 1 and "#0" in lines[0] and "…aaaa" in lines[0]
    assert KEY0 not in logs.text and KEY0[:-4] not in logs.text


def test_one_key_refused_relays_the_vendor_401(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up))
    fake.reply_json({"error": {"message": f"Incorrect API key provided: {KEY0}.", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}, status=401)
    r = chat(srv)
    assert r.status_code == 401 and KEY0 not in r.text and len(fake.requests) == 1
    assert chat(srv).status_code == 200  # a single key is never put aside


def test_every_key_cooling_is_a_429_with_the_shortest_retry_after(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, OPENAI_API_KEY=f"{KEY0},{KEY1}", AOA_RETRY_MAX_WAIT="1"))
    limit = {"error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    fake.reply_json(limit, status=429, headers={"Retry-After": "40"})
    fake.reply_json(limit, status=429, headers={"Retry-After": "25"})
    r = chat(srv)  # both keys tried; waiting 25 s exceeds the budget: the last 429 is relayed
    assert r.status_code == 429 and r.headers["Retry-After"] == "25" and len(fake.requests) == 2
    r = chat(srv)  # no key left: aoa answers itself, without calling the upstream
    assert r.status_code == 429 and len(fake.requests) == 2
    assert 24 <= int(r.headers["Retry-After"]) <= 25
    err = r.json()["error"]
    assert err["code"] == "upstream_keys_cooling" and err["type"] == "rate_limit_error"
    with pytest.raises(openai.RateLimitError):
        openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0).chat.completions.create(model="m", messages=MSG)


def test_every_pool_key_is_a_secret(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, OPENAI_API_KEY=f"{KEY0},{KEY1}", AOA_RETRIES="0"))
    fake.reply_json({"error": {"message": f"bad request for {KEY1}", "type": "invalid_request_error", "param": None, "code": None}}, status=400)
    r = chat(srv)
    assert r.status_code == 400 and KEY1 not in r.text and "[redacted]" in r.text


def test_check_shows_the_key_count_only(monkeypatch, capsys):
    for k, v in {"AOA_TYPE": "openai", "OPENAI_API_KEY": f"{KEY0},{KEY1}"}.items():
        monkeypatch.setenv(k, v)
    assert aoa_mod.main(["--check"]) == 0
    out = capsys.readouterr().out
    assert KEY0 not in out and KEY1 not in out and "aaaa" not in out
    common = json.loads(out)["settings"]["common"]
    assert common["api_keys"] == "(2 set)" and common["api_key"] == "(set)"


# --- embeddings and model listing retry too -----------------------------------------------


def test_embeddings_retry(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, OPENAI_API_KEY=f"{KEY0},{KEY1}"))
    fake.reply_json({"error": {"message": "busy", "type": "server_error", "param": None, "code": None}}, status=502)
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    r = c.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(r.data) == 2 and len(fake.requests) == 2


def test_model_listing_retries(serve, aoa_server):
    failures = [503, "reset"]
    seen: list[str] = []

    async def models(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers["Authorization"])
        if failures:
            what = failures.pop(0)
            if what == "reset":
                assert request.transport is not None
                request.transport.abort()
                return web.Response()
            return openai_error(what, "busy", "server_error")
        return web.json_response({"object": "list", "data": [{"id": "gpt-x", "object": "model", "created": 0, "owned_by": "o"}]})

    app = web.Application()
    app.router.add_get("/v1/models", models)
    up = serve(app)
    srv = aoa_server(env_for(up))
    r = httpx.get(srv.url + "/v1/models", timeout=10)
    assert r.status_code == 200 and "gpt-x" in [m["id"] for m in r.json()["data"]]
    assert len(seen) == 3


# --- stream usage -------------------------------------------------------------------------


def test_stream_usage_is_asked_counted_and_stripped(serve, aoa_server, logs):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up))
    r = chat(srv, stream=True)
    assert fake.last.json["stream_options"] == {"include_usage": True}
    assert '"usage"' not in r.text  # neither the usage chunk nor `"usage": null`
    assert "echo" in r.text and r.text.rstrip().endswith("data: [DONE]")

    def logged():
        assert "tokens=2/3" in logs.text

    eventually(logged)
    # The client asked: the upstream's chunk goes through, its other stream options intact.
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    chunks = list(c.chat.completions.create(model="m", messages=MSG, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3

    def counted():
        m = scrape(srv)
        assert total(m, "gen_ai_client_token_usage_sum", gen_ai_token_type="output") == 6
        assert total(m, "gen_ai_client_token_usage_count", gen_ai_token_type="input") == 2
        assert total(m, "gen_ai_server_time_to_first_token_seconds_count") == 2

    eventually(counted)


def test_local_mock_stream_usage_counted_not_shown(aoa_server, logs):
    srv = aoa_server({"AOA_TYPE": "mock", "MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"})
    r = chat(srv, stream=True)
    assert r.status_code == 200 and '"usage"' not in r.text

    def logged():
        assert "tokens=2/" in logs.text

    eventually(logged)


def test_stream_usage_off(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, AOA_STREAM_USAGE="false"))
    chat(srv, stream=True)
    assert "stream_options" not in fake.last.json


def test_azure_dated_stream_asks_for_usage(serve, aoa_server):
    fake = FakeOpenAI(flavor="azure")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "azure", "AZURE_ENDPOINT": up.url, "AZURE_API_KEY": KEY0, **FAST})
    r = chat(srv, stream=True, stream_options={"include_obfuscation": False})
    assert fake.last.json["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert r.status_code == 200 and '"usage"' not in r.text


# --- /metrics -----------------------------------------------------------------------------


def test_metrics_move(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up))
    before = scrape(srv)
    assert total(before, "aoa_requests_total") == 0
    fake.reply_json({"error": {"message": "busy", "type": "server_error", "param": None, "code": None}}, status=503)
    assert chat(srv).status_code == 200
    assert chat(srv, stream=True).status_code == 200
    httpx.post(srv.url + "/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"}, timeout=10)
    eventually(lambda: _assert(total(scrape(srv), "aoa_requests_total", http_route="/v1/chat/completions") == 2))
    m = scrape(srv)
    route = "/v1/chat/completions"
    assert total(m, "aoa_requests_total", http_route=route, http_response_status_code="200", gen_ai_request_model="gpt-4o-mini") == 2
    assert total(m, "aoa_requests_total", http_route="/metrics") >= 2  # the scrapes before this one
    assert total(m, "aoa_upstream_attempts_total") == 4
    assert total(m, "aoa_upstream_retries_total", reason="503") == 1
    assert total(m, "gen_ai_server_request_duration_seconds_count", gen_ai_operation_name="chat", gen_ai_provider_name="openai") == 2
    assert total(m, "gen_ai_server_request_duration_seconds_count", gen_ai_operation_name="embeddings") == 1
    assert total(m, "aoa_overhead_seconds_count", gen_ai_operation_name="chat") == 2
    assert total(m, "aoa_upstream_duration_seconds_count", gen_ai_operation_name="chat") == 2
    assert total(m, "gen_ai_client_token_usage_sum", gen_ai_token_type="input", gen_ai_request_model="gpt-4o-mini") == 4
    assert total(m, "gen_ai_client_token_usage_sum", gen_ai_token_type="input", gen_ai_request_model="text-embedding-3-small") == 1
    assert m["aoa_requests_in_flight"][()] == 1  # the scrape itself
    assert m["aoa_streams_in_flight"][()] == 0
    assert "aoa_key_cooling" in m
    assert KEY0 not in httpx.get(srv.url + "/metrics").text and "hello" not in httpx.get(srv.url + "/metrics").text


def _assert(ok: bool) -> None:
    assert ok


def test_metrics_behind_access_keys_and_can_be_off(aoa_server):
    srv = aoa_server({"AOA_TYPE": "mock", "AOA_API_KEYS": "scrape-secret-1"})
    assert httpx.get(srv.url + "/metrics").status_code == 401
    m = scrape(srv, {"Authorization": "Bearer scrape-secret-1"})
    assert total(m, "aoa_requests_total", http_response_status_code="401") == 1
    off = aoa_server({"AOA_TYPE": "mock", "AOA_METRICS": "false"})
    assert httpx.get(off.url + "/metrics").status_code == 404


def test_model_label_is_bounded(aoa_server):
    srv = aoa_server({"AOA_TYPE": "mock", "MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"})
    st = srv.app[aoa_mod.STATE]
    st.metrics.models.update(f"m{i}" for i in range(100))
    assert chat(srv, model="never-seen-before").status_code == 200
    assert total(scrape(srv), "aoa_requests_total", gen_ai_request_model="other") == 1


# --- optional OpenTelemetry traces --------------------------------------------------------


def test_otel_span_per_request(serve, aoa_server):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[bytes] = []

    async def traces(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(body=b"", content_type="application/x-protobuf")

    collector = web.Application()
    collector.router.add_post("/v1/traces", traces)
    col = serve(collector)
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, AOA_OTEL_ENDPOINT=col.url))
    fake.reply_json({"error": {"message": "busy", "type": "server_error", "param": None, "code": None}}, status=503)
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG}, headers={"traceparent": parent}, timeout=10)
    assert r.status_code == 200
    assert srv.app[aoa_mod.STATE].otel.provider.force_flush(5000)
    spans = []
    for body in received:
        req = ExportTraceServiceRequest.FromString(body)
        spans += [s for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert [s.name for s in spans] == ["chat gpt-4o-mini"]
    span = spans[0]
    attrs = {a.key: a.value for a in span.attributes}
    assert attrs["gen_ai.provider.name"].string_value == "openai"
    assert attrs["aoa.upstream.attempts"].int_value == 2
    assert attrs["gen_ai.usage.output_tokens"].int_value == 3
    assert span.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c" and span.parent_span_id.hex() == "b7ad6b7169203331"
    assert span.end_time_unix_nano > span.start_time_unix_nano
    assert KEY0 not in str(spans) and "hello" not in str(spans)


def test_otel_endpoint_is_validated():
    with pytest.raises(core.ConfigError):
        aoa_mod.load_config({"AOA_TYPE": "mock", "AOA_OTEL_ENDPOINT": "collector:4318"})


def test_translated_stream_usage_counted_without_reaching_the_client(serve, aoa_server, logs):
    from tests.fakes.gemini_api import FakeGemini

    fake = FakeGemini(key="gemini-test-key-123456")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "gemini", "GEMINI_ENDPOINT": up.url, "GEMINI_API_KEY": "gemini-test-key-123456", **FAST})
    r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "gemini-2.5-flash", "messages": MSG, "stream": True}, timeout=10)
    assert r.status_code == 200 and '"usage"' not in r.text and r.text.rstrip().endswith("data: [DONE]")

    def counted():
        assert total(scrape(srv), "gen_ai_client_token_usage_sum", gen_ai_token_type="output") > 0
        assert "tokens=" in logs.text

    eventually(counted)


def test_strip_usage_on_compact_chunks():
    from gateway.usage import strip_usage

    class T:
        tokens_in = tokens_out = tokens_cached = tokens_reasoning = None

    chunk = b'{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi \\"usage\\""}}],"usage":null}'
    last = b'{"id":"c","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":3}}}'
    t = T()
    assert strip_usage(t, [chunk, last], keep=False) == [chunk.replace(b',"usage":null', b"")]
    assert (t.tokens_in, t.tokens_out, t.tokens_cached, t.tokens_reasoning) == (5, 7, 2, 3)
    t = T()
    assert strip_usage(t, [chunk, last], keep=True) == [chunk, last] and t.tokens_out == 7


def test_cached_and_reasoning_tokens_are_counted():
    from gateway.logs import Trace
    from gateway.metrics import Metrics

    m = Metrics("azure")
    t = Trace()
    t.model, t.attempts, t.overhead_s = "gpt-4o", 1, 0.0001
    t.tokens_in, t.tokens_out, t.tokens_cached, t.tokens_reasoning = 100, 50, 64, 20
    m.finish("/v1/chat/completions", 200, t)
    samples = {}
    for family in text_string_to_metric_families(m.render().decode()):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    assert total(samples, "aoa_tokens_total", gen_ai_token_type="cached", gen_ai_request_model="gpt-4o") == 64
    assert total(samples, "aoa_tokens_total", gen_ai_token_type="reasoning") == 20
    assert total(samples, "gen_ai_client_token_usage_sum", gen_ai_token_type="input", gen_ai_provider_name="azure.ai.openai") == 100
    assert total(samples, "gen_ai_client_token_usage_bucket", gen_ai_token_type="output", le="64") == 1


@pytest.mark.parametrize("stream", [False, True])
def test_responses_translated_retry_and_usage(serve, aoa_server, logs, stream):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up, OPENAI_RESPONSES="translate"))
    fake.reply_json({"error": {"message": "busy", "type": "server_error", "param": None, "code": None}}, status=503)
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    if stream:
        events = list(c.responses.create(model="gpt-4o-mini", input="hello there", stream=True))
        usage = events[-1].response.usage
    else:
        usage = c.responses.create(model="gpt-4o-mini", input="hello there").usage
    assert usage is not None and usage.output_tokens == 3  # the usage chunk reached the reshaper
    assert len(fake.requests) == 2

    def counted():
        assert "attempts=2" in logs.text
        m = scrape(srv)
        assert total(m, "gen_ai_client_token_usage_sum", gen_ai_token_type="output") == 3
        assert total(m, "aoa_requests_total", http_route="/v1/responses", http_response_status_code="200") == 1

    eventually(counted)


def test_responses_relay_retries(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server(env_for(up))
    fake.reply_reset()
    r = httpx.post(srv.url + "/v1/responses", json={"model": "gpt-4o-mini", "input": "hi"}, timeout=10)
    assert len(fake.requests) == 2 and fake.requests[1].path == "/v1/responses"
    assert r.status_code == 404  # the fake has no Responses API: its second answer, relayed
