"""Anthropic through aoa with the official openai SDK as the client and a fake Anthropic upstream
(tests/fakes/anthropic_api.py, proven with the anthropic SDK in test_anthropic_fake.py)."""

from __future__ import annotations

import base64
import json

import httpx
import openai
import pytest

from tests.fakes.anthropic_api import FakeAnthropic, event

KEY = "sk-ant-upstream-secret"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "w", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
MODEL = "claude-sonnet-4-5"


@pytest.fixture
def claude(serve, aoa_server):
    def start(key: str | None = KEY, page_size: int | None = None, client_key: str = "client-key", prefix: str = "", kind: str = "anthropic", **env):
        fake = FakeAnthropic(key=KEY, page_size=page_size, prefix=prefix)
        up = serve(fake.app())
        base = {"AOA_TYPE": kind, "ANTHROPIC_ENDPOINT": up.url + prefix}
        if key:
            base["ANTHROPIC_API_KEY"] = key
        srv = aoa_server({**base, **env})
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=client_key, max_retries=0)
        aclient = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key=client_key, max_retries=0)
        return fake, client, aclient

    return start


def _collect(chunks):
    text, reasoning, finishes, tools, usage = "", "", [], {}, None
    for ch in chunks:
        if ch.usage is not None:
            assert usage is None, "two usage chunks"
            assert ch.choices == []
            usage = ch.usage
        for c in ch.choices:
            text += c.delta.content or ""
            reasoning += getattr(c.delta, "reasoning_content", None) or ""
            if c.finish_reason:
                finishes.append(c.finish_reason)
            for tc in c.delta.tool_calls or ():
                slot = tools.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
                if tc.id:
                    assert slot["id"] is None, "id sent twice"
                    slot["id"], slot["name"] = tc.id, tc.function.name
                slot["arguments"] += tc.function.arguments or ""
    assert len(finishes) == 1, finishes
    assert len({ch.id for ch in chunks}) == 1
    return text, reasoning, finishes[0], tools, usage


# --- text ------------------------------------------------------------------------------------


def test_text_stream_and_non_stream_agree(claude):
    fake, c, _ = claude()
    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello big world"}]
    r = c.chat.completions.create(model=MODEL, messages=msgs, temperature=0)
    assert r.choices[0].message.content == "echo: hello big world" and r.choices[0].finish_reason == "stop"
    assert r.id.startswith("msg_fake") and r.model == MODEL
    assert r.usage.completion_tokens == 4 and r.usage.prompt_tokens > 0 and r.usage.prompt_tokens_details.cached_tokens == 0
    sent = fake.last
    assert sent.path == "/v1/messages" and sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.json["system"] == [{"type": "text", "text": "be brief"}] and sent.json["temperature"] == 0
    assert sent.json["max_tokens"] == 16384 and "stream" not in sent.json
    chunks = list(c.chat.completions.create(model=MODEL, messages=msgs, stream=True, stream_options={"include_usage": True}))
    text, _, finish, _, usage = _collect(chunks)
    assert fake.last.json["stream"] is True
    assert text == r.choices[0].message.content and finish == "stop"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert (usage.prompt_tokens, usage.completion_tokens) == (r.usage.prompt_tokens, r.usage.completion_tokens)


async def test_async_client(claude):
    _, _, ac = claude()
    r = await ac.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "async hi"}])
    assert r.choices[0].message.content == "echo: async hi"
    stream = await ac.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "async hi"}], stream=True)
    assert _collect([ch async for ch in stream])[0] == "echo: async hi"


def test_client_key_is_sent_when_no_server_key_and_claude_kind(claude):
    fake, c, _ = claude(key=None, client_key=KEY, kind="claude")
    c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert fake.last.headers["x-api-key"] == KEY


def test_endpoint_path_is_respected(claude):
    fake, c, _ = claude(prefix="/anthropic", ANTHROPIC_BETA="files-api-2025-04-14", ANTHROPIC_MAX_TOKENS="100")
    c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stop=["zzz"], user="u-7")
    assert fake.last.path == "/anthropic/v1/messages" and fake.last.headers["anthropic-beta"] == "files-api-2025-04-14"
    assert (fake.last.json["max_tokens"], fake.last.json["stop_sequences"], fake.last.json["metadata"]) == (100, ["zzz"], {"user_id": "u-7"})
    r = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "one STOP two"}], stop="STOP")
    assert r.choices[0].message.content == "echo: one " and r.choices[0].finish_reason == "stop"


def test_legacy_completions_through_chat(claude):
    fake, c, _ = claude()
    r = c.completions.create(model=MODEL, prompt="say hi", max_tokens=5)
    assert r.choices[0].text == "echo: say hi" and r.object == "text_completion"
    assert fake.last.json["max_tokens"] == 5


# --- tools -----------------------------------------------------------------------------------


def test_tool_calls_stream_and_non_stream(claude):
    fake, c, _ = claude()
    msgs = [{"role": "user", "content": "weather?"}]
    r = c.chat.completions.create(model=MODEL, messages=msgs, tools=TOOLS, tool_choice="required")
    m = r.choices[0].message
    assert r.choices[0].finish_reason == "tool_calls" and m.content is None
    assert [(t.function.name, json.loads(t.function.arguments)) for t in m.tool_calls] == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]
    assert fake.last.json["tool_choice"] == {"type": "any"}
    _, _, finish, tools, _ = _collect(list(c.chat.completions.create(model=MODEL, messages=msgs, tools=TOOLS, tool_choice="required", stream=True)))
    assert finish == "tool_calls" and [json.loads(t["arguments"]) for t in tools.values()] == [{"city": "Paris"}, {"city": "Rome"}]
    r = c.chat.completions.create(model=MODEL, messages=msgs, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}}, parallel_tool_calls=False)
    assert len(r.choices[0].message.tool_calls) == 1
    assert fake.last.json["tool_choice"] == {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    follow = msgs + [r.choices[0].message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": r.choices[0].message.tool_calls[0].id, "content": "sunny"}]
    r2 = c.chat.completions.create(model=MODEL, messages=follow, tools=TOOLS)
    assert r2.choices[0].message.content == "echo: tool said sunny"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("question", ["weather?", "weather? redact it"])
def test_thinking_tool_loop_keeps_signatures(claude, stream, question):
    """The fake refuses a tool turn whose thinking block is missing or altered, as Anthropic does."""
    fake, c, _ = claude()
    msgs = [{"role": "user", "content": question}]
    kw = {"model": MODEL, "tools": TOOLS, "reasoning_effort": "low", "parallel_tool_calls": False}
    if stream:
        text, reasoning, finish, tools, _ = _collect(list(c.chat.completions.create(messages=msgs, stream=True, **kw)))
        calls = [{"id": t["id"], "type": "function", "function": {"name": t["name"], "arguments": t["arguments"]}} for t in tools.values()]
        assistant = {"role": "assistant", "content": text, "tool_calls": calls}
    else:
        r = c.chat.completions.create(messages=msgs, **kw)
        finish, reasoning = r.choices[0].finish_reason, r.choices[0].message.reasoning_content
        assistant = r.choices[0].message.model_dump(exclude_none=True)
        calls = assistant["tool_calls"]
    assert finish == "tool_calls" and reasoning.startswith("Thinking about")
    assert fake.last.json["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert assistant["content"] == "Let me look that up." and len(calls) == 1
    follow = msgs + [assistant, {"role": "tool", "tool_call_id": calls[0]["id"], "content": "sunny"}]
    r2 = c.chat.completions.create(messages=follow, **kw)
    assert r2.choices[0].message.content == "echo: tool said sunny"
    replayed = fake.last.json["messages"][1]["content"]
    assert replayed[0]["type"] == "thinking" and replayed[-1]["type"] == "tool_use"
    assert ("redacted_thinking" in [b["type"] for b in replayed]) is ("redact" in question)
    # A client that loses the id loses the signature: Anthropic's 400 reaches it unchanged.
    follow[1]["tool_calls"][0]["id"] = follow[2]["tool_call_id"] = calls[0]["id"].split("__th__")[0]
    with pytest.raises(openai.BadRequestError, match="Expected `thinking`"):
        c.chat.completions.create(messages=follow, **kw)


# --- structured output -----------------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"], "additionalProperties": False}


@pytest.mark.parametrize("model", [MODEL, "claude-3-5-haiku-20241022"])
def test_json_schema_native_or_through_the_answer_tool(claude, model):
    fake, c, _ = claude()
    rf = {"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA, "strict": True}}
    r = c.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], response_format=rf)
    assert json.loads(r.choices[0].message.content) == {"answer": "echo: hi"}
    assert r.choices[0].finish_reason == "stop" and not r.choices[0].message.tool_calls
    native = "output_config" in fake.last.json
    assert native is (model == MODEL)
    text, _, finish, tools, _ = _collect(list(c.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], response_format=rf, stream=True)))
    assert json.loads(text) == {"answer": "echo: hi"} and finish == "stop" and not tools


# --- vision, PDF, cache ----------------------------------------------------------------------


def test_vision_and_pdf_parts(claude):
    fake, c, _ = claude()
    pdf = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.7 fake").decode()
    parts = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": PNG}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        {"type": "file", "file": {"file_data": pdf, "filename": "doc.pdf"}},
    ]
    r = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": parts}])
    assert r.choices[0].message.content == "echo: what is this [image] [image] [document]"
    blocks = fake.last.json["messages"][0]["content"]
    assert blocks[1]["source"]["type"] == "base64" and blocks[2]["source"] == {"type": "url", "url": "https://example.com/cat.jpg"}
    assert blocks[3]["source"]["media_type"] == "application/pdf" and blocks[3]["title"] == "doc.pdf"
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}])
    assert exc.value.body["param"] == "messages[0].content[0]"


def test_auto_prompt_cache_reports_cached_tokens(claude):
    fake, c, _ = claude(ANTHROPIC_PROMPT_CACHE="auto")
    system = {"role": "system", "content": "You are a careful assistant. " * 20}
    msgs = [system, {"role": "user", "content": "first question"}]
    r1 = c.chat.completions.create(model=MODEL, messages=msgs, tools=TOOLS)
    msgs += [{"role": "assistant", "content": r1.choices[0].message.content}, {"role": "user", "content": "second question"}]
    r2 = c.chat.completions.create(model=MODEL, messages=msgs, tools=TOOLS)
    assert r1.usage.prompt_tokens_details.cached_tokens == 0
    assert r2.usage.prompt_tokens_details.cached_tokens > 0
    assert r2.usage.prompt_tokens > r2.usage.prompt_tokens_details.cached_tokens
    assert fake.last.json["system"][-1]["cache_control"] == {"type": "ephemeral"}
    chunks = list(c.chat.completions.create(model=MODEL, messages=msgs, tools=TOOLS, stream=True, stream_options={"include_usage": True}))
    assert _collect(chunks)[4].prompt_tokens_details.cached_tokens > 0


# --- errors, models, embeddings --------------------------------------------------------------


def test_upstream_errors_keep_status_and_retry_after(claude):
    fake, c, _ = claude()
    fake.reply_error(529, "overloaded_error", "Overloaded", headers={"retry-after": "7"})
    with pytest.raises(openai.InternalServerError) as exc:
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 503 and exc.value.response.headers["retry-after"] == "7"
    assert exc.value.body["code"] == "overloaded_error" and "Overloaded" in exc.value.body["message"]
    fake.reply_error(429, "rate_limit_error", "slow down", headers={"retry-after": "2"})
    with pytest.raises(openai.RateLimitError) as exc:
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert exc.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], temperature=1.5)
    assert exc.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], n=2)
    assert exc.value.body["param"] == "n"


def test_bad_key_and_secret_not_leaked(claude):
    fake, c, _ = claude(key="sk-ant-wrong-key")
    with pytest.raises(openai.AuthenticationError) as exc:
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert "sk-ant-wrong-key" not in json.dumps(exc.value.body)


def test_error_event_mid_stream(claude):
    fake, c, _ = claude()
    start = {"type": "message_start", "message": {"id": "msg_e", "type": "message", "role": "assistant", "model": MODEL, "content": [], "usage": {"input_tokens": 1, "output_tokens": 1}}}
    fake.reply_sse([
        event("message_start", start, pad=True),
        event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "partial"}}),
        event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ])
    with httpx.stream("POST", str(c.base_url) + "chat/completions", json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "x"}]}, headers={"Authorization": "Bearer k"}) as resp:
        lines = [ln for ln in resp.iter_lines() if ln.startswith("data: ")]
    assert json.loads(lines[1][6:])["choices"][0]["delta"]["content"] == "partial"
    assert json.loads(lines[-1][6:])["error"]["code"] == "overloaded_error"
    fake.reply_sse([event("message_start", start)])
    with pytest.raises(openai.APIError):
        list(c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))


def test_models_paged_and_merged_with_aliases(claude):
    fake, c, _ = claude(page_size=2, ANTHROPIC_MODEL_ALIAS="gpt-4o:claude-opus-4-1")
    ids = [m.id for m in c.models.list()]
    assert ids[:3] == [MODEL, "gpt-4o", "claude-opus-4-1"]
    assert set(fake.models) <= set(ids)
    assert [r.query.get("after_id") for r in fake.requests] == [None, "claude-opus-4-1"]
    r = c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert fake.last.json["model"] == "claude-opus-4-1" and r.model == "claude-opus-4-1"


def test_embeddings_are_refused(claude):
    fake, c, _ = claude()
    with pytest.raises(openai.BadRequestError) as exc:
        c.embeddings.create(model=MODEL, input="x")
    assert exc.value.body["code"] == "unsupported_endpoint"
    assert fake.requests == []


def test_bad_input_and_bad_upstreams(claude, aoa_server):
    fake, c, _ = claude()
    r = httpx.post(str(c.base_url) + "chat/completions", content=b'{"model": "x", "messages": [', headers={"Authorization": "Bearer k"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    with pytest.raises(openai.BadRequestError) as exc:
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": 7}])
    assert exc.value.body["param"].startswith("messages")
    r = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], extra_body={"some_future_field": {"a": 1}})
    assert r.choices[0].message.content == "echo: x"
    fake.reply_json({"unexpected": True})
    with pytest.raises(openai.APIStatusError) as exc:
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 502
    fake.reply_sse([b"event: message_start\ndata: {not json}\n\n"])
    with pytest.raises(openai.APIStatusError) as exc:
        list(c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    assert exc.value.status_code == 502
    # Nothing listens on the upstream port: 502.
    from tests.support import free_port

    dead = aoa_server({"AOA_TYPE": "anthropic", "ANTHROPIC_ENDPOINT": f"http://127.0.0.1:{free_port()}", "ANTHROPIC_API_KEY": KEY})
    dc = openai.OpenAI(base_url=dead.url + "/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.APIStatusError) as exc:
        dc.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 502 and KEY not in json.dumps(exc.value.body)


def test_no_usage_chunk_without_include_usage(claude):
    _, c, _ = claude()
    chunks = list(c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    assert _collect(chunks)[4] is None and all(ch.usage is None for ch in chunks)


def test_long_non_stream_requests_are_streamed_upstream_and_assembled(claude):
    fake, c, _ = claude()
    kw = {"model": MODEL, "tools": TOOLS, "reasoning_effort": "high", "parallel_tool_calls": False}
    r = c.chat.completions.create(messages=[{"role": "user", "content": "weather?"}], **kw)
    assert fake.last.json["stream"] is True and fake.last.json["max_tokens"] == 32768
    m = r.choices[0].message
    assert r.object == "chat.completion" and r.choices[0].finish_reason == "tool_calls" and r.id.startswith("msg_fake")
    assert m.content == "Let me look that up." and m.reasoning_content.startswith("Thinking about")
    assert r.usage.completion_tokens > 0
    follow = [{"role": "user", "content": "weather?"}, m.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": m.tool_calls[0].id, "content": "sunny"}]
    assert c.chat.completions.create(messages=follow, **kw).choices[0].message.content == "echo: tool said sunny"
    c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=21333)
    assert "stream" not in fake.last.json


@pytest.mark.parametrize("server_key", [True, False])
def test_keys_echoed_by_anthropic_never_reach_error_bodies_or_logs(claude, server_key):
    import logging

    from tests.support import LogCapture

    env = {"AOA_TYPE": "anthropic", "ANTHROPIC_API_KEY": KEY} if server_key else {"AOA_TYPE": "anthropic"}
    fake, c, _ = claude(key=KEY if server_key else None, client_key="client-key" if server_key else KEY)
    capture = LogCapture(env)
    logger = logging.getLogger("aoa")
    logger.addHandler(capture)
    try:
        fake.reply_error(401, "authentication_error", f"invalid x-api-key {KEY}")
        with pytest.raises(openai.AuthenticationError) as info:
            c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
        start = {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "content": [], "usage": {"input_tokens": 1, "output_tokens": 0}}}
        fake.reply_sse([
            event("message_start", start),
            event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "a"}}),
            event("error", {"type": "error", "error": {"type": "api_error", "message": f"key {KEY} failed"}}),
        ])
        with pytest.raises(openai.APIError) as mid:
            list(c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    finally:
        logger.removeHandler(capture)
    seen = json.dumps(info.value.body) + json.dumps(mid.value.body) + capture.text
    assert "invalid x-api-key" in seen and "failed" in seen
    assert KEY not in seen
