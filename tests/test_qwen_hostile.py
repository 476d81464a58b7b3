"""Qwen (DashScope native and compatible mode) against hostile upstreams: odd values in an answer
end in a 502 (or the status an error code in it names), never a crash or an empty success."""

from __future__ import annotations

import json

import msgspec
import openai
import pytest

from providers import core, qwen
from tests.fakes.dashscope_api import FakeDashScope, frame
from tests.test_gemini_hostile import near_the_depth_limit

NATIVE = qwen.load_settings({"QWEN_ENDPOINT": "https://dashscope.example"})
COMPATIBLE = qwen.load_settings({"QWEN_ENDPOINT": "https://dashscope.example", "QWEN_API_MODE": "compatible"})


def _call(stream: bool = False, include_usage: bool = False) -> core.Call:
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}], "stream": stream}
    raw = msgspec.json.encode(body)
    return core.Call(id="chatcmpl-t", created=1, model="qwen-plus", client_model="qwen-plus", key="k", stream=stream,
                     include_usage=include_usage, body=raw, fields=msgspec.json.decode(raw, type=dict[str, msgspec.Raw]))


def _answer(message: dict, finish: str = "tool_calls", **extra) -> bytes:
    return json.dumps({"output": {"choices": [{"message": {"role": "assistant", **message}, "finish_reason": finish}]}, **extra}).encode()


def _error(fn, *args) -> core.Error:
    with pytest.raises(core.Error) as exc:
        fn(*args)
    return exc.value


GARBAGE_CALLS = [
    [{"id": "a", "function": "f"}],
    [{"id": 5, "function": {"name": "f", "arguments": "{}"}}],
    [{"id": "a", "function": {"name": ["f"], "arguments": "{}"}}],
    [{"index": {}, "id": "a", "function": {"name": "f", "arguments": "{}"}}],
    [{"index": -1, "id": "a", "function": {"name": "f", "arguments": "{}"}}],
    [{"id": "a", "function": {"name": "f", "arguments": [1]}}],
    ["not a call"],
]


@pytest.mark.parametrize("calls", GARBAGE_CALLS)
def test_malformed_tool_calls_are_a_502_not_a_crash(calls):
    body = _answer({"content": "", "tool_calls": calls})
    assert _error(qwen.chat_result, NATIVE, _call(), body).status == 502
    stream = qwen.ChatStream(NATIVE, _call(stream=True))
    assert _error(stream.feed, "result", _answer({"content": "", "tool_calls": calls}, "null")).status == 502


def test_well_formed_tool_calls_still_translate():
    body = _answer({"content": "", "tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]})
    msg = json.loads(qwen.chat_result(NATIVE, _call(), body))["choices"][0]["message"]
    assert msg["tool_calls"] == [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}]


@pytest.mark.parametrize("usage", [{"input_tokens": 10**30}, {"output_tokens": -3}, {"total_tokens": 2**53},
                                   {"prompt_tokens_details": {"cached_tokens": 1e20}}])
def test_usage_numbers_out_of_range_are_a_502(usage):
    body = _answer({"content": "hi"}, "stop", usage=usage)
    assert _error(qwen.chat_result, NATIVE, _call(), body).status == 502
    stream = qwen.ChatStream(NATIVE, _call(stream=True, include_usage=True))
    assert _error(stream.feed, "result", body).status == 502


def test_embedding_token_count_out_of_range_is_a_502():
    raw = msgspec.json.encode({"model": "text-embedding-v4", "input": "x"})
    call = core.Call(id="e", created=1, model="text-embedding-v4", client_model="", key="k", body=raw)
    body = b'{"output":{"embeddings":[{"text_index":0,"embedding":[1.0]}]},"usage":{"total_tokens":-1}}'
    assert _error(qwen.embeddings_result, NATIVE, call, [body]).status == 502


@pytest.mark.parametrize("settings", [NATIVE, COMPATIBLE], ids=["native", "compatible"])
@pytest.mark.parametrize(("body", "status", "code"), [
    (b"{}", 502, "upstream_incomplete"),
    (b'{"request_id":"r"}', 502, "upstream_incomplete"),
    (b'{"code":"InvalidParameter","message":"bad","request_id":"r1"}', 400, "InvalidParameter"),
    (b'{"code":"Throttling.RateQuota","message":"slow"}', 429, "Throttling.RateQuota"),
    (b'{"code":"SomethingNew","message":"?"}', 502, "SomethingNew"),
])
def test_a_200_without_choices_is_never_an_empty_success(settings, body, status, code):
    err = _error(qwen.chat_result, settings, _call(), body)
    assert (err.status, err.code) == (status, code)


@pytest.mark.parametrize(("body", "status"), [(b"{}", 502), (b'{"data":null}', 502), (b'{"code":"Throttling","message":"slow"}', 429), (b"nope", 502)])
def test_compatible_mode_embeddings_without_data_are_an_error(body, status):
    raw = msgspec.json.encode({"model": "text-embedding-v4", "input": "x"})
    call = core.Call(id="e", created=1, model="text-embedding-v4", client_model="", key="k", body=raw)
    assert _error(qwen.embeddings_result, COMPATIBLE, call, [body]).status == status
    ok = b'{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1.0]}],"model":"m"}'
    assert qwen.embeddings_result(COMPATIBLE, call, [ok]) is ok


def test_compatible_mode_relays_a_real_answer_byte_for_byte():
    body = b'{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}'
    assert qwen.chat_result(COMPATIBLE, _call(), body) is body


def test_an_error_code_in_a_result_frame_ends_the_stream_with_its_status():
    stream = qwen.ChatStream(NATIVE, _call(stream=True))
    err = _error(stream.feed, "result", b'{"code":"DataInspectionFailed","message":"unsafe input","request_id":"r"}')
    assert (err.status, err.code) == (400, "DataInspectionFailed") and "unsafe input" in err.message


def test_compatible_mode_error_frame_keeps_dashscope_status(serve, aoa_server):
    fake = FakeDashScope(key="sk-test")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "qwen", "QWEN_API_KEY": "sk-test", "QWEN_ENDPOINT": up.url, "QWEN_API_MODE": "compatible"})
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    fake.compatible.reply_sse([frame(1, {"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded", "request_id": "r"}, event="error")])
    with pytest.raises(openai.RateLimitError) as exc:
        list(client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "x"}], stream=True))
    assert "rate limit" in exc.value.message


@pytest.mark.parametrize("where", ["schema", "tools"])
def test_bodies_just_under_the_depth_limit_are_a_400_never_a_recursion_error(where):
    for call in near_the_depth_limit("qwen-plus", where):
        try:
            qwen.chat(NATIVE, call)
        except core.Error as err:
            assert err.status == 400


def _sent(body: dict) -> dict:
    raw = msgspec.json.encode(body)
    call = core.Call(id="c", created=1, model=body["model"], client_model="", key="k", body=raw,
                     fields=msgspec.json.decode(raw, type=dict[str, msgspec.Raw]))
    return json.loads(qwen.chat(NATIVE, call).body)


@pytest.mark.parametrize("model", ["qwen-plus", "qwen-vl-max"])
def test_refused_parts_are_named_by_index(model):
    file_part = {"type": "file", "file": {"file_data": "data:application/pdf;base64,AA=="}}
    body = {"model": model, "messages": [{"role": "user", "content": [{"type": "text", "text": "read"}, file_part]}]}
    with pytest.raises(core.Error) as exc:
        _sent(body)
    assert exc.value.param == "messages[0].content[1]" and "file parts" in exc.value.message
    frames = {"type": "video", "video": ["https://example.com/f.jpg"]}
    body = {"model": "qwen-vl-max", "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}, frames]}]}
    with pytest.raises(core.Error) as exc:
        _sent(body)
    assert exc.value.param == "messages[0].content[1].video"


@pytest.mark.parametrize(("model", "expected"), [("qwen-plus", "no, sorry\nanything else?"),
                                                 ("qwen-vl-max", [{"text": "no, sorry"}, {"text": "anything else?"}])])
def test_a_replayed_refusal_part_goes_as_the_assistant_words(model, expected):
    history = [{"role": "user", "content": "x"},
               {"role": "assistant", "content": [{"type": "refusal", "refusal": "no, sorry"}, {"type": "text", "text": "anything else?"}]},
               {"role": "user", "content": "y"}]
    sent = _sent({"model": model, "messages": history})
    assert sent["input"]["messages"][1] == {"role": "assistant", "content": expected}


def test_embedding_inputs_are_capped_as_openai_caps_them():
    def call(n: int) -> core.Call:
        raw = msgspec.json.encode({"model": "text-embedding-v4", "input": ["t"] * n})
        return core.Call(id="e", created=1, model="text-embedding-v4", client_model="", key="k", body=raw)

    assert len(qwen.embeddings(NATIVE, call(qwen.EMBED_MAX_INPUTS))) == -(-qwen.EMBED_MAX_INPUTS // 10)
    with pytest.raises(core.Error) as exc:
        qwen.embeddings(NATIVE, call(qwen.EMBED_MAX_INPUTS + 1))
    assert exc.value.status == 400 and exc.value.param == "input"
