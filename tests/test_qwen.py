"""Qwen through aoa with the official openai SDK as the client and a fake DashScope upstream:
the conformance checklist of openai-surface.md, native and compatible mode."""

from __future__ import annotations

import base64
import json
import struct

import httpx
import openai
import pytest

from tests.fakes.dashscope_api import TEXT, MULTIMODAL, EMBEDDING, FakeDashScope, frame

KEY = "sk-qwen-upstream"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "w", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


@pytest.fixture
def qwen(serve, aoa_server):
    def start(**env):
        fake = FakeDashScope(key=KEY)
        up = serve(fake.app())
        srv = aoa_server({"AOA_TYPE": "qwen", "QWEN_ENDPOINT": up.url, "QWEN_API_KEY": KEY, **env})
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
        aclient = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
        return fake, client, aclient

    return start


def _collect(stream):
    text, reasoning, finishes, tools, usage = [], [], {}, {}, None
    for ch in stream:
        if ch.usage is not None:
            usage = ch.usage
        for c in ch.choices:
            text.append((c.index, c.delta.content or ""))
            reasoning.append(getattr(c.delta, "reasoning_content", None) or "")
            if c.finish_reason:
                assert c.index not in finishes, "two finish_reasons for one choice"
                finishes[c.index] = c.finish_reason
            for tc in c.delta.tool_calls or ():
                assert tc.index is not None
                slot = tools.setdefault(tc.index, {"id": None, "name": None, "args": ""})
                if tc.id:
                    assert slot["id"] is None, "id repeated in a later delta"
                    slot["id"] = tc.id
                if tc.function and tc.function.name:
                    assert slot["name"] is None, "name repeated in a later delta"
                    slot["name"] = tc.function.name
                slot["args"] += (tc.function.arguments or "") if tc.function else ""
    return text, "".join(reasoning), finishes, tools, usage


def test_text_stream_and_non_stream_agree(qwen):
    fake, c, _ = qwen()
    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello big world"}]
    r = c.chat.completions.create(model="qwen-plus", messages=msgs)
    assert r.choices[0].message.content == "echo: hello big world"
    assert r.choices[0].finish_reason == "stop"
    assert r.id.startswith("chatcmpl-00000000-0000-4000-8000-")  # DashScope's request_id
    assert r.model == "qwen-plus"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (5, 4)
    assert fake.last.path == TEXT
    sent = fake.last.json
    assert sent["input"]["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello big world"}]
    assert sent["parameters"] == {"result_format": "message"}
    assert "X-DashScope-SSE" not in fake.last.headers
    chunks = list(c.chat.completions.create(model="qwen-plus", messages=msgs, stream=True))
    assert fake.last.headers["X-DashScope-SSE"] == "enable"
    assert fake.last.headers["Accept"] == "text/event-stream"
    assert fake.last.json["parameters"]["incremental_output"] is True
    text, _, finishes, _, usage = _collect(chunks)
    assert "".join(t for _, t in text) == r.choices[0].message.content
    assert finishes == {0: "stop"} and usage is None
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({ch.id for ch in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-0000")
    assert all(ch.usage is None for ch in chunks)


def test_include_usage_reports_once_at_the_end(qwen):
    _, c, _ = qwen()
    chunks = list(c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "a b"}], stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3
    assert all(ch.usage is None for ch in chunks[:-1])
    raw = httpx.post(f"{c.base_url}chat/completions", json={"model": "qwen-plus", "messages": [{"role": "user", "content": "a"}], "stream": True, "stream_options": {"include_usage": True}}, headers={"Authorization": "Bearer x"}).text
    events = [json.loads(line[6:]) for line in raw.split("\n\n") if line.startswith("data: {")]
    assert all("usage" in e for e in events) and all(e["usage"] is None for e in events[:-1])
    assert raw.endswith("data: [DONE]\n\n")


async def test_async_client_stream_and_non_stream(qwen):
    _, _, ac = qwen()
    r = await ac.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "async hi"}])
    s = await ac.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "async hi"}], stream=True)
    text = "".join([ch.choices[0].delta.content or "" async for ch in s if ch.choices])
    assert text == r.choices[0].message.content == "echo: async hi"


def test_tool_calls_stream_non_stream_and_round_trip(qwen):
    fake, c, _ = qwen()
    msgs = [{"role": "user", "content": "weather?"}]
    r = c.chat.completions.create(model="qwen-plus", messages=msgs, tools=TOOLS, tool_choice="auto", parallel_tool_calls=False)
    call = r.choices[0].message.tool_calls[0]
    # DashScope says "stop" for a tool-calling turn; OpenAI clients expect "tool_calls".
    assert r.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"q": "weather?"}
    assert r.choices[0].message.content is None
    assert fake.last.json["parameters"]["tools"] == TOOLS
    assert fake.last.json["parameters"]["tool_choice"] == "auto"
    assert fake.last.json["parameters"]["parallel_tool_calls"] is False
    _, _, finishes, tools, _ = _collect(c.chat.completions.create(model="qwen-plus", messages=msgs, tools=TOOLS, stream=True))
    assert finishes == {0: "tool_calls"}
    assert tools[0]["id"].startswith("call_") and tools[0]["id"] != call.id  # a new upstream call
    assert tools == {0: {"id": tools[0]["id"], "name": "get_weather", "args": call.function.arguments}}
    follow = msgs + [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    r2 = c.chat.completions.create(model="qwen-plus", messages=follow, tools=TOOLS)
    assert r2.choices[0].message.content == "tool said: sunny"
    sent = fake.last.json["input"]["messages"]
    assert sent[1] == {"role": "assistant", "content": "", "tool_calls": [{"id": call.id, "function": {"name": "get_weather", "arguments": call.function.arguments}, "type": "function"}]}
    assert sent[2] == {"role": "tool", "content": "sunny", "tool_call_id": call.id}
    c.chat.completions.create(model="qwen-plus", messages=msgs, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert fake.last.json["parameters"]["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


@pytest.mark.parametrize("url", ["https://example.com/cat.png", PNG])
def test_vision_goes_to_the_multimodal_path(qwen, url):
    fake, c, _ = qwen()
    msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": [{"type": "text", "text": "what"}, {"type": "image_url", "image_url": {"url": url, "detail": "high"}}]}]
    r = c.chat.completions.create(model="qwen-vl-max", messages=msgs)
    assert fake.last.path == MULTIMODAL
    assert fake.last.json["input"]["messages"] == [
        {"role": "system", "content": [{"text": "sys"}]},
        {"role": "user", "content": [{"text": "what"}, {"image": url}]},
    ]
    assert r.choices[0].message.content.startswith("echo: what [1 image(s)")
    text, _, finishes, _, _ = _collect(c.chat.completions.create(model="qwen-vl-max", messages=msgs, stream=True))
    assert "".join(t for _, t in text) == r.choices[0].message.content and finishes == {0: "stop"}


def test_image_part_selects_multimodal_for_any_model_and_text_model_refuses_nothing_else(qwen):
    fake, c, _ = qwen()
    c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG}}]}])
    assert fake.last.path == MULTIMODAL
    c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}])
    # Parts stay distinct: DashScope's text models take one string, so a newline joins them.
    assert fake.last.path == TEXT and fake.last.json["input"]["messages"][0]["content"] == "a\nb"


def test_thinking_reasoning_content_separate_and_non_stream_served_by_stream(qwen):
    fake, c, _ = qwen()
    msgs = [{"role": "user", "content": "think"}]
    r = c.chat.completions.create(model="qwen-plus", messages=msgs, extra_body={"enable_thinking": True, "thinking_budget": 50})
    # The fake refuses non-stream thinking calls like DashScope does: aoa streamed upstream.
    assert fake.last.headers["X-DashScope-SSE"] == "enable"
    assert fake.last.json["parameters"]["enable_thinking"] is True
    assert fake.last.json["parameters"]["thinking_budget"] == 50
    assert r.choices[0].message.content == "echo: think"
    assert r.choices[0].message.reasoning_content == "thinking about it"
    assert r.usage.completion_tokens_details.reasoning_tokens == 3
    assert r.choices[0].finish_reason == "stop"
    _, reasoning, finishes, _, _ = _collect(c.chat.completions.create(model="qwen-plus", messages=msgs, stream=True, extra_body={"enable_thinking": True}))
    assert reasoning == "thinking about it" and finishes == {0: "stop"}
    c.chat.completions.create(model="qwq-plus", messages=msgs)
    assert fake.last.headers["X-DashScope-SSE"] == "enable"
    c.chat.completions.create(model="qwen-plus", messages=msgs, reasoning_effort="high")
    assert fake.last.json["parameters"]["enable_thinking"] is True and "thinking_budget" not in fake.last.json["parameters"]
    c.chat.completions.create(model="qwen-plus", messages=msgs, reasoning_effort="low")
    assert fake.last.json["parameters"]["thinking_budget"] == 2048
    c.chat.completions.create(model="qwen-plus", messages=msgs, reasoning_effort="none")
    assert fake.last.json["parameters"]["enable_thinking"] is False and "X-DashScope-SSE" not in fake.last.headers


def test_json_response_format_and_n(qwen):
    fake, c, _ = qwen()
    r = c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "j"}], response_format={"type": "json_object"}, n=2)
    assert fake.last.json["parameters"]["response_format"] == {"type": "json_object"}
    assert fake.last.json["parameters"]["n"] == 2
    assert [ch.index for ch in r.choices] == [0, 1]
    assert json.loads(r.choices[1].message.content) == {"answer": "echo: j"}
    text, _, finishes, _, _ = _collect(c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "j"}], n=2, stream=True))
    assert finishes == {0: "stop", 1: "stop"}
    assert "".join(t for i, t in text if i == 1) == "echo: j"
    schema = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}, "strict": True}}
    c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "j"}], response_format=schema)
    assert fake.last.json["parameters"]["response_format"] == schema


def test_zero_values_and_sampling_reach_dashscope(qwen):
    fake, c, _ = qwen()
    c.chat.completions.create(
        model="qwen-plus", messages=[{"role": "user", "content": "x"}], temperature=0, top_p=1, max_tokens=7,
        stop="END", seed=0, presence_penalty=0, frequency_penalty=0, logprobs=True, top_logprobs=0, user="u1",
        extra_body={"top_k": 0, "repetition_penalty": 1.05, "enable_search": True},
    )
    p = fake.last.json["parameters"]
    assert p == {
        "result_format": "message", "temperature": 0, "top_p": 1, "top_k": 0, "max_tokens": 7, "seed": 0,
        "stop": ["END"], "presence_penalty": 0, "repetition_penalty": 1.05, "logprobs": True, "top_logprobs": 0,
        "enable_search": True,
    }
    c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "x"}], max_tokens=5, max_completion_tokens=9)
    assert fake.last.json["parameters"]["max_tokens"] == 9


@pytest.mark.parametrize(("field", "value"), [
    ("temperature", 2), ("temperature", -0.1), ("top_p", 0), ("top_p", 1.5), ("n", 5), ("n", 0),
    ("presence_penalty", 2.5), ("top_logprobs", 6), ("max_tokens", 0), ("seed", -1),
    ("frequency_penalty", 0.5), ("logit_bias", {"1": 1}), ("reasoning_effort", "extreme"),
])
def test_out_of_range_or_unsupported_is_400_naming_the_field(qwen, field, value):
    fake, c, _ = qwen()
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "x"}], **{field: value})
    assert exc.value.body["param"] == field
    assert fake.requests == []


@pytest.mark.parametrize(("status", "code", "exc_type", "want"), [
    (401, "InvalidApiKey", openai.AuthenticationError, 401),
    (429, "Throttling.RateQuota", openai.RateLimitError, 429),
    (400, "InvalidParameter", openai.BadRequestError, 400),
    (500, "InternalError", openai.InternalServerError, 500),
    (400, "Arrearage", openai.PermissionDeniedError, 403),
])
def test_upstream_errors_keep_status_and_message(qwen, status, code, exc_type, want):
    fake, c, _ = qwen()
    fake.reply_json({"code": code, "message": f"vendor says {code}", "request_id": "rid-1"}, status=status)
    with pytest.raises(exc_type) as exc:
        c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == want
    assert exc.value.body["code"] == code
    assert exc.value.body["message"] == f"vendor says {code} (request_id: rid-1)"


def test_bad_server_key_is_401(serve, aoa_server):
    fake = FakeDashScope(key=KEY)
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "qwen", "QWEN_ENDPOINT": up.url, "QWEN_API_KEY": "wrong"})
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0).chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "x"}])


def test_client_bearer_is_passed_when_no_server_key(serve, aoa_server):
    fake = FakeDashScope(key=KEY)
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "qwen", "QWEN_ENDPOINT": up.url + "/api/v1", "QWEN_WORKSPACE": "ws-1"})
    r = openai.OpenAI(base_url=srv.url + "/v1", api_key=KEY).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "echo: x"
    assert fake.last.headers["X-DashScope-WorkSpace"] == "ws-1"
    assert fake.last.json["model"] == "gpt-4o" and fake.last.path == TEXT


def test_error_frame_before_any_chunk_is_an_http_error(qwen):
    fake, c, _ = qwen()
    fake.reply_sse([frame(1, {"code": "InvalidParameter", "message": "Role must be user or assistant", "request_id": "r"}, event="error", status=400)])
    with pytest.raises(openai.BadRequestError) as exc:
        list(c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "x"}], stream=True))
    assert "Role must be user" in exc.value.message


def test_mid_stream_error_frame_becomes_an_error_event(qwen):
    fake, c, _ = qwen()
    fake.reply_sse([
        {"output": {"choices": [{"message": {"role": "assistant", "content": "par"}, "finish_reason": "null"}]}, "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}, "request_id": "r1"},
        frame(2, {"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded", "request_id": "r1"}, event="error", status=429),
    ], delay=0.05)
    got = []
    with pytest.raises(openai.APIError) as exc:
        for ch in c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "x"}], stream=True):
            got.append(ch.choices[0].delta.content)
    assert got == ["par"]
    assert "rate limit" in str(exc.value.message)
    fake.reply_sse([
        {"output": {"choices": [{"message": {"role": "assistant", "content": "par"}, "finish_reason": "null"}]}, "request_id": "r2"},
        frame(2, {"code": "InternalError.Algo", "message": "An internal error has occured", "request_id": "r2"}, event="error", status=500),
    ], delay=0.05)
    raw = httpx.post(f"{c.base_url}chat/completions", json={"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}], "stream": True}, headers={"Authorization": "Bearer x"})
    events = [json.loads(e[6:]) for e in raw.text.split("\n\n") if e.startswith("data: ")]
    assert raw.status_code == 200 and "[DONE]" not in raw.text
    assert events[0]["choices"][0]["delta"]["content"] == "par"
    assert events[-1] == {"error": {"message": "An internal error has occured (request_id: r2)", "type": "api_error", "param": None, "code": "InternalError.Algo"}}


def test_embeddings_float_and_base64_with_batch_split(qwen):
    fake, c, _ = qwen()
    texts = [f"text number {i}" + "x" * i for i in range(23)]
    r = c.embeddings.create(model="text-embedding-v4", input=texts, dimensions=4, encoding_format="float")
    batches = [q for q in fake.requests if q.path == EMBEDDING]
    assert [len(b.json["input"]["texts"]) for b in batches] == [10, 10, 3]
    assert all(b.json["parameters"] == {"dimension": 4} for b in batches)
    assert [d.index for d in r.data] == list(range(23))
    expected = [[round(((len(t) + k) % 7) / 7, 6) for k in range(4)] for t in texts]
    assert [d.embedding for d in r.data] == expected
    assert r.usage.prompt_tokens == sum(len(t.split()) for t in texts)
    b64 = c.embeddings.create(model="text-embedding-v4", input=texts[:3], dimensions=4)  # SDK default: base64
    for got, want in zip([d.embedding for d in b64.data], expected[:3], strict=True):
        assert got == pytest.approx(want, abs=1e-6)
    raw = httpx.post(f"{c.base_url}embeddings", json={"model": "text-embedding-v4", "input": "one", "encoding_format": "base64"}, headers={"Authorization": "Bearer x"}).json()
    vec = struct.unpack("<8f", base64.b64decode(raw["data"][0]["embedding"]))
    assert len(vec) == 8
    fake.requests.clear()
    c.embeddings.create(model="text-embedding-v2", input=texts, encoding_format="float")
    assert [len(q.json["input"]["texts"]) for q in fake.requests] == [23]


def test_models_lists_configured_model_and_aliases(qwen):
    fake, c, _ = qwen(QWEN_MODEL="qwen-max", QWEN_MODEL_ALIAS="gpt-4o:qwen-plus")
    assert [m.id for m in c.models.list()] == ["qwen-max", "gpt-4o", "qwen-plus"]
    assert fake.requests == []
    c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert fake.last.json["model"] == "qwen-plus"


def test_compatible_mode_relays(qwen):
    fake, c, _ = qwen(QWEN_API_MODE="compatible")
    r = c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "hi"}], temperature=0, extra_body={"enable_search": True})
    assert fake.last.path == "/compatible-mode/v1/chat/completions"
    assert fake.last.json["enable_search"] is True and fake.last.json["temperature"] == 0
    assert r.choices[0].message.content == "echo: hi"
    chunks = list(c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].usage.total_tokens > 0
    e = c.embeddings.create(model="text-embedding-v4", input=["a"])
    assert fake.last.path == "/compatible-mode/v1/embeddings" and len(e.data) == 1
    assert [m.id for m in c.models.list()] == ["qwen-plus", "qwen-max", "text-embedding-v4"]
    r = c.chat.completions.create(model="qwq-plus", messages=[{"role": "user", "content": "hi"}])
    assert fake.last.json["stream"] is True and r.choices[0].message.content == "echo: hi"


def test_legacy_completions_go_through_chat(qwen):
    fake, c, _ = qwen()
    r = c.completions.create(model="qwen-plus", prompt="old style", max_tokens=5, temperature=0)
    assert r.choices[0].text == "echo: old style" and r.choices[0].finish_reason == "stop"
    assert fake.last.path == TEXT
    assert fake.last.json["parameters"] == {"result_format": "message", "temperature": 0, "max_tokens": 5}
    text = "".join(ch.choices[0].text for ch in c.completions.create(model="qwen-plus", prompt="old style", stream=True) if ch.choices)
    assert text == "echo: old style"


def test_video_parts_go_multimodal(qwen):
    fake, c, _ = qwen()
    frames = [f"https://example.com/f{i}.jpg" for i in range(4)]
    msgs = [{"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": "https://example.com/clip.mp4"}},
        {"type": "video", "video": frames},
        {"type": "text", "text": "what happens"},
    ]}]
    r = c.chat.completions.create(model="qwen-vl-max", messages=msgs)
    assert fake.last.path == MULTIMODAL
    assert fake.last.json["input"]["messages"][0]["content"] == [{"video": "https://example.com/clip.mp4"}, {"video": frames}, {"text": "what happens"}]
    assert "2 video(s)" in r.choices[0].message.content
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="qwen-vl-max", messages=[{"role": "user", "content": [{"type": "video", "video": frames[:1]}]}])
    assert exc.value.body["param"] == "messages[0].content[0].video"


def test_omni_models_are_relayed_to_compatible_mode_even_in_native_mode(qwen):
    # DashScope serves Qwen-Omni only through its OpenAI-compatible API.
    fake, c, _ = qwen()
    msgs = [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]
    r = c.chat.completions.create(model="qwen3-omni-flash", messages=msgs)
    assert fake.last.path == "/compatible-mode/v1/chat/completions"
    assert fake.last.json["stream"] is True and fake.last.json["messages"] == msgs  # stream-only, assembled
    assert r.choices[0].message.content.startswith("echo")
    chunks = list(c.chat.completions.create(model="qwen3-omni-flash", messages=[{"role": "user", "content": "x"}], stream=True))
    assert fake.last.path == "/compatible-mode/v1/chat/completions" and any(ch.choices and ch.choices[0].delta.content for ch in chunks)
    c.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "x"}])
    assert fake.last.path == TEXT  # everything else stays native
