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


# --- stream fidelity -----------------------------------------------------------------------------


def _chunk(delta=None, finish=None, usage=None) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up-model", "choices": choices}
    if usage is not None:
        body["usage"] = usage
    return json.dumps(body).encode()


def _call(index, id=None, name=None, args=None):
    fn = {k: v for k, v in (("name", name), ("arguments", args)) if v is not None}
    return {"tool_calls": [{"index": index, **({"id": id, "type": "function"} if id else {}), "function": fn}]}


USAGE = {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29,
         "prompt_tokens_details": {"cached_tokens": 16}, "completion_tokens_details": {"reasoning_tokens": 4}}


def _drive(chunks: list[bytes]) -> list[tuple[str, dict]]:
    from providers import responses

    skel = responses.skeleton(responses.decode_request(b'{"input":"x"}'), {}, "resp_abc", 1, "m")
    st = responses.ResponseStream(skel, encrypted=True)
    frames = [f for c in chunks for f in st.feed(c)] + st.close(2)
    return _sse(b"".join(frames).decode())


def test_stream_with_reasoning_text_and_parallel_calls_satisfies_the_sdk_accumulator():
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import Response

    events = _drive([
        _chunk({"role": "assistant", "reasoning_content": "think"}), _chunk({"reasoning_content": "ing"}),
        _chunk({"content": "Let me "}), _chunk({"content": "check."}),
        _chunk(_call(0, "call_a", "weather", '{"city":')), _chunk(_call(1, "call_b", "time", "")),
        _chunk(_call(2, "call_c", "news", "{}")), _chunk(_call(0, args='"Paris"}')), _chunk(_call(1, args='{"tz":"CET"}')),
        _chunk({}, "tool_calls"), _chunk(usage=USAGE),
    ])
    assert [e["sequence_number"] for _, e in events] == list(range(len(events)))
    state = ResponseStreamState(input_tools=[], text_format=openai.omit)
    opened: dict[int, str] = {}
    closed: set[int] = set()
    for name, data in events:
        event = EVENTS.validate_python(data)
        assert event.type == name
        state.handle_event(event)
        if "output_index" in data:
            i = data["output_index"]
            if name == "response.output_item.added":
                assert i not in opened and i == len(opened)
                opened[i] = data["item"]["id"]
            else:
                assert i in opened and i not in closed, name
                if "item_id" in data:
                    assert data["item_id"] == opened[i]
                if name == "response.output_item.done":
                    assert data["item"]["id"] == opened[i]
                    closed.add(i)
    assert closed == set(opened)
    final = Response.model_validate(events[-1][1]["response"])
    assert events[-1][0] == "response.completed" and final.status == "completed" and final.model == "up-model"
    assert [o.type for o in final.output] == ["reasoning", "message", "function_call", "function_call", "function_call"]
    assert [o.id for o in final.output] == [opened[i] for i in range(5)]
    assert final.output[0].summary[0].text == "thinking" and final.output_text == "Let me check."
    assert [(o.call_id, o.arguments) for o in final.output[2:]] == [("call_a", '{"city":"Paris"}'), ("call_b", '{"tz":"CET"}'), ("call_c", "{}")]
    u = final.usage
    assert (u.input_tokens, u.input_tokens_details.cached_tokens, u.output_tokens, u.output_tokens_details.reasoning_tokens, u.total_tokens) == (20, 16, 9, 4, 29)
    assert state._completed_response is not None and state._completed_response.output_text == "Let me check."


@pytest.mark.parametrize(("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")])
def test_cut_off_stream_and_answer_are_incomplete_with_the_reason(finish, reason):
    from openai.types.responses import Response

    from providers import responses

    events = _drive([_chunk({"content": "partial"}), _chunk({}, finish)])
    assert events[-1][0] == "response.incomplete"
    r = Response.model_validate(events[-1][1]["response"])
    assert r.status == "incomplete" and r.incomplete_details.reason == reason and r.output[0].status == "incomplete"
    body = json.dumps({"model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "partial"}, "finish_reason": finish}]}).encode()
    skel = responses.skeleton(responses.decode_request(b'{"input":"x"}'), {}, "resp_abc", 1, "m")
    r = Response.model_validate(json.loads(responses.encode(responses.from_chat(skel, body, encrypted=False, completed_at=2))))
    assert r.status == "incomplete" and r.incomplete_details.reason == reason and r.completed_at is None


@pytest.mark.parametrize(("status", "code", "expected"), [
    (502, "upstream_error", "server_error"), (429, "rate_limit", "rate_limit_exceeded"),
    (400, "invalid_value", "server_error"), (400, "invalid_prompt", "invalid_prompt"), (400, None, "server_error"),
])
def test_failed_response_error_code_is_one_the_sdk_knows(status, code, expected):
    from openai.types.responses import Response

    from providers import core, responses

    skel = responses.skeleton(responses.decode_request(b'{"input":"x"}'), {}, "resp_abc", 1, "m")
    st = responses.ResponseStream(skel, encrypted=False)
    frames = st.feed(_chunk({"content": "par"})) + st.fail(core.Error(status, "went wrong", code=code))
    (_, error), (_, failed) = _sse(b"".join(frames[-2:]).decode())
    assert EVENTS.validate_python(error).message == "went wrong" and error["code"] is not None
    r = Response.model_validate(failed["response"])
    assert r.status == "failed" and r.error.code == expected and r.error.message == "went wrong"


def _assert_linear(cost, n: int) -> None:
    """Five times the work within fifteen times the time (quadratic code takes about 25 times);
    the best of three runs, as the machine may be busy."""
    import gc

    gc.disable()  # collections of the growing heap add noise that is not the code's
    try:
        small = min(cost(n) for _ in range(3))
        big = min(cost(5 * n) for _ in range(3))
    finally:
        gc.enable()
    assert big < 15 * small, (small, big)


def test_translation_time_is_linear_in_the_number_of_items():
    """Thousands of consecutive function calls (one assistant turn) must not cost quadratic time."""
    import time

    from providers import responses

    def cost(n: int) -> float:
        items = [{"type": "function_call", "call_id": f"c{i}", "name": "f", "arguments": "{}"} for i in range(n)]
        req = responses.decode_request(json.dumps({"model": "m", "input": [*items, {"role": "user", "content": "x"}]}).encode())
        t0 = time.perf_counter()
        [turn, _] = responses.to_messages(responses.input_items(req))
        assert len(turn.tool_calls) == n
        return time.perf_counter() - t0

    _assert_linear(cost, 16_000)


def test_stream_time_is_linear_in_the_number_of_items():
    """An upstream that alternates reasoning and text opens an item per switch; closing one must
    not search the whole output."""
    import time

    from providers import responses

    def cost(n: int) -> float:
        chunks = [_chunk({"reasoning_content": "r"} if i % 2 else {"content": "t"}) for i in range(n)]
        skel = responses.skeleton(responses.decode_request(b'{"input":"x"}'), {}, "resp_abc", 1, "m")
        st = responses.ResponseStream(skel, encrypted=False)
        t0 = time.perf_counter()
        for c in chunks:
            st.feed(c)
        st.close(2)
        assert len(st.response.output) == n
        return time.perf_counter() - t0

    _assert_linear(cost, 3_000)


@pytest.mark.parametrize("stream", [False, True])
def test_relay_with_aoas_key_keeps_each_credentials_responses_apart(serve, aoa_server, stream):
    """The upstream sees aoa's key for every client, so aoa itself answers 404 to a client asking
    for another's response, and never forwards the request."""
    seen: list[tuple[str, str]] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append((request.method, request.path))
        if request.method == "POST" and (await request.json()).get("stream"):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(CREATED + DELTA + b'event: response.completed\ndata: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_up","object":"response","created_at":1,"model":"gpt-4o","output":[],"status":"completed","parallel_tool_calls":true,"tool_choice":"auto","tools":[]}}\n\n')
            return resp
        if request.method == "DELETE":
            return web.json_response({"id": "resp_up", "object": "response.deleted", "deleted": True})
        if request.path.endswith("/input_items"):
            return web.json_response({"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False})
        return web.json_response({"id": "resp_up", "object": "response", "created_at": 1, "model": "gpt-4o", "status": "completed",
                                  "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "output": []})

    app = web.Application()
    app.router.add_route("*", "/v1/responses", handle)
    app.router.add_route("*", "/v1/responses/{id}", handle)
    app.router.add_route("*", "/v1/responses/{id}/input_items", handle)
    up = serve(app)
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up", "AOA_API_KEYS": "alice,bob"})
    a = openai.OpenAI(base_url=srv.url + "/v1", api_key="alice", max_retries=0)
    b = openai.OpenAI(base_url=srv.url + "/v1", api_key="bob", max_retries=0)
    if stream:
        rid = [e for e in a.responses.create(model="gpt-4o", input="hi", stream=True)][0].response.id
    else:
        rid = a.responses.create(model="gpt-4o", input="hi").id
    assert rid == "resp_up"
    del seen[:]
    for attempt in (lambda: b.responses.retrieve(rid), lambda: b.responses.delete(rid), lambda: b.responses.input_items.list(rid),
                    lambda: b.responses.create(model="gpt-4o", input="x", previous_response_id=rid)):
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert seen == []
    assert a.responses.retrieve(rid).id == rid and a.responses.input_items.list(rid).data == []
    a.responses.create(model="gpt-4o", input="again", previous_response_id=rid)
    a.responses.delete(rid)
    with pytest.raises(openai.NotFoundError):
        a.responses.retrieve(rid)
    assert [m for m, _ in seen] == ["GET", "GET", "POST", "DELETE"]


def test_streamed_refusal_is_a_refusal_part_as_in_the_answer():
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import Response

    from providers import responses

    events = _drive([_chunk({"role": "assistant", "refusal": "I can't "}), _chunk({"refusal": "help."}), _chunk({}, "stop")])
    state = ResponseStreamState(input_tools=[], text_format=openai.omit)
    for name, data in events:
        assert EVENTS.validate_python(data).type == name
        state.handle_event(EVENTS.validate_python(data))
    names = [n for n, _ in events]
    assert "response.output_text.delta" not in names and names.count("response.refusal.delta") == 2
    assert names[-4:] == ["response.refusal.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    streamed = Response.model_validate(events[-1][1]["response"])
    body = json.dumps({"model": "up-model", "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "refusal": "I can't help."}, "finish_reason": "stop"}]}).encode()
    skel = responses.skeleton(responses.decode_request(b'{"input":"x"}'), {}, "resp_abc", 1, "m")
    whole = Response.model_validate(json.loads(responses.encode(responses.from_chat(skel, body, encrypted=False, completed_at=2))))
    assert [p.model_dump() for p in streamed.output[0].content] == [p.model_dump() for p in whole.output[0].content] == [{"type": "refusal", "refusal": "I can't help."}]


def test_nulls_from_openai_compatible_servers_read_as_absent():
    """vLLM's and Ollama's chunks carry `null` for usage details and other fields OpenAI fills;
    relayed by the chat path as they are, they must not fail the Responses stream or answer."""
    from openai.types.responses import Response

    from providers import responses

    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7, "prompt_tokens_details": None, "completion_tokens_details": None}
    chunks = [
        json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": None, "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "hi", "reasoning_content": None, "tool_calls": None}, "logprobs": None, "finish_reason": None}], "usage": None}).encode(),
        json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up-model", "choices": [
            {"index": 0, "delta": {"tool_calls": [{"index": None, "id": "call_1", "type": "function", "function": None}]}, "finish_reason": None}]}).encode(),
        json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up-model", "choices": [
            {"index": 0, "delta": None, "finish_reason": "stop"}]}).encode(),
        json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up-model", "choices": None, "usage": usage}).encode(),
    ]
    events = _drive(chunks)
    assert events[-1][0] == "response.completed"
    r = Response.model_validate(events[-1][1]["response"])
    assert r.output_text == "hi" and r.usage.input_tokens == 5 and r.usage.input_tokens_details.cached_tokens == 0
    body = json.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": None, "usage": usage, "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi", "refusal": None, "tool_calls": None, "reasoning_content": None}, "finish_reason": "stop"}]}).encode()
    skel = responses.skeleton(responses.decode_request(b'{"input":"x"}'), {}, "resp_abc", 1, "m")
    r = Response.model_validate(json.loads(responses.encode(responses.from_chat(skel, body, encrypted=False, completed_at=2))))
    assert r.output_text == "hi" and r.usage.total_tokens == 7 and r.model == "m"
