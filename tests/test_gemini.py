"""Gemini through aoa with the official openai SDK as the client and a fake Gemini upstream
(tests/fakes/gemini_api.py, proven with google-genai in test_gemini_fake.py)."""

from __future__ import annotations

import base64
import json
import struct

import httpx
import openai
import pytest
from aiohttp import web

from providers import gemini
from tests.fakes.gemini_api import SIGNATURE, TEXT_SIGNATURE, FakeGemini

KEY = "AIza-gemini-upstream-secret"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "w", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": False}}}]
PNG_BYTES = b"\x89PNG\r\n\x1a\nfake"
PNG = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
GEN = "/v1beta/models/gemini-2.5-flash:generateContent"
STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"


@pytest.fixture
def gem(serve, aoa_server):
    def start(key: str | None = KEY, page_size: int | None = None, client_key: str = "client-key", **env):
        fake = FakeGemini(key=KEY, page_size=page_size)
        up = serve(fake.app())
        fake.base_url = up.url
        base = {"AOA_TYPE": "gemini", "GEMINI_ENDPOINT": up.url}
        if key:
            base["GEMINI_API_KEY"] = key
        srv = aoa_server({**base, **env})
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=client_key, max_retries=0)
        aclient = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key=client_key, max_retries=0)
        return fake, client, aclient

    return start


def _collect(chunks):
    text, reasoning, finishes, tools, usage = {}, "", {}, {}, None
    for ch in chunks:
        if ch.usage is not None:
            assert usage is None, "two usage chunks"
            usage = ch.usage
            assert ch.choices == []
        for c in ch.choices:
            text[c.index] = text.get(c.index, "") + (c.delta.content or "")
            reasoning += getattr(c.delta, "reasoning_content", None) or ""
            if c.finish_reason:
                assert c.index not in finishes, "two finish_reasons for one choice"
                finishes[c.index] = c.finish_reason
            for tc in c.delta.tool_calls or ():
                assert tc.index not in tools, "a whole call arrives in one delta"
                tools[tc.index] = (tc.id, tc.function.name, tc.function.arguments)
    return text, reasoning, finishes, tools, usage


def _cand(parts, finish="STOP", index=0):
    c = {"content": {"role": "model", "parts": parts}, "index": index}
    if finish:
        c["finishReason"] = finish
    return c


# --- text ------------------------------------------------------------------------------------


def test_text_stream_and_non_stream_agree(gem):
    fake, c, _ = gem()
    msgs = [{"role": "system", "content": "be brief"}, {"role": "developer", "content": "and kind"}, {"role": "user", "content": "hello big world"}]
    r = c.chat.completions.create(model="gemini-2.5-flash", messages=msgs)
    assert r.choices[0].message.content == "echo: hello big world"
    assert r.choices[0].finish_reason == "stop"
    assert r.id.startswith("chatcmpl") and r.model == "gemini-2.5-flash"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (3, 4, 7)
    assert fake.last.path == GEN and fake.last.query == {}
    sent = fake.last.json
    assert sent["systemInstruction"] == {"parts": [{"text": "be brief"}, {"text": "and kind"}]}
    assert sent["contents"] == [{"role": "user", "parts": [{"text": "hello big world"}]}]
    assert "generationConfig" not in sent and "safetySettings" not in sent
    chunks = list(c.chat.completions.create(model="gemini-2.5-flash", messages=msgs, stream=True))
    assert fake.last.path == STREAM and fake.last.query == {"alt": "sse"}
    text, _, finishes, _, usage = _collect(chunks)
    assert text == {0: r.choices[0].message.content}
    assert finishes == {0: "stop"} and usage is None
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({ch.id for ch in chunks}) == 1


def test_include_usage_chunk(gem):
    _, c, _ = gem()
    chunks = list(c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "a b"}], stream=True, stream_options={"include_usage": True}))
    _, _, finishes, _, usage = _collect(chunks)
    assert finishes == {0: "stop"}
    assert usage.prompt_tokens == 2 and usage.completion_tokens == 3 and usage.total_tokens == 5
    assert chunks[-1].usage is not None and all(ch.usage is None for ch in chunks[:-1])


async def test_async_client_stream_and_non_stream(gem):
    _, _, ac = gem()
    r = await ac.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "async hi"}])
    assert r.choices[0].message.content == "echo: async hi"
    stream = await ac.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "async hi"}], stream=True)
    chunks = [ch async for ch in stream]
    assert _collect(chunks)[0] == {0: "echo: async hi"}


def test_leading_assistant_turn_merged_into_first_user_turn(gem):
    fake, c, _ = gem()
    msgs = [{"role": "assistant", "content": "Welcome!"}, {"role": "user", "content": "hi"}, {"role": "user", "content": "again"}]
    c.chat.completions.create(model="gemini-2.5-flash", messages=msgs)
    assert fake.last.json["contents"] == [{"role": "user", "parts": [{"text": "Welcome!"}, {"text": "hi"}, {"text": "again"}]}]


def test_generation_config_values_kept(gem):
    fake, c, _ = gem()
    c.chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}],
        temperature=0, max_tokens=7, stop="END", seed=0, top_p=0.5, presence_penalty=0, frequency_penalty=0.25,
        logprobs=True, top_logprobs=2, user="u1", metadata={"a": "b"}, store=False, parallel_tool_calls=True,
    )
    assert fake.last.json["generationConfig"] == {
        "temperature": 0, "topP": 0.5, "maxOutputTokens": 7, "stopSequences": ["END"], "seed": 0,
        "presencePenalty": 0, "frequencyPenalty": 0.25, "responseLogprobs": True, "logprobs": 2,
    }
    c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}], max_completion_tokens=9, max_tokens=3)
    assert fake.last.json["generationConfig"] == {"maxOutputTokens": 9}


def test_safety_and_api_version_settings(gem):
    fake, c, _ = gem(GEMINI_SAFETY="block_none", GEMINI_API_VER="v1")
    fake_path = "/v1/models/gemini-2.5-flash:generateContent"
    c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert fake.last.path == fake_path
    assert fake.last.json["safetySettings"] == [{"category": c_, "threshold": "BLOCK_NONE"} for c_ in gemini.HARM_CATEGORIES]


def test_n_two_candidates(gem):
    fake, c, _ = gem()
    r = c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "two"}], n=2)
    assert fake.last.json["generationConfig"] == {"candidateCount": 2}
    assert [ch.index for ch in r.choices] == [0, 1]
    assert all(ch.message.content == "echo: two" for ch in r.choices)
    chunks = list(c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "two"}], n=2, stream=True))
    text, _, finishes, _, _ = _collect(chunks)
    assert text == {0: "echo: two", 1: "echo: two"} and finishes == {0: "stop", 1: "stop"}


def test_response_formats(gem):
    fake, c, _ = gem()
    c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "json"}], response_format={"type": "json_object"})
    assert fake.last.json["generationConfig"] == {"responseMimeType": "application/json"}
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": False}
    c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "json"}], response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}})
    assert fake.last.json["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": schema}


def test_reasoning_effort_and_thoughts(gem):
    fake, c, _ = gem()
    fake.reply_json({"candidates": [_cand([{"text": "let me think", "thought": True}, {"text": "42"}])], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1, "thoughtsTokenCount": 5, "cachedContentTokenCount": 2, "totalTokenCount": 9}, "modelVersion": "gemini-2.5-flash-001"})
    r = c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "q"}], reasoning_effort="low")
    assert fake.last.json["generationConfig"] == {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}}
    m = r.choices[0].message
    assert m.content == "42" and m.reasoning_content == "let me think"
    assert r.model == "gemini-2.5-flash-001"
    assert (r.usage.completion_tokens, r.usage.total_tokens) == (6, 9)
    assert r.usage.completion_tokens_details.reasoning_tokens == 5 and r.usage.prompt_tokens_details.cached_tokens == 2
    fake.reply_sse([
        {"candidates": [_cand([{"text": "hmm", "thought": True}], finish=None)]},
        {"candidates": [_cand([{"text": "42"}])]},
    ])
    chunks = list(c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "q"}], reasoning_effort="none", stream=True))
    assert fake.last.json["generationConfig"] == {"thinkingConfig": {"thinkingBudget": 0}}
    text, reasoning, finishes, _, _ = _collect(chunks)
    assert text == {0: "42"} and reasoning == "hmm" and finishes == {0: "stop"}


# --- tools -----------------------------------------------------------------------------------


def test_tool_call_non_stream_and_stream(gem):
    fake, c, _ = gem()
    r = c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "weather?"}], tools=TOOLS, tool_choice="required")
    sent = fake.last.json
    assert sent["tools"] == [{"functionDeclarations": [{"name": "get_weather", "description": "w", "parametersJsonSchema": TOOLS[0]["function"]["parameters"]}]}]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    ch = r.choices[0]
    assert ch.finish_reason == "tool_calls" and ch.message.content is None
    (tc,) = ch.message.tool_calls
    assert tc.type == "function" and tc.function.name == "get_weather"
    assert json.loads(tc.function.arguments) == {"city": "Paris"}
    assert gemini.signature_of(tc.id) == SIGNATURE
    chunks = list(c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "weather?"}], tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}}, stream=True))
    assert fake.last.json["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    _, _, finishes, tools, _ = _collect(chunks)
    assert finishes == {0: "tool_calls"}
    assert list(tools) == [0]
    tid, name, args = tools[0]
    assert name == "get_weather" and json.loads(args) == {"city": "Paris"} and gemini.signature_of(tid) == SIGNATURE


def test_parallel_tool_calls_stream_indices(gem):
    fake, c, _ = gem()
    fake.reply_sse([
        {"candidates": [_cand([{"functionCall": {"name": "a", "args": {"x": 1}}, "thoughtSignature": SIGNATURE}], finish=None)]},
        {"candidates": [_cand([{"functionCall": {"name": "b", "args": {}}}])]},
    ])
    chunks = list(c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "go"}], tools=TOOLS, stream=True))
    _, _, finishes, tools, _ = _collect(chunks)
    assert finishes == {0: "tool_calls"}
    assert [tools[i][1] for i in (0, 1)] == ["a", "b"] and tools[1][2] == "{}"
    assert tools[0][0] != tools[1][0] and gemini.signature_of(tools[1][0]) is None


def test_multi_turn_tool_conversation_restores_signature(gem):
    fake, c, _ = gem()
    first = c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "weather in Paris?"}], tools=TOOLS, tool_choice="required")
    tc = first.choices[0].message.tool_calls[0]
    msgs = [
        {"role": "user", "content": "weather in Paris?"},
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": tc.id, "content": '{"temp": 21}'},
        {"role": "user", "content": "thanks"},
    ]
    r = c.chat.completions.create(model="gemini-2.5-flash", messages=msgs, tools=TOOLS)
    assert r.choices[0].message.content == "echo: thanks"
    contents = fake.last.json["contents"]
    assert contents[1] == {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": SIGNATURE}]}
    assert contents[2] == {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}, {"text": "thanks"}]}
    # Plain-text and non-object results are wrapped; consecutive results share one turn.
    msgs2 = msgs[:2] + [
        {"role": "tool", "tool_call_id": tc.id, "content": "sunny"},
        {"role": "tool", "tool_call_id": tc.id, "content": "[1, 2]"},
    ]
    c.chat.completions.create(model="gemini-2.5-flash", messages=msgs2, tools=TOOLS)
    assert fake.last.json["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": [1, 2]}}},
    ]}


def test_tool_errors_name_the_field(gem):
    _, c, _ = gem()
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "1"}])
    assert exc.value.body["param"] == "messages[1].tool_call_id"
    bad_args = [{"role": "assistant", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}, *bad_args])
    assert exc.value.body["param"] == "messages[1].tool_calls[0].function.arguments"
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}], tools=[{"type": "custom", "custom": {"name": "c"}}])
    assert exc.value.body["param"] == "tools[0]"
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}], logit_bias={"1": 5})
    assert exc.value.body["param"] == "logit_bias"


def test_legacy_functions(gem):
    fake, c, _ = gem()
    msgs = [
        {"role": "user", "content": "w?"},
        {"role": "assistant", "content": None, "function_call": {"name": "get_weather", "arguments": '{"city":"Rome"}'}},
        {"role": "function", "name": "get_weather", "content": "hot"},
    ]
    c.chat.completions.create(model="gemini-2.5-flash", messages=msgs, functions=[TOOLS[0]["function"]], function_call={"name": "get_weather"})
    sent = fake.last.json
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert sent["contents"][1]["parts"] == [{"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}]
    assert sent["contents"][2]["parts"] == [{"functionResponse": {"name": "get_weather", "response": {"result": "hot"}}}]


# --- media -----------------------------------------------------------------------------------


def _image_server(serve):
    app = web.Application()

    async def png(request):
        return web.Response(body=PNG_BYTES, content_type="image/png")

    app.router.add_get("/cat.png", png)
    return serve(app)


def test_vision_data_url_and_files(gem):
    fake, c, _ = gem()
    content = [
        {"type": "text", "text": "what is it"},
        {"type": "image_url", "image_url": {"url": PNG}},
        {"type": "image_url", "image_url": {"url": "gs://bucket/cat.jpg"}},
        {"type": "image_url", "image_url": {"url": "https://generativelanguage.googleapis.com/v1beta/files/abc123"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
    ]
    c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": content}])
    assert fake.last.json["contents"][0]["parts"] == [
        {"text": "what is it"},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG_BYTES).decode()}},
        {"fileData": {"fileUri": "gs://bucket/cat.jpg", "mimeType": "image/jpeg"}},
        {"fileData": {"fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc123"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
    ]
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "file", "file": {"file_id": "file-1"}}]}])
    assert exc.value.body["param"] == "messages[0].content[1]"


def test_vision_http_url_fetched_and_inlined(gem, serve):
    img = _image_server(serve)
    fake, c, _ = gem(AOA_FETCH_PRIVATE="true")
    c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": img.url + "/cat.png"}}]}])
    assert fake.last.json["contents"][0]["parts"] == [{"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG_BYTES).decode()}}]


def test_vision_loopback_url_refused_by_default(gem, serve):
    img = _image_server(serve)
    fake, c, _ = gem()
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": img.url + "/cat.png"}}]}])
    assert "private or local" in exc.value.message
    assert fake.requests == []


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "name", "exc_type"), [
    (400, "INVALID_ARGUMENT", openai.BadRequestError),
    (404, "NOT_FOUND", openai.NotFoundError),
    (429, "RESOURCE_EXHAUSTED", openai.RateLimitError),
    (500, "INTERNAL", openai.InternalServerError),
])
def test_upstream_errors_keep_status(gem, status, name, exc_type):
    fake, c, _ = gem()
    headers = {"Retry-After": "7"} if status == 429 else None
    fake.reply_error(status, f"upstream says {name}", name, headers)
    with pytest.raises(exc_type) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == status
    assert exc.value.body["message"] == f"upstream says {name}" and exc.value.body["code"] == name
    if status == 429:
        assert exc.value.response.headers["Retry-After"] == "7"
    fake.reply_error(status, f"upstream says {name}", name, headers)
    with pytest.raises(exc_type):
        list(c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}], stream=True))


def test_mid_stream_error_raises(gem):
    fake, c, _ = gem()
    fake.reply_sse([
        {"candidates": [_cand([{"text": "partial"}], finish=None)]},
        {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}},
    ], delay=0.1)  # separate reads, so the first chunk is written before the error
    stream = c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}], stream=True)
    first = next(stream)
    assert first.choices[0].delta.content == "partial"
    with pytest.raises(openai.APIError) as exc:
        list(stream)
    assert "overloaded" in str(exc.value)


def test_blocked_prompt(gem):
    fake, c, _ = gem()
    blocked = {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "MEDIUM"}]}}
    fake.reply_json(blocked)
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert exc.value.body["code"] == "content_filter" and "SAFETY" in exc.value.message
    fake.reply_sse([blocked])
    with pytest.raises(openai.BadRequestError) as exc:
        list(c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}], stream=True))
    assert exc.value.body["code"] == "content_filter"


def test_key_only_in_header_never_in_url_or_errors(gem):
    fake, c, _ = gem()
    fake.reply_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert KEY not in exc.value.response.text
    c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    c.embeddings.create(model="gemini-embedding-001", input="x")
    c.models.list()
    for rec in fake.requests:
        assert rec.headers["x-goog-api-key"] == KEY
        assert KEY not in rec.path and "key" not in rec.query


def test_client_bearer_used_without_configured_key(gem):
    fake, c, _ = gem(key=None, client_key=KEY)
    c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert fake.last.headers["x-goog-api-key"] == KEY


# --- embeddings, models, completions ---------------------------------------------------------


def test_embeddings_float_and_base64(gem):
    fake, c, _ = gem()
    r = c.embeddings.create(model="gemini-embedding-001", input=["one", "three"], dimensions=3)
    assert fake.last.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert fake.last.json == {"requests": [
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "one"}]}, "outputDimensionality": 3},
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "three"}]}, "outputDimensionality": 3},
    ]}
    # The SDK asks for base64 by default and decodes it back to floats.
    assert len(r.data) == 2 and len(r.data[0].embedding) == 3
    raw_values = [float((3 + k) % 7) / 7 for k in range(3)]  # what the fake sends, not unit length
    norm = sum(x * x for x in raw_values) ** 0.5
    expected = [x / norm for x in raw_values]  # 3 < 3072: scaled to unit length
    assert r.data[0].embedding == pytest.approx(expected)
    assert sum(x * x for x in r.data[1].embedding) == pytest.approx(1.0)
    raw = httpx.post(str(c.base_url) + "embeddings", json={"model": "gemini-embedding-001", "input": "one", "dimensions": 3, "encoding_format": "float"}).json()
    assert raw["data"][0]["embedding"] == pytest.approx(expected)
    assert raw["usage"] == {"prompt_tokens": 0, "total_tokens": 0}
    raw = httpx.post(str(c.base_url) + "embeddings", json={"model": "gemini-embedding-001", "input": "one", "dimensions": 3, "encoding_format": "base64"}).json()
    assert list(struct.unpack("<3f", base64.b64decode(raw["data"][0]["embedding"]))) == pytest.approx(expected)


def test_embeddings_batched_by_100(gem):
    fake, c, _ = gem()
    r = c.embeddings.create(model="gemini-embedding-001", input=[f"t{i}" for i in range(205)], encoding_format="float")
    batches = sorted(len(rec.json["requests"]) for rec in fake.requests)  # sent concurrently
    assert batches == [5, 100, 100] and len(r.data) == 205 and [d.index for d in r.data] == list(range(205))
    # Joined in input order: the fake's vector depends on the text's length.
    assert r.data[9].embedding[0] == pytest.approx(float(len("t9") % 7) / 7)
    assert r.data[204].embedding[0] == pytest.approx(float(len("t204") % 7) / 7)


def test_models_paginated(gem):
    fake, c, _ = gem(page_size=2)
    ids = [m.id for m in c.models.list()]
    assert {"gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"} <= set(ids)
    assert [rec.query.get("pageToken") for rec in fake.requests] == [None, "2"]
    assert all(rec.query["pageSize"] == "1000" for rec in fake.requests)


def test_legacy_completions(gem):
    fake, c, _ = gem()
    r = c.completions.create(model="gemini-2.5-flash", prompt="say hi", max_tokens=5)
    assert r.choices[0].text == "echo: say hi" and r.choices[0].finish_reason == "stop"
    assert fake.last.json["generationConfig"] == {"maxOutputTokens": 5}
    chunks = list(c.completions.create(model="gemini-2.5-flash", prompt="say hi", stream=True))
    assert "".join(ch.choices[0].text for ch in chunks if ch.choices) == "echo: say hi"


# --- round 2: Gemini 3, foreign tool calls, signatures, files, embeddings ----------------------

G3 = "gemini-3-flash-preview"


def test_gemini3_foreign_tool_history_is_accepted(gem):
    fake, c, _ = gem()
    msgs = [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "toolu_01XYZ", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_01XYZ", "content": "sunny"},
    ]
    r = c.chat.completions.create(model=G3, messages=msgs, tools=TOOLS, reasoning_effort="low")
    assert r.choices[0].message.content == "echo: weather in Paris?"
    sent = fake.last.json
    assert sent["contents"][1]["parts"][0]["thoughtSignature"] == gemini.FOREIGN_SIGNATURE
    assert sent["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingLevel": "LOW"}
    # The same history sent straight to the fake without the stand-in is refused, as Google does.
    body = json.loads(fake.last.body)
    del body["contents"][1]["parts"][0]["thoughtSignature"]
    raw = httpx.post(f"{fake.base_url}/v1beta/models/{G3}:generateContent", json=body, headers={"x-goog-api-key": KEY})
    assert raw.status_code == 400 and "thought_signature" in raw.json()["error"]["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_gemini3_text_signature_round_trip(gem, stream):
    fake, c, _ = gem()
    if stream:
        chunks = list(c.chat.completions.create(model=G3, messages=[{"role": "user", "content": "hi there"}], stream=True))
        sigs = [ch.choices[0].delta.model_extra.get("extra_content") for ch in chunks if ch.choices and ch.choices[0].delta.model_extra.get("extra_content")]
        assert len(sigs) == 1
        message = {"role": "assistant", "content": _collect(chunks)[0][0], "extra_content": sigs[0]}
    else:
        r = c.chat.completions.create(model=G3, messages=[{"role": "user", "content": "hi there"}])
        message = r.choices[0].message.model_dump(exclude_none=True)
    assert message["extra_content"] == {"google": {"thought_signature": TEXT_SIGNATURE}}
    c.chat.completions.create(model=G3, messages=[{"role": "user", "content": "hi there"}, message, {"role": "user", "content": "more"}])
    assert fake.last.json["contents"][1] == {"role": "model", "parts": [{"text": "echo: hi there", "thoughtSignature": TEXT_SIGNATURE}]}


def test_gemini3_effort_none_is_refused_by_name(gem):
    _, c, _ = gem()
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model="gemini-3-pro-preview", messages=[{"role": "user", "content": "x"}], reasoning_effort="none")
    assert exc.value.body["param"] == "reasoning_effort"


async def test_pdf_file_part_and_audio_async(gem):
    fake, _, ac = gem()
    pdf = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4").decode()
    await ac.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": [
        {"type": "text", "text": "summarise"},
        {"type": "file", "file": {"file_data": pdf, "filename": "a.pdf"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    ]}])
    assert fake.last.json["contents"][0]["parts"][1:] == [
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0xLjQ="}},
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
    ]
    with pytest.raises(openai.BadRequestError) as exc:
        await ac.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": [
            {"type": "file", "file": {"file_data": "data:application/zip;base64,UEsDBA==", "filename": "a.zip"}}]}])
    assert exc.value.body["param"] == "messages[0].content[0]"


def test_embeddings_task_type_and_normalised(gem):
    fake, c, _ = gem()
    r = c.embeddings.create(model="gemini-embedding-001", input=["q"], dimensions=4, extra_body={"task_type": "retrieval_query"})
    assert fake.last.json["requests"][0]["taskType"] == "RETRIEVAL_QUERY"
    assert sum(x * x for x in r.data[0].embedding) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(openai.BadRequestError) as exc:
        c.embeddings.create(model="gemini-embedding-001", input=["q"], extra_body={"task_type": "nope"})
    assert exc.value.body["param"] == "task_type"
