"""Gemini (and Vertex, the same translation) against hostile clients and hostile upstreams: every
odd value ends in an OpenAI-shaped 400 (client) or 502 (upstream) naming what was wrong, in time
linear in the body; never a crash, a hang or a silent success."""

from __future__ import annotations

import json
import time

import msgspec
import pytest

from providers import gemini
from providers.core import Call, Error

S = gemini.load_settings({})
OK_PART = {"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}


def _call(body: dict, **kw) -> Call:
    raw = msgspec.json.encode(body)
    model = body.get("model", "gemini-2.5-flash")
    opts = {"id": "chatcmpl-t", "created": 1, "model": model, "client_model": model, "key": "k", **kw}
    return Call(body=raw, fields=msgspec.json.decode(raw, type=dict[str, msgspec.Raw]), **opts)


def _refused(body: dict) -> Error:
    with pytest.raises(Error) as exc:
        gemini.chat(S, _call(body))
    return exc.value


# --- client side --------------------------------------------------------------------------------


def test_100k_same_role_messages_translate_in_well_under_a_second():
    # Consecutive turns of one role are merged into one Gemini content: the merge must not copy
    # the parts gathered so far on every message (that made this body take close to a minute).
    call = _call({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "x"}] * 100_000})
    t0 = time.perf_counter()
    out = gemini.chat(S, call)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"{elapsed:.2f}s"
    contents = json.loads(out.body)["contents"]
    assert len(contents) == 1 and len(contents[0]["parts"]) == 100_000


def _tool_history(n: int) -> Call:
    calls = [{"id": f"c{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}} for i in range(n)]
    messages = [{"role": "user", "content": "go"}, {"role": "assistant", "tool_calls": calls}]
    messages += [{"role": "tool", "tool_call_id": f"c{i}", "content": "ok"} for i in range(n)]
    return _call({"model": "gemini-3-flash-preview", "messages": messages})


def test_consecutive_tool_results_become_one_user_content():
    contents = json.loads(gemini.chat(S, _tool_history(1_000)).body)["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"] and len(contents[2]["parts"]) == 1_000
    # Gemini 3: only the first call of the step gets the stand-in signature (parallel calls).
    signed = [p for p in contents[1]["parts"] if "thoughtSignature" in p]
    assert len(signed) == 1 and contents[1]["parts"][0]["thoughtSignature"] == gemini.FOREIGN_SIGNATURE


@pytest.mark.parametrize("depth", [992, 995, 1_000, 20_000])
@pytest.mark.parametrize("where", ["arguments", "result"])
def test_json_nested_too_deeply_inside_strings_is_a_400(depth, where):
    # The body's own nesting is checked when it is read; JSON a client puts in a string (tool
    # arguments, a tool result) is decoded here, and too deep must be a 400, not a RecursionError.
    deep = "[" * depth + "]" * depth
    args = '{"a":' + deep + "}" if where == "arguments" else "{}"
    result = '{"a":' + deep + "}" if where == "result" else "ok"
    body = {"model": "gemini-2.5-flash", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": args}}]},
        {"role": "tool", "tool_call_id": "a", "content": result},
    ]}
    try:
        out = gemini.chat(S, _call(body))
    except Error as err:
        assert err.status == 400 and err.param in ("messages", "messages[1].tool_calls[0].function.arguments")
    else:  # a result too deep to read as JSON is sent as text, which Gemini takes
        assert where == "result"
        response = json.loads(out.body)["contents"][2]["parts"][0]["functionResponse"]["response"]
        assert response == {"result": result}


def test_a_moderately_nested_argument_still_goes_through():
    deep = "[" * 200 + "]" * 200
    body = {"model": "gemini-2.5-flash", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"a":' + deep + "}"}}]},
    ]}
    sent = json.loads(gemini.chat(S, _call(body)).body)
    assert sent["contents"][1]["parts"][0]["functionCall"]["args"] == {"a": json.loads(deep)}


@pytest.mark.parametrize("model", ["gemini\n2.5", "../../v1/files", "a?key=x", "models/../x", "tunedModels/", "publishers/google/../x", "\u202egemini", "x" * 300])
@pytest.mark.parametrize("vertex", [False, True])
def test_model_names_never_steer_the_url(model, vertex):
    s = gemini.load_settings({"GEMINI_VERTEX": "true", "GEMINI_VERTEX_PROJECT": "aoa-test-project"} if vertex else {})
    with pytest.raises(Error) as exc:
        gemini.chat(s, _call({"model": model, "messages": [{"role": "user", "content": "x"}]}))
    assert exc.value.status == 400 and exc.value.param == "model"
    with pytest.raises(Error):
        gemini.embeddings(s, _call({"model": model, "input": "x"}))


# --- upstream side ------------------------------------------------------------------------------


@pytest.mark.parametrize("usage", [
    {"promptTokenCount": 10**30},
    {"promptTokenCount": 2**53},
    {"candidatesTokenCount": -1},
    {"totalTokenCount": 1e300},
])
def test_usage_numbers_out_of_range_are_a_502(usage):
    body = json.dumps({"candidates": [OK_PART], "usageMetadata": usage}).encode()
    with pytest.raises(Error) as exc:
        gemini.chat_result(S, _call({"messages": []}), body)
    assert exc.value.status == 502 and exc.value.code == "upstream_invalid_json"
    stream = gemini.ChatStream(S, _call({"messages": []}, stream=True, include_usage=True))
    with pytest.raises(Error) as exc:
        stream.feed("", body)
    assert exc.value.status == 502


def test_embedding_token_counts_out_of_range_are_a_502():
    call = _call({"model": "gemini-embedding-001", "input": "x"}, model="gemini-embedding-001")
    with pytest.raises(Error) as exc:
        gemini.embeddings_result(S, call, [b'{"embeddings":[{"values":[1.0]}],"usageMetadata":{"promptTokenCount":1e25}}'])
    assert exc.value.status == 502
    vertex = gemini.load_settings({"GEMINI_VERTEX": "true", "GEMINI_API_KEY": "k"})
    with pytest.raises(Error) as exc:
        gemini.embeddings_result(vertex, call, [b'{"predictions":[{"embeddings":{"values":[1.0],"statistics":{"token_count":1e300}}}]}'])
    assert exc.value.status == 502


@pytest.mark.parametrize("candidate", [{}, {"content": {"role": "model", "parts": [{"text": "half an ans"}]}}])
def test_a_whole_answer_without_a_finish_reason_is_incomplete(candidate):
    body = json.dumps({"candidates": [candidate]}).encode()
    with pytest.raises(Error) as exc:
        gemini.chat_result(S, _call({"messages": []}), body)
    assert exc.value.status == 502 and exc.value.code == "upstream_incomplete"
    # A candidate stopped by a filter has no content but a reason: that is an answer.
    ok = json.loads(gemini.chat_result(S, _call({"messages": []}), json.dumps({"candidates": [{"finishReason": "SAFETY"}]}).encode()))
    assert ok["choices"][0]["finish_reason"] == "content_filter"


def test_answer_nested_too_deeply_is_a_502():
    deep = "[" * 5_000 + "]" * 5_000
    body = ('{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":' + deep + "}}}]},\"finishReason\":\"STOP\"}]}").encode()
    with pytest.raises(Error) as exc:
        gemini.chat_result(S, _call({"messages": []}), body)
    assert exc.value.status == 502
    with pytest.raises(Error):
        gemini.ChatStream(S, _call({"messages": []}, stream=True)).feed("", body)


@pytest.mark.parametrize("code", [99999, -1, 0, 200, "x", None])
def test_error_codes_in_a_200_stream_never_pick_an_odd_status(code):
    stream = gemini.ChatStream(S, _call({"messages": []}, stream=True))
    with pytest.raises(Error) as exc:
        stream.feed("", json.dumps({"error": {"code": code, "message": "boom", "status": "INTERNAL"}}).encode())
    assert 400 <= exc.value.status <= 599 and exc.value.status not in (200,)


@pytest.mark.parametrize(("code", "status"), [(429, 429), (503, 503), (99999, 502), (200, 502), (None, 502)])
def test_an_error_envelope_in_a_200_answer_keeps_its_code_as_status(code, status):
    body = json.dumps({"error": {"code": code, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}).encode()
    with pytest.raises(Error) as exc:
        gemini.chat_result(S, _call({"messages": []}), body)
    assert (exc.value.status, exc.value.message) == (status, "quota")


def near_the_depth_limit(model: str, where: str):
    """Calls whose body is a few levels under what msgspec can follow (a schema or tool
    parameters nested that deep), up to the first the IO layer would refuse itself."""
    for depth in range(900, 1_100, 3):
        deep = "[" * depth + "]" * depth
        if where == "schema":
            tail = '"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"a":' + deep + "}}}"
        else:
            tail = '"tools":[{"type":"function","function":{"name":"f","parameters":{"a":' + deep + "}}}]"
        raw = ('{"model":"' + model + '","messages":[{"role":"user","content":"x"}],' + tail + "}").encode()
        try:
            fields = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
        except RecursionError:
            return  # the IO layer answers this one with a 400
        yield Call(id="c", created=1, model=model, client_model="", key="k", body=raw, fields=fields)


@pytest.mark.parametrize("where", ["schema", "tools"])
def test_bodies_just_under_the_depth_limit_are_a_400_never_a_recursion_error(where):
    # Once decoded into types and re-encoded, such a body recurses deeper than the check that
    # let it in: that must end in a 400 too.
    for call in near_the_depth_limit("gemini-2.5-flash", where):
        try:
            gemini.chat(S, call)
        except Error as err:
            assert err.status == 400


@pytest.mark.parametrize("vertex", [False, True])
def test_embedding_inputs_are_capped_as_openai_caps_them(vertex):
    # One request must not fan out into thousands of upstream calls (Vertex takes one text per
    # call for gemini-embedding): OpenAI's own limit, 2048 inputs, is kept.
    s = gemini.load_settings({"GEMINI_VERTEX": "true", "GEMINI_API_KEY": "k"} if vertex else {})
    ok = gemini.embeddings(s, _call({"model": "text-embedding-005", "input": ["t"] * gemini.EMBED_MAX_INPUTS}))
    assert len(ok) == -(-gemini.EMBED_MAX_INPUTS // (50 if vertex else 100))
    with pytest.raises(Error) as exc:
        gemini.embeddings(s, _call({"model": "text-embedding-005", "input": ["t"] * (gemini.EMBED_MAX_INPUTS + 1)}))
    assert exc.value.status == 400 and exc.value.param == "input"
