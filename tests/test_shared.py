"""Shared state: the in-process and the Redis backends keep one contract; a real `redis-server`
lets two aoa processes share rate limits and cached answers; a Redis outage fails open."""

from __future__ import annotations

import asyncio
import logging
import time

from pathlib import Path

import httpx
import openai
import pytest

import aoa

from gateway import shared
from tests.fakes.openai_api import FakeOpenAI
from tests.redis_server import redis_server  # noqa: F401  (fixture)
from tests.support import free_port
from tests.test_server_process import AoaProcess

MSG = [{"role": "user", "content": "hello there"}]


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        yield shared.Memory(max_bytes=1000)
        return
    server = request.getfixturevalue("redis_server")
    yield shared.Redis(server.url)


async def test_values_get_set_ttl_delete(store):
    assert await store.get("a") is None
    await store.set("a", b"\x00bytes\xff", 10)
    assert await store.get("a") == b"\x00bytes\xff"
    await store.set("b", b"short", 0.05)
    await asyncio.sleep(0.1)
    assert await store.get("b") is None
    await store.delete("a")
    assert await store.get("a") is None
    await store.close()


async def test_sliding_window_counter(store):
    for i in range(3):
        w = await store.hit("k", 3, 60)
        assert w.allowed and w.used == pytest.approx(i + 1, abs=0.1)
    w = await store.hit("k", 3, 60)
    assert not w.allowed and 0 < w.reset <= 60
    # A dry check counts nothing; a limit of 0 always adds (tokens counted after the answer).
    assert not (await store.hit("k", 3, 60, dry=True)).allowed
    assert (await store.hit("t", 10, 60, 4, dry=True)).allowed
    await store.hit("t", 0, 60, 9)
    assert not (await store.hit("t", 10, 60, 2, dry=True)).allowed
    assert (await store.hit("t", 10, 60, 1, dry=True)).allowed
    await store.close()


async def test_window_slides(store):
    for _ in range(2):
        assert (await store.hit("s", 2, 0.5)).allowed
    w = await store.hit("s", 2, 0.5)
    assert not w.allowed
    await asyncio.sleep(1.05)  # two windows on, nothing is left of either
    assert (await store.hit("s", 2, 0.5)).allowed
    await store.close()


def test_sliding_window_weighs_the_previous_window():
    # 10 requests in the previous minute, 3 in this one, 15 s in: 75% of the 10 still count.
    allowed, used, reset = shared._decide(10, 3, 60 * 1000 + 15, 60, 10, 1)
    assert not allowed and used == 10.5
    # Room for one more once the previous share is down to 6, i.e. 24 s in: 9 s from now.
    assert reset == pytest.approx(9)
    allowed, used, _ = shared._decide(10, 3, 60 * 1000 + 45, 60, 10, 1)
    assert allowed and used == 5.5


async def test_memory_lru_is_bounded_by_bytes():
    m = shared.Memory(max_bytes=100)
    await m.set("a", b"x" * 40, 60)
    await m.set("b", b"x" * 40, 60)
    assert await m.get("a")  # a is now the most recently used
    await m.set("c", b"x" * 40, 60)
    assert await m.get("b") is None and await m.get("a") and await m.get("c")
    assert m.size == 80
    await m.set("huge", b"x" * 101, 60)
    assert await m.get("huge") is None and m.size == 80


async def test_redis_down_fails_open_with_one_warning(caplog):
    store = shared.Redis(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    with caplog.at_level(logging.WARNING, logger="aoa.shared"):
        assert await store.get("a") is None
        await store.set("a", b"x", 10)
        assert (await store.hit("k", 1, 60)).allowed
        assert (await store.hit("k", 1, 60)).allowed
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1 and "failing open" in warnings[0].getMessage()
    assert store.failures == 1  # later calls skip Redis for a moment instead of timing out again
    await store.close()


def test_missing_extra_is_one_clear_line_and_exit_2():
    import subprocess
    import sys

    code = "import sys; sys.modules['redis'] = None; import aoa; sys.exit(aoa.main([]))"  # as if not installed
    env = {"PATH": "", "AOA_TYPE": "mock", "AOA_REDIS_URL": "redis://127.0.0.1:1/0", "AOA_PORT": str(free_port())}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30,
                         cwd=str(Path(aoa.__file__).parent))
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["aoa: invalid configuration: AOA_REDIS_URL is set but the redis client is not installed: pip install 'aoa[redis]'"]


# --- two aoa processes, one Redis --------------------------------------------------------


@pytest.fixture
def pair(serve, redis_server):  # noqa: F811
    fake = FakeOpenAI()
    up = serve(fake.app())
    env = {
        "AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up",
        "AOA_REDIS_URL": redis_server.url, "AOA_LOG_LEVEL": "warning",
    }
    started: list[AoaProcess] = []

    def start(**extra):
        for _ in range(2):
            started.append(AoaProcess({**env, **extra}))
        return fake, started[-2], started[-1]

    yield start
    for p in started:
        p.stop()


def test_two_processes_share_one_rate_limit(pair):
    _, a, b = pair(AOA_RATE_LIMIT="4/minute", AOA_API_KEYS="k1")
    ca = openai.OpenAI(base_url=a.url + "/v1", api_key="k1", max_retries=0)
    cb = openai.OpenAI(base_url=b.url + "/v1", api_key="k1", max_retries=0)
    for c in (ca, cb, ca, cb):
        c.chat.completions.create(model="gpt-4o", messages=MSG)
    for c in (ca, cb):
        with pytest.raises(openai.RateLimitError):
            c.chat.completions.create(model="gpt-4o", messages=MSG)


def test_two_processes_share_one_cache(pair):
    fake, a, b = pair(AOA_CACHE="redis")
    ca = openai.OpenAI(base_url=a.url + "/v1", api_key="x", max_retries=0)
    cb = openai.OpenAI(base_url=b.url + "/v1", api_key="x", max_retries=0)
    assert ca.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG, seed=1).headers["X-AOA-Cache"] == "miss"
    hit = cb.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG, seed=1)
    assert hit.headers["X-AOA-Cache"] == "hit" and hit.parse().choices[0].message.content == "echo: hello there"
    stream = cb.chat.completions.create(model="gpt-4o", messages=MSG, seed=1, stream=True)
    assert "".join(ch.choices[0].delta.content or "" for ch in stream) == "echo: hello there"
    assert len(fake.requests) == 1


def test_redis_going_down_fails_open_never_500(pair, redis_server):  # noqa: F811
    fake, a, _ = pair(AOA_RATE_LIMIT="100/minute", AOA_CACHE="redis")
    c = openai.OpenAI(base_url=a.url + "/v1", api_key="x", max_retries=0)
    c.chat.completions.create(model="gpt-4o", messages=MSG, seed=1)
    redis_server.stop()
    t0 = time.monotonic()
    for _ in range(5):
        raw = c.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG, seed=1)
        assert raw.status_code == 200 and raw.headers["X-AOA-Cache"] == "miss"
    assert time.monotonic() - t0 < 5
    assert httpx.get(a.url + "/healthz").status_code == 200
    metrics = httpx.get(a.url + "/metrics").text
    failures = [line for line in metrics.splitlines() if line.startswith("aoa_shared_state_failures_total ")]
    assert failures and float(failures[0].split()[1]) >= 1
    code, log = a.stop()
    assert "unreachable" in log and "failing open" in log


def test_two_processes_share_stored_responses(pair, redis_server):  # noqa: F811
    fake, a, b = pair(OPENAI_RESPONSES="translate")
    ca = openai.OpenAI(base_url=a.url + "/v1", api_key="owner", max_retries=0)
    cb = openai.OpenAI(base_url=b.url + "/v1", api_key="owner", max_retries=0)
    first = ca.responses.create(model="gpt-4o", input="hello there")
    assert first.output_text == "echo: hello there"
    assert cb.responses.retrieve(first.id).output_text == "echo: hello there"
    second = cb.responses.create(model="gpt-4o", input="and again", previous_response_id=first.id)
    assert second.output_text == "echo: and again"
    sent = fake.last.json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]  # the history came from Redis
    with pytest.raises(openai.NotFoundError):  # still scoped to its owner's credential
        openai.OpenAI(base_url=b.url + "/v1", api_key="someone-else", max_retries=0).responses.retrieve(first.id)
    redis_server.stop()
    with pytest.raises(openai.InternalServerError) as exc:  # lost state is not "not found"
        ca.responses.retrieve(first.id)
    assert exc.value.status_code == 503 and exc.value.response.json()["error"]["code"] == "shared_state_unavailable"


def test_key_cooldowns_shared_by_replicas(pair):
    k1, k2 = "sk-first-key-0000000001", "sk-second-key-000000002"
    fake, a, b = pair(OPENAI_API_KEY=f"{k1},{k2}")
    fake.reply_json({"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}, status=429,
                    headers={"Retry-After": "30"})
    ca = openai.OpenAI(base_url=a.url + "/v1", api_key="x", max_retries=0)
    assert ca.chat.completions.create(model="gpt-4o", messages=MSG).choices[0].message.content == "echo: hello there"
    assert [r.headers["Authorization"] for r in fake.requests] == [f"Bearer {k1}", f"Bearer {k2}"]
    time.sleep(1.5)  # one cooldown sync round in the other replica
    cb = openai.OpenAI(base_url=b.url + "/v1", api_key="x", max_retries=0)
    for _ in range(2):  # b never asked with k1 itself, yet leaves it aside
        cb.chat.completions.create(model="gpt-4o", messages=MSG)
    assert [r.headers["Authorization"] for r in fake.requests[2:]] == [f"Bearer {k2}"] * 2
