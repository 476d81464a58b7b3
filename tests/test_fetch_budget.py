"""Per-request bounds on media fetching: at most AOA_FETCH_MAX_URLS distinct URLs (refused before
any fetch) and AOA_FETCH_MAX_TOTAL_BYTES over all of them, with the SSRF guard still on every hop.

Loopback only: `public.test` maps to a server on 127.0.0.2 that the test's guard treats as public
(the seams of test_fetch_guard.py).
"""

from __future__ import annotations

import asyncio

import openai
import pytest
from aiohttp import web

from gateway.config import DEFAULTS, load_config
from gateway.fetch import PARALLEL, open_fetcher
from providers import core
from tests.fakes.gemini_api import FakeGemini
from tests.test_fetch_guard import PUBLIC_IP, Loopback, MapResolver, test_allowed


class Cfg:
    fetch_private = False
    fetch_timeout = 5.0
    fetch_max_bytes = 1000
    fetch_max_total_bytes = 2500
    fetch_max_urls = 4


@pytest.fixture(scope="module")
def blobs():
    """GET /b/<name>?n=<bytes>[&chunked=1] → n bytes; every request is recorded."""
    hits: list[str] = []

    async def blob(request: web.Request) -> web.StreamResponse:
        hits.append(request.path_qs)
        n = int(request.query["n"])
        if "chunked" not in request.query:
            return web.Response(body=b"x" * n, content_type="image/png")
        resp = web.StreamResponse(headers={"Content-Type": "image/png"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for i in range(0, n, 300):
            await resp.write(b"x" * min(300, n - i))
        await resp.write_eof()
        return resp

    async def redirect(request: web.Request) -> web.Response:
        hits.append(request.path_qs)
        return web.Response(status=302, headers={"Location": request.query["to"]})

    app = web.Application()
    app.router.add_get("/b/{name}", blob)
    app.router.add_get("/redirect", redirect)
    server = Loopback(app, (PUBLIC_IP,))
    yield f"http://public.test:{server.port}", hits
    server.stop()


def _fetch(urls: list[str], cfg: Cfg | None = None):
    async def go():
        fetcher = await open_fetcher(core.Common(prefix="T"), cfg or Cfg(), "t", resolver=MapResolver({"public.test": PUBLIC_IP}), allowed=test_allowed)
        try:
            return await fetcher.fetch(urls)
        finally:
            await fetcher.close()

    return asyncio.run(go())


@pytest.fixture
def site(blobs):
    base, hits = blobs
    hits.clear()
    return base, hits


@pytest.mark.parametrize("chunked", ["", "&chunked=1"])
def test_the_budget_is_exact(site, chunked):
    base, hits = site
    got = _fetch([f"{base}/b/a?n=1000{chunked}", f"{base}/b/b?n=1000{chunked}", f"{base}/b/c?n=500{chunked}"])
    assert [len(m.data) for m in got.values()] == [1000, 1000, 500]  # 2500 of 2500
    with pytest.raises(core.Error) as exc:
        _fetch([f"{base}/b/a?n=1000{chunked}", f"{base}/b/b?n=1000{chunked}", f"{base}/b/c?n=501{chunked}"])
    err = exc.value
    assert (err.status, err.param, err.code) == (400, "messages", "media_too_large")
    # Fetched four at a time, the URL whose bytes crossed the line is whichever arrived last.
    assert "AOA_FETCH_MAX_TOTAL_BYTES" in err.message and any(f"/b/{c}?" in err.message for c in "abc")


def test_nothing_more_is_fetched_after_the_budget_is_spent(site):
    base, hits = site
    cfg = Cfg()
    cfg.fetch_max_urls = 8
    with pytest.raises(core.Error) as exc:
        _fetch([f"{base}/b/{c}?n=1000" for c in "abcdefgh"], cfg)
    assert "AOA_FETCH_MAX_TOTAL_BYTES" in exc.value.message
    # At most two 1000-byte files fit in 2500, so at most two workers move on to a next URL.
    assert len(hits) <= PARALLEL + 2, hits


def test_urls_are_fetched_a_few_at_a_time(site):
    base, _ = site
    inflight = {"now": 0, "most": 0}
    started = []

    async def slow(request: web.Request) -> web.Response:
        started.append(request.path)
        inflight["now"] += 1
        inflight["most"] = max(inflight["most"], inflight["now"])
        await asyncio.sleep(0.3)
        inflight["now"] -= 1
        return web.Response(body=b"x", content_type="image/png")

    app = web.Application()
    app.router.add_get("/{name}", slow)
    server = Loopback(app, (PUBLIC_IP,))
    try:
        cfg = Cfg()
        cfg.fetch_max_urls = 10
        urls = [f"http://public.test:{server.port}/{i}" for i in range(10)]
        got = _fetch(urls, cfg)
    finally:
        server.stop()
    assert list(got) == urls  # in the request's order, whatever order they arrived in
    assert inflight["most"] == PARALLEL and sorted(started) == sorted(f"/{i}" for i in range(10))


def test_the_per_url_cap_still_applies_inside_the_budget(site):
    base, _ = site
    with pytest.raises(core.Error) as exc:
        _fetch([f"{base}/b/a?n=1001&chunked=1"])
    assert exc.value.code == "image_too_large" and "AOA_FETCH_MAX_BYTES" in exc.value.message


def test_too_many_distinct_urls_fetch_nothing(site):
    base, hits = site
    with pytest.raises(core.Error) as exc:
        _fetch([f"{base}/b/{i}?n=1" for i in range(5)])
    err = exc.value
    assert (err.status, err.param, err.code) == (400, "messages", "too_many_media_urls")
    assert "AOA_FETCH_MAX_URLS" in err.message and "5" in err.message
    assert hits == []


def test_repeated_urls_count_once(site):
    base, hits = site
    urls = [f"{base}/b/{i}?n=10" for i in range(4)]
    got = _fetch(urls * 3)
    assert list(got) == urls and len(hits) == 4


def test_the_guard_holds_with_the_budget(site):
    base, hits = site
    with pytest.raises(core.Error) as exc:
        _fetch([f"{base}/b/a?n=10", f"{base}/redirect?to=http://127.0.0.1:1/s"])
    assert "private or local" in exc.value.message


@pytest.mark.parametrize(
    ("env", "each", "total", "urls"),
    [
        ({}, DEFAULTS["AOA_FETCH_MAX_BYTES"], 64 << 20, 16),
        ({"AOA_FETCH_MAX_TOTAL_BYTES": "20971520"}, 20 << 20, 20 << 20, 16),
        ({"AOA_FETCH_MAX_BYTES": "100", "AOA_FETCH_MAX_TOTAL_BYTES": "150", "AOA_FETCH_MAX_URLS": "1"}, 100, 150, 1),
    ],
)
def test_config(env, each, total, urls):
    cfg = load_config({"AOA_TYPE": "mock", **env})
    assert (cfg.fetch_max_bytes, cfg.fetch_max_total_bytes, cfg.fetch_max_urls) == (each, total, urls)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"AOA_FETCH_MAX_TOTAL_BYTES": "1048576"}, ("AOA_FETCH_MAX_TOTAL_BYTES", "AOA_FETCH_MAX_BYTES")),
        ({"AOA_FETCH_MAX_BYTES": "2000", "AOA_FETCH_MAX_TOTAL_BYTES": "1999"}, ("AOA_FETCH_MAX_TOTAL_BYTES", "AOA_FETCH_MAX_BYTES")),
        ({"AOA_FETCH_MAX_TOTAL_BYTES": "0"}, ("AOA_FETCH_MAX_TOTAL_BYTES",)),
        ({"AOA_FETCH_MAX_TOTAL_BYTES": "lots"}, ("AOA_FETCH_MAX_TOTAL_BYTES",)),
        ({"AOA_FETCH_MAX_URLS": "0"}, ("AOA_FETCH_MAX_URLS",)),
        ({"AOA_FETCH_MAX_URLS": "-3"}, ("AOA_FETCH_MAX_URLS",)),
    ],
)
def test_bad_config_refuses_to_start(env, names):
    with pytest.raises(core.ConfigError) as exc:
        load_config({"AOA_TYPE": "mock", **env})
    assert all(n in str(exc.value) for n in names), str(exc.value)


def test_through_aoa_with_the_openai_sdk(serve, aoa_server):
    hits: list[str] = []

    async def blob(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"\x89PNG" + b"x" * 596, content_type="image/png")

    app = web.Application()
    app.router.add_get("/{name}", blob)
    img = serve(app)
    fake = FakeGemini(key="AIza-up")
    up = serve(fake.app())
    srv = aoa_server({
        "AOA_TYPE": "gemini", "GEMINI_ENDPOINT": up.url, "GEMINI_API_KEY": "AIza-up", "AOA_FETCH_PRIVATE": "true",
        "AOA_FETCH_MAX_BYTES": "1000", "AOA_FETCH_MAX_TOTAL_BYTES": "1500", "AOA_FETCH_MAX_URLS": "3",
    })
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="k", max_retries=0)

    def ask(*names: str):
        content = [{"type": "text", "text": "what"}, *({"type": "image_url", "image_url": {"url": f"{img.url}/{n}"}} for n in names)]
        return client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": content}])

    with pytest.raises(openai.BadRequestError) as exc:
        ask("a", "b", "c", "d")
    assert exc.value.body["param"] == "messages" and "AOA_FETCH_MAX_URLS" in exc.value.body["message"]
    assert hits == [] and fake.requests == []

    with pytest.raises(openai.BadRequestError) as exc:
        ask("a", "b", "c")  # 3 × 600 bytes > 1500
    assert exc.value.body["param"] == "messages" and "AOA_FETCH_MAX_TOTAL_BYTES" in exc.value.body["message"]
    assert exc.value.body["code"] == "media_too_large" and fake.requests == []

    hits.clear()
    ask("a", "b", "a")  # two distinct files, 1200 bytes: within both bounds
    assert sorted(hits) == ["/a", "/b"]
    parts = fake.last.json["contents"][0]["parts"]
    assert [p["inlineData"]["mimeType"] for p in parts[1:]] == ["image/png"] * 3
