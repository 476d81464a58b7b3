"""Each upstream wait follows its own variable, as the README says: AOA_FIRST_BYTE_TIMEOUT until
the response headers, AOA_IDLE_TIMEOUT for every silence after them, and no total."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from aiohttp import web

ANSWER = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "late but fine"}, "finish_reason": "stop"}]}


def _chunk(text: str, finish: str | None = None) -> bytes:
    c = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
    return b"data: " + json.dumps(c).encode() + b"\n\n"


async def upstream(request: web.Request) -> web.StreamResponse:
    """`model` says how to be slow: `headers-S` (S seconds before the headers), `body-S` (headers
    at once, the body S seconds later), `drip-N-S` (a stream of N chunks, S seconds apart)."""
    body = await request.json()
    kind, *args = body["model"].split("-")
    if kind == "headers":
        await asyncio.sleep(float(args[0]))
        return web.json_response(ANSWER)
    if kind == "body":
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = len(json.dumps(ANSWER))
        await resp.prepare(request)
        await asyncio.sleep(float(args[0]))
        await resp.write(json.dumps(ANSWER).encode())
        return resp
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    n, gap = int(args[0]), float(args[1])
    for i in range(n):
        await asyncio.sleep(gap)
        await resp.write(_chunk(str(i), "stop" if i == n - 1 else None))
    await resp.write(b"data: [DONE]\n\n")
    return resp


@pytest.fixture
def proxy(serve, aoa_server):
    def start(**env: str):
        app = web.Application()
        app.router.add_post("/v1/chat/completions", upstream)
        up = serve(app)
        return aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-x", **env})

    return start


def _ask(srv, model: str, stream: bool = False) -> httpx.Response:
    return httpx.post(srv.url + "/v1/chat/completions", json={"model": model, "stream": stream, "messages": [{"role": "user", "content": "x"}]}, timeout=30)


def test_slow_headers_wait_for_first_byte_timeout_not_idle(proxy):
    srv = proxy(AOA_IDLE_TIMEOUT="0.3", AOA_FIRST_BYTE_TIMEOUT="5")
    r = _ask(srv, "headers-1.0")
    assert r.status_code == 200, r.text  # v0.1: 504 after the idle timeout
    assert r.json()["choices"][0]["message"]["content"] == "late but fine"


def test_headers_later_than_first_byte_timeout_are_a_504(proxy):
    srv = proxy(AOA_IDLE_TIMEOUT="30", AOA_FIRST_BYTE_TIMEOUT="0.3")
    r = _ask(srv, "headers-2")
    assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout", r.text


def test_silence_after_the_headers_follows_idle_timeout(proxy):
    srv = proxy(AOA_IDLE_TIMEOUT="0.3", AOA_FIRST_BYTE_TIMEOUT="30")
    r = _ask(srv, "body-2")
    assert r.status_code == 504, r.text
    r = _ask(srv, "drip-3-1.5", stream=True)
    assert r.status_code == 504 or b'"upstream_timeout"' in r.content, r.text


def test_a_long_stream_that_keeps_talking_is_never_cut(proxy):
    srv = proxy(AOA_IDLE_TIMEOUT="0.5", AOA_FIRST_BYTE_TIMEOUT="0.5")
    r = _ask(srv, "drip-12-0.1", stream=True)  # 1.2 s in all, well past both values
    assert r.status_code == 200
    assert r.text.count("chat.completion.chunk") == 12 and r.text.endswith("data: [DONE]\n\n")
    r = _ask(srv, "body-0.2")
    assert r.status_code == 200, r.text
