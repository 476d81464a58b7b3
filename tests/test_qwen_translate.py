"""Pure translation of the Qwen provider: fixture folders of real DashScope payloads
(tests/fixtures/qwen/<case>/, sources in each SOURCE.md), the value tables, the parameter policy
and the configuration."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

import aoa
from gateway.sse import SSEDecoder
from providers import core, oai, qwen

FIXTURES = Path(__file__).parent / "fixtures" / "qwen"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
SETTINGS = qwen.load_settings({"QWEN_ENDPOINT": "https://dashscope.example"})


def make_call(body: bytes, **over) -> core.Call:
    fields = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
    doc = json.loads(body)
    stream = bool(doc.get("stream"))
    return core.Call(
        id="chatcmpl-local1", created=1700000000, model=doc.get("model", "qwen-plus"), client_model=doc.get("model", ""),
        key="sk-test", stream=stream, include_usage=stream and bool((doc.get("stream_options") or {}).get("include_usage")),
        body=body, fields=fields, **over,
    )


def load(case: str, name: str):
    return json.loads((FIXTURES / case / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES)
def test_fixture_case(case: str):
    folder = FIXTURES / case
    assert (folder / "SOURCE.md").exists(), "every case names its source"
    call = make_call((folder / "openai_request.json").read_bytes())
    out = qwen.chat(SETTINGS, call)
    want = load(case, "upstream_request.json")
    assert out.url == "https://dashscope.example" + want["path"]
    assert json.loads(out.body) == want["body"]
    assert out.stream is want["sse"]
    assert out.headers["Authorization"] == "Bearer sk-test"
    assert (out.headers.get("X-DashScope-SSE") == "enable") is want["sse"]
    if (folder / "upstream_response.json").exists():
        result = qwen.chat_result(SETTINGS, call, (folder / "upstream_response.json").read_bytes())
        assert json.loads(result) == load(case, "expected.json")
        return
    raw = (folder / "upstream_response.sse").read_bytes()
    state = qwen.ChatStream(SETTINGS, call)
    got: list = []

    def run():
        decoder = SSEDecoder()
        for cut in range(0, len(raw), 7):  # frames split across reads at odd places
            for event, data in decoder.feed(raw[cut : cut + 7]):
                got.extend(state.feed(event, data))
        for event, data in decoder.close():
            got.extend(state.feed(event, data))
        got.extend(state.close())

    if (folder / "expected_error.json").exists():
        want_err = load(case, "expected_error.json")
        with pytest.raises(core.Error) as exc:
            run()
        assert (exc.value.status, exc.value.code, exc.value.message) == (want_err["status"], want_err["code"], want_err["message"])
        assert got == []
        return
    run()
    assert [json.loads(p) for p in got] == load(case, "expected_chunks.json")
    # The same frames assembled give one completion a non-stream client can read.
    assembler = oai.Assembler()
    for p in got:
        assembler.feed(p)
    done = assembler.result()
    assert [c.finish_reason for c in done.choices] == ["tool_calls"]


def test_policy_covers_every_openai_field():
    sets = (qwen.MAPPED, qwen.IGNORED, qwen.UNSUPPORTED)
    assert set().union(*sets) == oai.CHAT_REQUEST_FIELDS
    assert sum(len(s) for s in sets) == len(oai.CHAT_REQUEST_FIELDS), "a field is in two sets"
    assert set(qwen.NEUTRAL) <= qwen.UNSUPPORTED
    assert qwen.EXTRA_FIELDS == {"enable_search", "enable_thinking", "thinking_budget", "top_k", "repetition_penalty"}


@pytest.mark.parametrize("field", sorted(qwen.UNSUPPORTED))
def test_unsupported_fields_are_refused_by_name(field):
    value = {"audio": {"voice": "x", "format": "wav"}, "frequency_penalty": 1, "function_call": "auto", "functions": [{"name": "f"}],
             "logit_bias": {"1": 2}, "modalities": ["text", "audio"], "prediction": {"type": "content"}, "verbosity": "low"}[field]
    call = make_call(json.dumps({"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}], field: value}).encode())
    with pytest.raises(core.Error) as exc:
        qwen.chat(SETTINGS, call)
    assert (exc.value.status, exc.value.param) == (400, field)


@pytest.mark.parametrize(("field", "value"), [("frequency_penalty", 0), ("modalities", ["text"]), ("user", "u"), ("metadata", {"a": "b"}), ("store", True)])
def test_neutral_and_ignored_values_pass(field, value):
    call = make_call(json.dumps({"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}], field: value}).encode())
    assert json.loads(qwen.chat(SETTINGS, call).body)["parameters"] == {"result_format": "message"}


@pytest.mark.parametrize(("field", "ok", "bad"), [
    ("temperature", [0, 1.99], [2, -0.01]), ("top_p", [0.01, 1], [0, 1.01]), ("n", [1, 4], [0, 5]),
    ("presence_penalty", [-2, 2], [-2.1, 2.1]), ("top_logprobs", [0, 5], [6]), ("seed", [0, 2**31 - 1], [-1, 2**31]),
    ("max_tokens", [1], [0]), ("max_completion_tokens", [1], [0]), ("thinking_budget", [1], [0]),
    ("top_k", [0, 100], [-1]), ("repetition_penalty", [0.5, 2], [0]),
])
def test_ranges_validate_never_clamp(field, ok, bad):
    for value in ok:
        call = make_call(json.dumps({"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}], field: value, "stream": True}).encode())
        params = json.loads(qwen.chat(SETTINGS, call).body)["parameters"]
        assert params[{"max_completion_tokens": "max_tokens"}.get(field, field)] == value
    for value in bad:
        call = make_call(json.dumps({"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}], field: value}).encode())
        with pytest.raises(core.Error) as exc:
            qwen.chat(SETTINGS, call)
        assert (exc.value.status, exc.value.param) == (400, field)


@pytest.mark.parametrize(("raw", "tools", "want"), [
    *[(k, False, v) for k, v in qwen.FINISH_REASON.items()],
    ("stop", True, "tool_calls"),
    ("something_new", False, qwen.FINISH_FALLBACK),
    ("null", False, None), ("", False, None), (None, True, None),
])
def test_finish_reason_table(raw, tools, want):
    assert qwen.finish_reason(raw, tools) == want


@pytest.mark.parametrize("code", sorted(qwen.ERROR_STATUS))
def test_error_table_every_code(code):
    body = json.dumps({"code": code, "message": "m", "request_id": "r"}).encode()
    err = qwen.error(418, body)
    assert (err.status, err.code, err.message) == (qwen.ERROR_STATUS[code], code, "m (request_id: r)")


def test_error_fallbacks():
    assert qwen.error(403, b'{"code":"Brand.New","message":"x"}').status == 403  # unknown code: HTTP status
    assert qwen.error(200, b'{"code":"Brand.New","message":"x"}', streaming=True).status == qwen.ERROR_FALLBACK_STATUS
    assert qwen.error(429, b'{"code":"Throttling.Whatever","message":"x"}').status == 429  # family
    assert qwen.error(200, b'{"code":"Model.RateQuotaExceeded","message":"x"}', streaming=True).status == 429
    assert qwen.error(502, b"<html>bad gateway</html>").status == 502
    compat = qwen.error(401, b'{"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"},"request_id":"r"}')
    assert (compat.status, compat.code, compat.message) == (401, "invalid_api_key", "Incorrect API key")
    sse = qwen.error(400, b'id:1\nevent:error\n:HTTP_STATUS/400\ndata:{"code":"InvalidParameter","message":"bad"}\n\n')
    assert (sse.status, sse.code) == (400, "InvalidParameter")


def test_usage_details_and_missing_total():
    raw = b'{"input_tokens":12,"output_tokens":21,"prompt_tokens_details":{"cached_tokens":4},"output_tokens_details":{"reasoning_tokens":20}}'
    u = qwen.usage(msgspec.json.decode(raw, type=qwen.Usage))
    assert msgspec.to_builtins(u) == {"prompt_tokens": 12, "completion_tokens": 21, "total_tokens": 33, "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 20}}


def test_stream_usage_is_reported_once_and_truncated_stream_is_an_error():
    call = make_call(b'{"model":"qwen-plus","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}')
    state = qwen.ChatStream(SETTINGS, call)
    frame = {"output": {"choices": [{"message": {"role": "assistant", "content": "a"}, "finish_reason": "null"}]}, "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}, "request_id": "r"}
    out = state.feed("result", json.dumps(frame).encode())
    assert [json.loads(p)["usage"] for p in out] == [None]
    with pytest.raises(core.Error) as exc:
        state.close()
    assert exc.value.status == 502


def test_reasoning_effort_and_stream_only_models():
    def out(extra: dict, model="qwen-plus"):
        return qwen.chat(SETTINGS, make_call(json.dumps({"model": model, "messages": [{"role": "user", "content": "x"}], **extra}).encode()))

    for effort, (thinking, budget) in qwen.REASONING_EFFORT.items():
        o = out({"reasoning_effort": effort})
        params = json.loads(o.body)["parameters"]
        assert params["enable_thinking"] is thinking
        assert params.get("thinking_budget") == budget
        assert o.stream is thinking  # thinking answers only come as streams
    assert json.loads(out({"reasoning_effort": "low", "thinking_budget": 100}).body)["parameters"]["thinking_budget"] == 100
    with pytest.raises(core.Error) as exc:
        out({"reasoning_effort": "high", "enable_thinking": False})
    assert exc.value.param == "reasoning_effort"
    for model in ("qwq-plus", "qvq-max", "qwen-omni-turbo", "qwen3-omni-flash", "qwen3-235b-a22b-thinking-2507", "qwen3-32b", "qwen3-235b-a22b"):
        assert out({}, model).stream, model
    for model in ("qwen-plus", "qwen-max", "qwen3-max", "qwen3-235b-a22b-instruct-2507", "qwen-vl-max"):
        assert not out({}, model).stream, model
    assert json.loads(out({"web_search_options": {}}).body)["parameters"]["enable_search"] is True


def test_messages_translation_edges():
    def body(messages, model="qwen-plus"):
        return json.loads(qwen.chat(SETTINGS, make_call(json.dumps({"model": model, "messages": messages}).encode())).body)["input"]["messages"]

    assert body([{"role": "developer", "content": "d"}, {"role": "user", "content": "u"}])[0] == {"role": "system", "content": "d"}
    # reasoning_content is not sent back to DashScope.
    assert body([{"role": "user", "content": "u"}, {"role": "assistant", "content": "a", "reasoning_content": "r"}, {"role": "user", "content": "v"}])[1] == {"role": "assistant", "content": "a"}
    audio = body([{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}])
    assert audio == [{"role": "user", "content": [{"audio": "data:audio/wav;base64,AAAA"}]}]
    with pytest.raises(core.Error) as exc:
        body([{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}])
    assert exc.value.param == "messages[0].content[0]"
    with pytest.raises(core.Error) as exc:
        body([{"role": "function", "name": "f", "content": "x"}])
    assert exc.value.status == 400


def test_config():
    s = qwen.load_settings({})
    assert (s.common.endpoint, s.common.model, s.mode, s.workspace) == ("https://dashscope.aliyuncs.com", "qwen-plus", "native", "")
    s = qwen.load_settings({"QWEN_ENDPOINT": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "QWEN_API_MODE": "Compatible", "QWEN_WORKSPACE": "ws"})
    assert (s.common.endpoint, s.mode, s.workspace) == ("https://dashscope-intl.aliyuncs.com", "compatible", "ws")
    assert qwen.load_settings({"QWEN_ENDPOINT": "https://x.example/api/v1/"}).common.endpoint == "https://x.example"
    with pytest.raises(core.ConfigError, match="QWEN_API_MODE"):
        qwen.load_settings({"QWEN_API_MODE": "openai"})
    with pytest.raises(core.ConfigError, match="QWEN_API_MODE"):
        aoa.load_config({"AOA_TYPE": "qwen", "QWEN_API_MODE": "both"})


@pytest.mark.parametrize(("model", "size"), [("text-embedding-v4", 10), ("text-embedding-v3", 10), ("text-embedding-v2", 25), ("text-embedding-v1", 25), ("text-embedding-v9", 10)])
def test_embedding_batches(model, size):
    texts = [str(i) for i in range(27)]
    call = make_call(json.dumps({"model": model, "input": texts, "dimensions": 64}).encode())
    outs = qwen.embeddings(SETTINGS, call)
    assert [len(json.loads(o.body)["input"]["texts"]) for o in outs] == [len(texts[i : i + size]) for i in range(0, 27, size)]
    assert all(json.loads(o.body)["parameters"] == {"dimension": 64} for o in outs)
    assert outs[0].url == "https://dashscope.example/api/v1/services/embeddings/text-embedding/text-embedding"


def test_embedding_result_rejects_missing_vectors():
    call = make_call(json.dumps({"model": "text-embedding-v4", "input": ["a", "b"]}).encode())
    body = json.dumps({"output": {"embeddings": [{"text_index": 0, "embedding": [0.5]}]}, "usage": {"total_tokens": 1}}).encode()
    with pytest.raises(core.Error) as exc:
        qwen.embeddings_result(SETTINGS, call, [body])
    assert exc.value.status == 502


def test_logprobs_and_legacy_text_output_are_translated():
    call = make_call(b'{"model":"qwen-plus","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":1}')
    lp = {"content": [{"token": "Hi", "bytes": [72, 105], "logprob": -0.01, "top_logprobs": [{"token": "Hi", "bytes": [72, 105], "logprob": -0.01}]}]}
    body = json.dumps({"output": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}, "logprobs": lp}]}, "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}, "request_id": "r"}).encode()
    got = json.loads(qwen.chat_result(SETTINGS, call, body))
    assert got["choices"][0]["logprobs"] == {"content": lp["content"], "refusal": None}
    # A model that ignores result_format answers in the text format; it still reads as a choice.
    text = json.loads(qwen.chat_result(SETTINGS, call, b'{"output":{"text":"ok","finish_reason":"length"},"request_id":"r2"}'))
    assert (text["choices"][0]["message"]["content"], text["choices"][0]["finish_reason"], text["id"]) == ("ok", "length", "chatcmpl-r2")
    assert "usage" not in text


def test_stream_id_is_fixed_from_the_first_frame():
    call = make_call(b'{"model":"qwen-plus","messages":[{"role":"user","content":"x"}],"stream":true}')
    state = qwen.ChatStream(SETTINGS, call)
    first = {"output": {"choices": [{"message": {"role": "assistant", "content": "a"}, "finish_reason": "null"}]}}
    later = {"output": {"choices": [{"message": {"role": "assistant", "content": "b"}, "finish_reason": "stop"}]}, "request_id": "late"}
    out = state.feed("result", json.dumps(first).encode()) + state.feed("result", json.dumps(later).encode()) + state.close()
    assert {json.loads(p)["id"] for p in out} == {"chatcmpl-local1"}
    assert [json.loads(p)["choices"][0]["finish_reason"] for p in out] == [None, None, "stop"]


# --- round 2: text parts, video, Qwen3.5 routing, effort spelling, retry codes -------------------
# Payload shapes: https://help.aliyun.com/zh/model-studio/vision (视频理解: `{"video": url}` and
# `{"video": [frame urls]}`), https://help.aliyun.com/zh/model-studio/qwen-api-via-dashscope.


def _native(body: dict) -> tuple[str, dict]:
    out = qwen.chat(SETTINGS, make_call(json.dumps(body).encode()))
    return out.url.removeprefix("https://dashscope.example"), json.loads(out.body)


@pytest.mark.parametrize(("model", "content", "path", "sent"), [
    ("qwen-plus", [{"type": "text", "text": "Hello"}, {"type": "text", "text": "World"}], qwen.TEXT_PATH, "Hello\nWorld"),
    ("qwen-plus", [{"type": "text", "text": "one"}], qwen.TEXT_PATH, "one"),
    ("qwen-plus", "plain", qwen.TEXT_PATH, "plain"),
    ("qwen-vl-max", [{"type": "text", "text": "Hello"}, {"type": "text", "text": "World"}], qwen.MULTIMODAL_PATH, [{"text": "Hello"}, {"text": "World"}]),
    ("qwen3.5-plus", "hi", qwen.MULTIMODAL_PATH, [{"text": "hi"}]),
    ("qwen-plus", [{"type": "video_url", "video_url": {"url": "https://x/v.mp4"}}], qwen.MULTIMODAL_PATH, [{"video": "https://x/v.mp4"}]),
    ("qwen-vl-max", [{"type": "video", "video": ["https://x/1.jpg", "https://x/2.jpg"]}, {"type": "text", "text": "describe"}], qwen.MULTIMODAL_PATH,
     [{"video": ["https://x/1.jpg", "https://x/2.jpg"]}, {"text": "describe"}]),
    ("qwen-vl-max", [{"type": "video", "video": "https://x/v.mp4"}], qwen.MULTIMODAL_PATH, [{"video": "https://x/v.mp4"}]),
])
def test_content_table(model, content, path, sent):
    got_path, body = _native({"model": model, "messages": [{"role": "user", "content": content}]})
    assert got_path == path
    assert body["input"]["messages"][0]["content"] == sent


def test_text_parts_stay_distinct_in_system_and_tool_messages():
    _, body = _native({"model": "qwen-plus", "messages": [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}]},
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ]})
    msgs = body["input"]["messages"]
    assert msgs[0]["content"] == "Be brief.\nBe kind." and msgs[3]["content"] == "a\nb"


@pytest.mark.parametrize("frames", [[], ["https://x/1.jpg"]])
def test_video_frames_need_two_or_more(frames):
    with pytest.raises(core.Error) as exc:
        _native({"model": "qwen-vl-max", "messages": [{"role": "user", "content": [{"type": "video", "video": frames}]}]})
    assert exc.value.status == 400 and exc.value.param == "messages[0].content[0].video"


@pytest.mark.parametrize("effort", ["minimum", "max", "xhigh"])
def test_reasoning_effort_uses_openai_spellings(effort):
    with pytest.raises(core.Error) as exc:
        _native({"model": "qwen-plus", "reasoning_effort": effort, "messages": [{"role": "user", "content": "x"}]})
    assert exc.value.param == "reasoning_effort" and "minimal" in exc.value.message


def test_retry_codes_are_known_error_codes():
    assert qwen.RETRY_CODES <= set(qwen.ERROR_STATUS)
    assert {"Throttling", "Throttling.RateQuota", "ServiceUnavailable"} <= qwen.RETRY_CODES
    assert "Arrearage" not in qwen.RETRY_CODES and "InvalidParameter" not in qwen.RETRY_CODES
    assert qwen.error(429, b'{"code":"Throttling.RateQuota","message":"slow down","request_id":"r"}').code in qwen.RETRY_CODES


def test_vendor_extras_on_tool_calls_are_not_sent():
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}, "extra_content": {"google": {"thought_signature": "x"}}}
    _, body = _native({"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]}, {"role": "tool", "tool_call_id": "c1", "content": "ok"}]})
    assert body["input"]["messages"][1]["tool_calls"] == [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
