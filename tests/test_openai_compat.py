"""OpenAI-compatible upstreams (`openai`, `yi`, and Azure's dated API which relays the body):
nothing the client sends is dropped — zero values, tools, tool turns, array content and fields
aoa has never heard of — and the SDK works sync/async, streaming or not."""

from __future__ import annotations

import openai
import pytest

from tests.fakes.openai_api import FakeOpenAI

TOOLS = [{
    "type": "function",
    "function": {"name": "get_weather", "description": "w", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
}]
MESSAGES = [
    {"role": "system", "content": "be brief", "name": "sys"},
    {"role": "user", "content": [{"type": "text", "text": "weather in"}, {"type": "text", "text": "Paris?"}], "name": "alice"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    {"role": "user", "content": "thanks"},
]
EVERY_FIELD = dict(
    temperature=0,
    top_p=0,
    presence_penalty=0,
    frequency_penalty=0,
    n=2,
    stop=["\n\n", "END"],
    max_tokens=50,
    max_completion_tokens=60,
    seed=0,
    logprobs=True,
    top_logprobs=0,
    logit_bias={"50256": -100},
    tools=TOOLS,
    tool_choice={"type": "function", "function": {"name": "get_weather"}},
    parallel_tool_calls=False,
    response_format={"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": True}},
    user="user-42",
    metadata={"k": "v"},
    store=False,
    service_tier="auto",
)


@pytest.fixture
def upstream(serve, aoa_server):
    def start(kind: str, **env):
        flavor = "azure" if kind == "azure" else "openai"
        fake = FakeOpenAI(flavor=flavor, deployments=("gpt-4o",))
        up = serve(fake.app())
        base = {"openai": {"OPENAI_ENDPOINT": up.url + "/v1"}, "yi": {"YI_ENDPOINT": up.url + "/v1"}, "azure": {"AZURE_ENDPOINT": up.url}}[kind]
        srv = aoa_server({"AOA_TYPE": kind, **base, **env})
        return fake, srv

    return start


@pytest.mark.parametrize("kind", ["openai", "yi", "azure"])
@pytest.mark.parametrize("stream", [False, True])
def test_no_field_dropped(upstream, kind, stream):
    fake, srv = upstream(kind)
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    extra = {"stream_options": {"include_usage": True}} if stream else {}
    r = c.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=stream, extra_body={"vendor_knob": {"a": [1, 2]}}, **EVERY_FIELD, **extra)
    if stream:
        list(r)
    sent = fake.last.json
    for name, value in EVERY_FIELD.items():
        assert name in sent, name
        assert sent[name] == value, name
        assert type(sent[name]) is type(value), name  # 0 stays an int, never 0.0 or absent
    assert sent["messages"] == MESSAGES
    assert sent["vendor_knob"] == {"a": [1, 2]}
    assert sent["model"] == "gpt-4o"
    if stream:
        assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("kind", ["openai", "yi"])
async def test_sdk_sync_async_stream(upstream, kind):
    fake, srv = upstream(kind)
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    ac = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    msg = [{"role": "user", "content": "one two"}]
    assert c.chat.completions.create(model="gpt-4o", messages=msg).choices[0].message.content == "echo: one two"
    assert (await ac.chat.completions.create(model="gpt-4o", messages=msg)).choices[0].message.content == "echo: one two"
    chunks = list(c.chat.completions.create(model="gpt-4o", messages=msg, stream=True, stream_options={"include_usage": True}))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "echo: one two"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    text = ""
    async for ch in await ac.chat.completions.create(model="gpt-4o", messages=msg, stream=True):
        text += "".join(c.delta.content or "" for c in ch.choices)
        assert ch.usage is None
    assert text == "echo: one two"


@pytest.mark.parametrize("kind", ["openai", "yi"])
def test_alias_and_default_model(upstream, kind):
    p = kind.upper()
    fake, srv = upstream(kind, **{f"{p}_MODEL": "default-m", f"{p}_MODEL_ALIAS": "gpt-4:real-4,gpt-3.5-turbo:real-35"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    c.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "a"}])
    assert fake.last.json["model"] == "real-4"
    c.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "a"}], stream=True).close()
    assert fake.last.json["model"] == "real-35"
    c.chat.completions.create(model="", messages=[{"role": "user", "content": "a"}])
    assert fake.last.json["model"] == "default-m"
    c.chat.completions.create(model="other", messages=[{"role": "user", "content": "a"}])
    assert fake.last.json["model"] == "other"


def test_yi_bearer_and_endpoint_path(serve, aoa_server):
    fake = FakeOpenAI(key="yi-key-123", base_path="/custom/prefix/v1")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "yi", "YI_ENDPOINT": up.url + "/custom/prefix/v1/", "YI_API_KEY": "yi-key-123"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    r = c.chat.completions.create(model="yi-lightning", messages=[{"role": "user", "content": "hey"}])
    assert r.choices[0].message.content == "echo: hey"
    assert fake.last.path == "/custom/prefix/v1/chat/completions"  # seed defect 6
    assert fake.last.headers["Authorization"] == "Bearer yi-key-123"
    assert fake.last.json["model"] == "yi-lightning"


def test_yi_default_model(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "yi", "YI_ENDPOINT": up.url + "/v1"})
    import httpx

    httpx.post(srv.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "a"}]})
    assert fake.last.json["model"] == "yi-lightning"


def test_openai_models_merged_with_aliases(serve, aoa_server):
    fake = FakeOpenAI(models=("gpt-4o-mini", "gpt-4o"))
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_MODEL_ALIAS": "fast:gpt-4o-mini"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    ids = [m.id for m in c.models.list()]
    assert ids == ["gpt-4o-mini", "fast", "gpt-4o"]
    assert len(ids) == len(set(ids))


def test_embeddings_passthrough_base64_default(upstream):
    fake, srv = upstream("openai")
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    e = c.embeddings.create(model="text-embedding-3-small", input="abc", dimensions=6)
    assert fake.last.json == {"model": "text-embedding-3-small", "input": "abc", "dimensions": 6, "encoding_format": "base64"}
    assert len(e.data[0].embedding) == 6
