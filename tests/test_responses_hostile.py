"""The Responses API against hostile clients and upstreams: malformed input is a 400 naming the
field, stored responses stay with the credential that made them, ids cannot steer relayed
requests, and a broken upstream stream ends with a clear error."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from aiohttp import web
from pydantic import TypeAdapter

from openai.types.responses import ResponseItemList, ResponseStreamEvent

FAST = {"MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"}
EVENTS = TypeAdapter(ResponseStreamEvent)


def _sse(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.split("\n\n"):
        if block.strip():
            lines = dict(line.split(": ", 1) for line in block.split("\n"))
            out.append((lines.get("event", ""), json.loads(lines["data"])))
    return out


# --- client input ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_assistant_message_without_content_is_stored_and_listed(aoa_server, stream):
    srv = aoa_server({"AOA_TYPE": "mock", **FAST})
    body = {"model": "m", "input": [{"role": "user", "content": "hi"}, {"role": "assistant"}, {"role": "user", "content": "again"}]}
    if stream:
        with httpx.stream("POST", srv.url + "/v1/responses", json={**body, "stream": True}) as r:
            events = _sse(r.read().decode())
        assert events[-1][0] == "response.completed"
        rid = events[-1][1]["response"]["id"]
    else:
        r = httpx.post(srv.url + "/v1/responses", json=body)
        assert r.status_code == 200, r.text
        rid = r.json()["id"]
    listed = ResponseItemList.model_validate(httpx.get(f"{srv.url}/v1/responses/{rid}/input_items?order=asc").json())
    assert [getattr(i, "role", None) for i in listed.data] == ["user", "assistant", "user"]


@pytest.mark.parametrize("raw", [b'{"model":"m","input":"\xff\xfe"}', b'{"model":"m","input":[{"role":"user","content":"\xc3("}]}'])
def test_invalid_utf8_is_a_400(aoa_server, raw):
    srv = aoa_server({"AOA_TYPE": "mock", **FAST})
    r = httpx.post(srv.url + "/v1/responses", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


# --- isolation -------------------------------------------------------------------------------


@pytest.mark.parametrize("keys", ["alice,bob", ""])
def test_every_lookup_is_scoped_to_the_credential_that_stored_it(aoa_server, keys):
    """With access keys or open access (then the bearer is the client's own upstream key),
    GET, DELETE, input_items and previous_response_id see only the creator's responses."""
    srv = aoa_server({"AOA_TYPE": "mock", "AOA_API_KEYS": keys, **FAST})
    a = openai.OpenAI(base_url=srv.url + "/v1", api_key="alice", max_retries=0)
    b = openai.OpenAI(base_url=srv.url + "/v1", api_key="bob", max_retries=0)
    rid = a.responses.create(model="m", input="secret plans").id
    with pytest.raises(openai.NotFoundError):
        b.responses.retrieve(rid)
    with pytest.raises(openai.NotFoundError):
        b.responses.input_items.list(rid)
    with pytest.raises(openai.NotFoundError):
        b.responses.create(model="m", input="x", previous_response_id=rid)
    with pytest.raises(openai.NotFoundError):
        b.responses.delete(rid)
    assert httpx.get(f"{srv.url}/v1/responses/{rid}").status_code in ((401,) if keys else (404,))
    assert a.responses.retrieve(rid).output_text == "secret plans"  # bob's delete did nothing
    a.responses.delete(rid)
    with pytest.raises(openai.NotFoundError):
        a.responses.retrieve(rid)


@pytest.mark.parametrize("path", [
    "/v1/responses/..%2F..%2Fmodels", "/v1/responses/resp_1%3Fx=1", "/v1/responses/resp_1%23x",
    "/v1/responses/..", "/v1/responses/resp%2F1/input_items", "/v1/responses/" + "a" * 201,
])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_relay_ids_are_one_safe_path_segment(serve, aoa_server, path, method):
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        return web.json_response({"object": "list", "data": []})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    up = serve(app)
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up"})
    r = httpx.request(method, srv.url + path)
    assert r.status_code in (404, 405) and seen == []


# --- hostile upstream (relay mode) -------------------------------------------------------------

CREATED = b'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_up","object":"response","created_at":1,"model":"gpt-4o","output":[],"status":"in_progress","parallel_tool_calls":true,"tool_choice":"auto","tools":[]}}\n\n'
DELTA = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"hi","logprobs":[]}\n\n'
ERROR = b'event: error\ndata: {"type":"error","sequence_number":%d,"code":"rate_limit_exceeded","message":"Slow down.","param":null}\n\n'


@pytest.fixture
def relay(serve, aoa_server):
    replies: list[bytes] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(replies.pop(0))
        return resp

    app = web.Application()
    app.router.add_post("/v1/responses", handle)
    up = serve(app)
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up"})

    def send(upstream: bytes) -> httpx.Response:
        replies.append(upstream)
        return httpx.post(srv.url + "/v1/responses", json={"model": "gpt-4o", "input": "hi", "stream": True})

    return send


@pytest.mark.parametrize(("upstream", "code"), [
    (b"data: <html>Bad gateway</html>\n\n", "upstream_invalid_sse"),
    (ERROR % 0, "rate_limit_exceeded"),
])
def test_relay_broken_before_the_first_event_is_an_http_error(relay, upstream, code):
    r = relay(upstream)
    assert r.status_code == 502 and r.json()["error"]["code"] == code


@pytest.mark.parametrize(("upstream", "code"), [
    (CREATED + DELTA + b"data: <html>Bad gateway</html>\n\n", "upstream_invalid_sse"),
    (CREATED + DELTA + b'event: response.output_text.delta\ndata: {"type":"response.output', "upstream_invalid_sse"),
    (CREATED + DELTA, "upstream_truncated"),
])
def test_relay_broken_mid_stream_ends_with_a_numbered_error_event(relay, upstream, code):
    r = relay(upstream)
    events = _sse(r.text)
    assert [name for name, _ in events] == ["response.created", "response.output_text.delta", "error"]
    error = EVENTS.validate_python(events[-1][1])
    assert error.code == code and error.sequence_number == 2 and "sk-up" not in r.text


def test_relay_upstream_error_event_mid_stream_is_relayed(relay):
    upstream = CREATED + DELTA + ERROR % 2
    r = relay(upstream)
    assert r.status_code == 200 and r.content == upstream
