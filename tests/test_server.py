"""The server itself: bad input, inbound auth, routes, errors in OpenAI's shape with the right
status, upstream failures of every kind — and the server keeps serving after each."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import openai
import pytest
from aiohttp import web

import aoa as aoa_mod
from gateway.redact import Redactor
from tests.fakes.openai_api import FakeOpenAI
from tests.support import free_port

MOCK = {"AOA_TYPE": "mock", "MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"}
MSG = [{"role": "user", "content": "hello there"}]


def post(url: str, body: bytes | str | dict, headers: dict[str, str] | None = None) -> httpx.Response:
    if isinstance(body, dict):
        body = json.dumps(body)
    h = {"Content-Type": "application/json", **(headers or {})}
    return httpx.post(url, content=body, headers=h, timeout=10)


def assert_openai_error(r: httpx.Response, status: int, *, param: str | None = "-", code: str | None = "-") -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["type"], str) and err["type"]
    if param != "-":
        assert err["param"] == param
    if code != "-":
        assert err["code"] == code
    return err


def still_serving(url: str) -> None:
    c = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
    r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "still here"}])
    assert r.choices[0].message.content.endswith("still here")


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,param,code",
    [
        (b"{not json", None, "invalid_json"),
        (b"", None, "invalid_json"),
        (b"[1, 2]", None, "invalid_json"),
        (b'"a string"', None, "invalid_json"),
        (b'{"model": "m"}', "messages", "missing_required_parameter"),
        (b'{"model": 5, "messages": []}', "model", "invalid_type"),
        (b'{"model": "m", "messages": [], "stream": "yes"}', "stream", "invalid_type"),
        (b'{"model": "m", "messages": [], "stream_options": 3}', "stream_options", "invalid_type"),
    ],
)
def test_bad_input_is_400_with_param(aoa_server, body, param, code):
    srv = aoa_server(MOCK)
    r = post(srv.url + "/v1/chat/completions", body)
    err = assert_openai_error(r, 400, param=param, code=code)
    assert err["type"] == "invalid_request_error"
    still_serving(srv.url)


def test_wrong_type_inside_messages_names_the_field(aoa_server):
    srv = aoa_server(MOCK)
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": 5}]})
    err = assert_openai_error(r, 400)
    assert err["param"] and err["param"].startswith("messages[0]")
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG, "temperature": "hot"})
    assert assert_openai_error(r, 400)["param"] == "temperature"


def test_sdk_sees_bad_request_error(aoa_server):
    srv = aoa_server(MOCK)
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        c.chat.completions.create(model="m", messages=MSG, n=99)
    assert info.value.param == "n"


def test_oversize_body_is_413(aoa_server):
    srv = aoa_server({**MOCK, "AOA_MAX_BODY": "4096"})
    big = {"model": "m", "messages": [{"role": "user", "content": "x" * 10000}]}
    assert_openai_error(post(srv.url + "/v1/chat/completions", big), 413, code="request_too_large")
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.APIStatusError) as info:
        c.chat.completions.create(**big)
    assert info.value.status_code == 413
    still_serving(srv.url)


def test_unknown_route_and_method(aoa_server):
    srv = aoa_server(MOCK)
    assert_openai_error(post(srv.url + "/v1/nothing/here", {}), 404, code="unknown_url")
    r = httpx.get(srv.url + "/v1/chat/completions")
    assert_openai_error(r, 405)


def test_health_routes(aoa_server):
    srv = aoa_server(MOCK)
    for path in ("/", "/health", "/healthz", "/ping"):
        r = httpx.get(srv.url + path)
        assert r.status_code == 200 and r.json() == {"status": "ok"}


# --- inbound auth ------------------------------------------------------------------------


def test_access_keys(aoa_server, monkeypatch):
    srv = aoa_server({**MOCK, "AOA_API_KEYS": "key-one-1234, key-two-5678"})
    url = srv.url + "/v1"
    with pytest.raises(openai.AuthenticationError) as info:
        openai.OpenAI(base_url=url, api_key="nope-0000", max_retries=0).chat.completions.create(model="m", messages=MSG)
    assert info.value.code == "invalid_api_key"
    assert info.value.body["type"] == "authentication_error"
    r = post(url + "/chat/completions", {"model": "m", "messages": MSG})  # no header at all
    assert_openai_error(r, 401, code="invalid_api_key")
    assert_openai_error(httpx.get(url + "/models"), 401)
    for key in ("key-one-1234", "key-two-5678"):
        r = openai.OpenAI(base_url=url, api_key=key, max_retries=0).chat.completions.create(model="m", messages=MSG)
        assert r.choices[0].message.content == "hello there"
    # Azure-style clients send `api-key`.
    r = post(url + "/chat/completions", {"model": "m", "messages": MSG}, {"api-key": "key-two-5678"})
    assert r.status_code == 200
    # Health stays open for load balancers.
    assert httpx.get(srv.url + "/healthz").status_code == 200
    # Every configured key is compared in constant time, with no early exit on a match.
    compared = []
    real = aoa_mod.hmac.compare_digest

    def spy(a, b):
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(aoa_mod.hmac, "compare_digest", spy)
    r = post(url + "/chat/completions", {"model": "m", "messages": MSG}, {"Authorization": "Bearer key-one-1234"})
    assert r.status_code == 200
    assert compared == [b"key-one-1234", b"key-two-5678"]


def test_access_keys_are_not_forwarded_upstream(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "AOA_API_KEYS": "gate-key-99"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="gate-key-99", max_retries=0)
    c.chat.completions.create(model="m", messages=MSG)
    assert "gate-key-99" not in json.dumps(fake.last.headers)


def test_client_bearer_passes_through_without_server_key(serve, aoa_server):
    fake = FakeOpenAI(key="sk-client-own")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1"})
    ok = openai.OpenAI(base_url=srv.url + "/v1", api_key="sk-client-own", max_retries=0)
    assert ok.chat.completions.create(model="m", messages=MSG).choices[0].message.content == "echo: hello there"
    bad = openai.OpenAI(base_url=srv.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="m", messages=MSG)


def test_server_key_overrides_client_bearer(serve, aoa_server):
    fake = FakeOpenAI(key="sk-server")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-server"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="whatever", max_retries=0)
    c.chat.completions.create(model="m", messages=MSG)
    assert fake.last.headers["Authorization"] == "Bearer sk-server"


def test_cors_preflight(aoa_server):
    srv = aoa_server(MOCK)
    r = httpx.options(
        srv.url + "/v1/chat/completions",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"},
    )
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG}, {"Origin": "https://app.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"


# --- routes -------------------------------------------------------------------------------


def test_models_without_duplicates(serve, aoa_server):
    fake = FakeOpenAI(flavor="azure", deployments=("gpt-35",))
    up = serve(fake.app())
    srv = aoa_server({
        "AOA_TYPE": "azure", "AZURE_ENDPOINT": up.url, "AZURE_MODEL": "gpt-35",
        "AZURE_MODEL_ALIAS": "gpt-3.5-turbo:gpt-35,gpt-4:gpt-35,gpt-35:gpt-35",
    })
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    ids = [m.id for m in c.models.list()]
    assert ids == ["gpt-35", "gpt-3.5-turbo", "gpt-4"]
    assert c.models.retrieve("gpt-4").id == "gpt-4"
    with pytest.raises(openai.NotFoundError):
        c.models.retrieve("nope")


async def test_completions_legacy_on_mock(aoa_server):
    srv = aoa_server(MOCK)
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x")
    r = c.completions.create(model="m", prompt="say this", max_tokens=50)
    assert r.object == "text_completion" and r.choices[0].text == "say this"
    assert r.id.startswith("cmpl-")
    text = "".join(ch.choices[0].text for ch in c.completions.create(model="m", prompt="say that", stream=True) if ch.choices)
    assert text == "say that"
    ac = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="x")
    r = await ac.completions.create(model="m", prompt="async one")
    assert r.choices[0].text == "async one"
    text = ""
    async for ch in await ac.completions.create(model="m", prompt="async two", stream=True):
        text += "".join(c.text for c in ch.choices)
    assert text == "async two"


def test_completions_passthrough(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    r = c.completions.create(model="gpt-3.5-turbo-instruct", prompt="abc", echo=False, suffix="z")
    assert r.choices[0].text == "echo: abc"
    assert fake.last.path == "/v1/completions"
    assert fake.last.json["suffix"] == "z"


def test_missing_prompt_or_input(aoa_server):
    srv = aoa_server(MOCK)
    assert_openai_error(post(srv.url + "/v1/completions", {"model": "m"}), 400, param="prompt")
    assert_openai_error(post(srv.url + "/v1/embeddings", {"model": "m"}), 400, param="input")


def test_large_vision_body_is_accepted(serve, aoa_server):
    fake = FakeOpenAI(flavor="azure", deployments=("gpt-4v",))
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "azure", "AZURE_ENDPOINT": up.url, "AZURE_MODEL": "gpt-4v", "AZURE_VISION": "true"})
    image = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + bytes(6 * 1024 * 1024)).decode()
    assert len(image) > 8_000_000
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0, timeout=60)
    r = c.chat.completions.create(
        model="gpt-4v",
        messages=[{"role": "user", "content": [{"type": "text", "text": "what"}, {"type": "image_url", "image_url": {"url": image}}]}],
    )
    assert r.choices[0].message.content == "echo: what"
    assert fake.last.json["messages"][0]["content"][1]["image_url"]["url"] == image


# --- upstream failures --------------------------------------------------------------------


@pytest.fixture
def passthrough(serve, aoa_server):
    def start(**env):
        fake = FakeOpenAI()
        up = serve(fake.app())
        srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", **env})
        return fake, srv, openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)

    return start


def test_upstream_garbage_is_502(passthrough):
    fake, srv, c = passthrough()
    fake.reply_raw(b"<html>gateway page</html>", content_type="text/html")
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG})
    assert_openai_error(r, 502, code="upstream_invalid_json")
    still_serving(srv.url)


def test_upstream_reset_before_answer_is_502(passthrough):
    fake, srv, c = passthrough()
    fake.reply_reset()
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG})
    err = assert_openai_error(r, 502, code="upstream_unreachable")
    assert "closed" in err["message"] or "reach" in err["message"]
    fake.reply_reset()
    with pytest.raises(openai.InternalServerError) as info:
        c.chat.completions.create(model="m", messages=MSG, stream=True)
    assert info.value.status_code == 502
    still_serving(srv.url)


def _chunk(text: str) -> dict:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def test_upstream_reset_mid_stream(passthrough):
    fake, srv, c = passthrough()
    fake.reply_reset_mid_stream([_chunk("partial")])
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG, "stream": True})
    assert r.status_code == 200
    events = [line for line in r.text.split("\n\n") if line]
    assert json.loads(events[0][6:])["choices"][0]["delta"]["content"] == "partial"
    last = json.loads(events[-1][6:])
    assert last["error"]["code"] == "upstream_unreachable"
    assert "[DONE]" not in r.text
    fake.reply_reset_mid_stream([_chunk("partial")])
    with pytest.raises(openai.APIError):
        for _ in c.chat.completions.create(model="m", messages=MSG, stream=True):
            pass
    still_serving(srv.url)


def test_first_byte_timeout_is_504(passthrough):
    fake, srv, c = passthrough(AOA_FIRST_BYTE_TIMEOUT="0.2")
    fake.reply_hang(1.0)
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG})
    assert_openai_error(r, 504, code="upstream_timeout")
    still_serving(srv.url)


def test_idle_timeout_mid_stream_is_error_event(passthrough):
    fake, srv, c = passthrough(AOA_IDLE_TIMEOUT="0.2")
    fake.reply_sse([_chunk("a"), _chunk("b")], delay=0.5)
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG, "stream": True})
    # Headers came, then silence past the idle limit before any chunk: still a proper 504.
    assert_openai_error(r, 504, code="upstream_timeout")
    fake.reply_sse([_chunk("a"), b": keep-alive\n\n", _chunk("b"), b"data: [DONE]\n\n"], delay=0.1)
    assert "ab" == "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(model="m", messages=MSG, stream=True) if ch.choices)


def test_idle_timeout_after_first_chunk(serve, aoa_server):
    async def slow(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"data: " + json.dumps(_chunk("first")).encode() + b"\n\n")
        await asyncio.sleep(1.0)
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", slow)
    up = serve(app)
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "AOA_IDLE_TIMEOUT": "0.2"})
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG, "stream": True})
    events = [e for e in r.text.split("\n\n") if e]
    assert json.loads(events[0][6:])["choices"][0]["delta"]["content"] == "first"
    assert json.loads(events[-1][6:])["error"]["code"] == "upstream_timeout"
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.APIError):
        list(c.chat.completions.create(model="m", messages=MSG, stream=True))


def test_upstream_unreachable_is_502(aoa_server):
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": f"http://127.0.0.1:{free_port()}/v1", "AOA_CONNECT_TIMEOUT": "2"})
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG})
    err = assert_openai_error(r, 502, code="upstream_unreachable")
    assert "cannot connect" in err["message"]
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG, "stream": True})
    assert_openai_error(r, 502)
    assert_openai_error(post(srv.url + "/v1/embeddings", {"model": "m", "input": "x"}), 502)


def test_429_retry_after_and_500(passthrough):
    fake, srv, c = passthrough()
    fake.reply_json({"error": {"message": "Rate limit reached for gpt-4o", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}, status=429, headers={"Retry-After": "7"})
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG})
    err = assert_openai_error(r, 429, code="rate_limit_exceeded")
    assert r.headers["Retry-After"] == "7"
    assert err["message"] == "Rate limit reached for gpt-4o"
    fake.reply_json({"error": {"message": "The server had an error", "type": "server_error", "param": None, "code": None}}, status=500)
    with pytest.raises(openai.InternalServerError) as info:
        c.chat.completions.create(model="m", messages=MSG)
    assert info.value.status_code == 500 and "server had an error" in info.value.message
    fake.reply_json({"error": {"message": "bad temp", "type": "invalid_request_error", "param": "temperature", "code": None}}, status=400)
    with pytest.raises(openai.BadRequestError) as info:
        c.chat.completions.create(model="m", messages=MSG, stream=True)
    assert info.value.param == "temperature"
    still_serving(srv.url)


def test_upstream_error_event_mid_stream(passthrough):
    fake, srv, c = passthrough()
    fake.reply_sse([_chunk("a"), {"error": {"message": "overloaded", "type": "server_error", "param": None, "code": None}}])
    with pytest.raises(openai.APIError) as info:
        list(c.chat.completions.create(model="m", messages=MSG, stream=True))
    assert "overloaded" in str(info.value)
    still_serving(srv.url)


async def test_client_disconnect_cancels_upstream(serve, aoa_server):
    seen: dict[str, object] = {}

    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        seen["started"] = True
        try:
            for i in range(100):
                await resp.write(b"data: " + json.dumps(_chunk(f"w{i} ")).encode() + b"\n\n")
                await asyncio.sleep(0.05)
            seen["finished"] = True
        except (ConnectionError, asyncio.CancelledError):
            seen["closed"] = True
            raise
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", endless)
    up = serve(app)
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1"})
    ac = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    stream = await ac.chat.completions.create(model="m", messages=MSG, stream=True)
    got = 0
    async for _ in stream:
        got += 1
        if got == 3:
            break
    await stream.close()
    for _ in range(40):
        if "closed" in seen:
            break
        await asyncio.sleep(0.05)
    assert seen.get("closed") and not seen.get("finished")


def test_upstream_ignoring_stream_is_502_not_empty(passthrough):
    fake, srv, c = passthrough()
    fake.reply_json({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]})
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG, "stream": True})
    err = assert_openai_error(r, 502)
    assert "without streaming" in err["message"]
    # A 200 carrying an error envelope keeps the vendor's words.
    fake.reply_json({"error": {"message": "quota exhausted", "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}})
    with pytest.raises(openai.APIStatusError) as info:
        list(c.chat.completions.create(model="m", messages=MSG, stream=True))
    assert info.value.status_code == 502 and "quota exhausted" in info.value.message
    still_serving(srv.url)


def test_upstream_empty_stream_is_502(passthrough):
    fake, srv, c = passthrough()
    fake.reply_raw(b"", content_type="text/event-stream")
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG, "stream": True})
    assert_openai_error(r, 502, code="upstream_empty_stream")
    # An upstream that only says [DONE] did stream: nothing to complain about.
    fake.reply_sse([b"data: [DONE]\n\n"])
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG, "stream": True})
    assert r.status_code == 200 and r.text == "data: [DONE]\n\n"


def test_undecodable_content_encoding_is_400(aoa_server):
    import gzip

    srv = aoa_server(MOCK)
    body = json.dumps({"model": "m", "messages": MSG}).encode()
    r = post(srv.url + "/v1/chat/completions", body, {"Content-Encoding": "gzip"})
    assert_openai_error(r, 400, code="invalid_body")
    r = post(srv.url + "/v1/chat/completions", gzip.compress(body), {"Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "hello there"


@pytest.mark.parametrize(
    "text,gone",
    [
        ("GET https://x/v1/models?key=AIzaSecret123&alt=sse", "AIzaSecret123"),
        ("Authorization: Bearer sk-live-abcdef", "sk-live-abcdef"),
        ('{"api-key": "azsecretvalue"}', "azsecretvalue"),
        ("x-goog-api-key: googsecret1", "googsecret1"),
        ("proxy http://user:pa55word@proxy:3128 refused", "pa55word"),
        ("configured secret configured-1234 echoed", "configured-1234"),
    ],
)
def test_redactor(text, gone):
    redact = Redactor(["configured-1234"])
    out = redact(text)
    assert gone not in out and "[redacted]" in out
    assert redact("key per request: client-own-5678", "client-own-5678") == "key per request: [redacted]"


def test_cors_restricted_origins(aoa_server):
    srv = aoa_server({**MOCK, "AOA_CORS_ORIGINS": "https://good.example"})
    pre = {"Access-Control-Request-Method": "POST"}
    r = httpx.options(srv.url + "/v1/chat/completions", headers={"Origin": "https://evil.example", **pre})
    assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers
    r = httpx.options(srv.url + "/v1/chat/completions", headers={"Origin": "https://good.example", **pre})
    assert r.status_code == 204 and r.headers["Access-Control-Allow-Origin"] == "https://good.example"
    r = post(srv.url + "/v1/chat/completions", {"model": "m", "messages": MSG}, {"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


async def test_client_disconnect_while_waiting_cancels_upstream(serve, aoa_server):
    seen: dict[str, bool] = {}

    async def slow(request: web.Request) -> web.Response:
        seen["started"] = True
        try:
            await asyncio.sleep(3)
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", slow)
    up = serve(app)
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1"})
    ac = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        await ac.chat.completions.create(model="m", messages=MSG)
    for _ in range(40):
        if seen.get("cancelled"):
            break
        await asyncio.sleep(0.05)
    assert seen.get("started") and seen.get("cancelled")
