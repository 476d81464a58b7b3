"""The built-in mock upstream through the official SDK: deterministic, OpenAI-shaped answers,
tool calls, n, length, stop, JSON mode, paced streams and embeddings."""

from __future__ import annotations

import json
import time

import openai
import pytest

FAST = {"AOA_TYPE": "mock", "MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}}}}},
    {"type": "function", "function": {"name": "other", "parameters": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}]


@pytest.fixture
def mock(aoa_server):
    def start(**env):
        srv = aoa_server({**FAST, **env})
        return (openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0),
                openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0))
    return start


def user(text):
    return [{"role": "user", "content": text}]


async def test_echo_deterministic_sync_async(mock):
    c, ac = mock()
    a = c.chat.completions.create(model="mock-gpt", messages=user("the same words"))
    b = await ac.chat.completions.create(model="mock-gpt", messages=user("the same words"))
    assert a.choices[0].message.content == b.choices[0].message.content == "the same words"
    assert a.choices[0].finish_reason == "stop" and a.object == "chat.completion"
    assert a.usage.prompt_tokens == 3 and a.usage.completion_tokens == 3 and a.usage.total_tokens == 6
    assert a.id != b.id and a.id.startswith("chatcmpl-")
    chunks = list(c.chat.completions.create(model="mock-gpt", messages=user("the same words"), stream=True, stream_options={"include_usage": True}))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "the same words"
    assert len({ch.id for ch in chunks}) == 1
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 6
    assert all(ch.usage is None for ch in chunks[:-1])
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == ["stop"]
    text = ""
    async for ch in await ac.chat.completions.create(model="mock-gpt", messages=user("async words"), stream=True):
        text += "".join(x.delta.content or "" for x in ch.choices)
    assert text == "async words"


def test_lorem(mock):
    c, _ = mock(MOCK_REPLY="lorem", MOCK_LOREM_WORDS="5")
    r = c.chat.completions.create(model="m", messages=user("x"))
    assert r.choices[0].message.content == "lorem ipsum dolor sit amet"


def test_tools(mock):
    c, _ = mock()
    r = c.chat.completions.create(model="m", messages=user("weather?"), tools=TOOLS)
    assert r.choices[0].finish_reason == "tool_calls" and r.choices[0].message.content is None
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "mock", "days": 1, "unit": "c"}
    r = c.chat.completions.create(model="m", messages=user("x"), tools=TOOLS, tool_choice={"type": "function", "function": {"name": "other"}})
    assert r.choices[0].message.tool_calls[0].function.name == "other"
    r = c.chat.completions.create(model="m", messages=user("no tools"), tools=TOOLS, tool_choice="none")
    assert r.choices[0].message.content == "no tools"
    with pytest.raises(openai.BadRequestError) as info:
        c.chat.completions.create(model="m", messages=user("x"), tools=TOOLS, tool_choice={"type": "function", "function": {"name": "nope"}})
    assert info.value.param == "tool_choice"
    # Streamed tool calls: index always, id and name only first, arguments as string fragments.
    chunks = list(c.chat.completions.create(model="m", messages=user("weather?"), tools=TOOLS, stream=True))
    deltas = [tc for ch in chunks for tc in (ch.choices[0].delta.tool_calls or [])]
    assert all(d.index == 0 for d in deltas)
    assert deltas[0].id and deltas[0].type == "function" and deltas[0].function.name == "get_weather"
    assert all(d.id is None and d.function.name is None for d in deltas[1:])
    assert json.loads("".join(d.function.arguments for d in deltas)) == json.loads(call.function.arguments)
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices[0].finish_reason] == ["tool_calls"]
    # After the tool's answer the mock replies with it.
    msgs = user("weather?") + [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    r = c.chat.completions.create(model="m", messages=msgs, tools=TOOLS)
    assert r.choices[0].message.content == "The tool answered: sunny"


def test_n_choices(mock):
    c, _ = mock()
    r = c.chat.completions.create(model="m", messages=user("a b"), n=3)
    assert [ch.index for ch in r.choices] == [0, 1, 2]
    assert all(ch.message.content == "a b" for ch in r.choices)
    chunks = list(c.chat.completions.create(model="m", messages=user("a b"), n=2, stream=True))
    for i in range(2):
        assert "".join(ch.choices[j].delta.content or "" for ch in chunks for j in range(len(ch.choices)) if ch.choices[j].index == i) == "a b"
        assert sum(1 for ch in chunks for x in ch.choices if x.index == i and x.finish_reason) == 1


def test_max_tokens_length_and_stop(mock):
    c, _ = mock()
    r = c.chat.completions.create(model="m", messages=user("one two three four"), max_tokens=2)
    assert r.choices[0].message.content == "one two" and r.choices[0].finish_reason == "length"
    r = c.chat.completions.create(model="m", messages=user("one two three four"), max_completion_tokens=3)
    assert r.choices[0].message.content == "one two three" and r.choices[0].finish_reason == "length"
    chunks = list(c.chat.completions.create(model="m", messages=user("one two three four"), max_tokens=2, stream=True))
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices[0].finish_reason] == ["length"]
    r = c.chat.completions.create(model="m", messages=user("hello STOP world"), stop=["STOP"])
    assert r.choices[0].message.content.strip() == "hello" and r.choices[0].finish_reason == "stop"


def test_json_mode(mock):
    c, _ = mock()
    r = c.chat.completions.create(model="m", messages=user("hi"), response_format={"type": "json_object"})
    assert json.loads(r.choices[0].message.content) == {"reply": "hi"}
    r = c.chat.completions.create(model="m", messages=user("hi"), response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}})
    assert json.loads(r.choices[0].message.content) == {"reply": "hi"}


def test_stream_pacing(mock):
    c, _ = mock(MOCK_FIRST_TOKEN_DELAY="0.15", MOCK_TOKEN_RATE="50")
    t0 = time.monotonic()
    stream = c.chat.completions.create(model="m", messages=user("a b c d e f g h i j"), stream=True)
    stamps = [time.monotonic() - t0 for _ in stream]
    first_content = stamps[1]
    assert first_content >= 0.15
    # 10 words at 50/s: about 0.2 s after the first token.
    assert 0.15 <= stamps[-1] - stamps[0] < 1.5


def test_stream_fast_when_rate_zero(mock):
    c, _ = mock()
    t0 = time.monotonic()
    list(c.chat.completions.create(model="m", messages=user(" ".join(["w"] * 200)), stream=True))
    assert time.monotonic() - t0 < 1.0


async def test_embeddings(mock):
    c, ac = mock(MOCK_DIMENSIONS="8")
    a = c.embeddings.create(model="emb", input=["alpha", "beta"])  # base64 on the wire
    f = await ac.embeddings.create(model="emb", input=["alpha", "beta"], encoding_format="float")
    assert len(a.data) == 2 and len(a.data[0].embedding) == 8
    for x, y in zip(a.data, f.data):
        assert x.embedding == pytest.approx(y.embedding, abs=1e-6)
    assert sum(v * v for v in f.data[0].embedding) == pytest.approx(1.0, abs=1e-5)
    assert a.data[0].embedding != a.data[1].embedding
    again = c.embeddings.create(model="emb", input="alpha", encoding_format="float")
    assert again.data[0].embedding == f.data[0].embedding
    d = c.embeddings.create(model="emb", input="alpha", dimensions=3)
    assert len(d.data[0].embedding) == 3


def test_models(mock):
    c, _ = mock(MOCK_MODEL_ALIAS="gpt-4o:mock-gpt")
    assert [m.id for m in c.models.list()] == ["mock-gpt", "gpt-4o"]
    r = c.chat.completions.create(model="gpt-4o", messages=user("x"))
    assert r.model == "mock-gpt"
