"""Azure OpenAI through aoa: deployment URLs (dated and v1 API), `api-key`, aliases, vision
policy, stream normalisation, embeddings and legacy completions, Azure's own errors."""

from __future__ import annotations

import base64
import json
import struct

import httpx
import openai
import pytest

from tests.fakes.openai_api import AZURE_PROMPT_FILTER, FakeOpenAI

KEY = "az-server-key-0001"


@pytest.fixture
def azure(serve, aoa_server):
    def start(deployments=("gpt-35", "gpt4-deploy", "emb"), **env):
        fake = FakeOpenAI(flavor="azure", key=KEY, deployments=deployments)
        up = serve(fake.app())
        srv = aoa_server({"AOA_TYPE": "azure", "AZURE_ENDPOINT": up.url + "/", "AZURE_API_KEY": KEY, "AZURE_MODEL": "gpt-35", **env})
        return fake, srv

    return start


def sdk(srv, cls=openai.OpenAI):
    return cls(base_url=srv.url + "/v1", api_key="client-anything", max_retries=0)


MSG = [{"role": "user", "content": "hi"}]


def test_dated_url_key_and_alias_targets(azure):
    fake, srv = azure(AZURE_MODEL_ALIAS="gpt-3.5-turbo:gpt-35,gpt-4:gpt4-deploy")
    c = sdk(srv)
    assert c.chat.completions.create(model="gpt-4", messages=MSG).choices[0].message.content == "echo: hi"
    assert fake.last.path == "/openai/deployments/gpt4-deploy/chat/completions"  # seed defect 1
    assert fake.last.query == {"api-version": "2024-10-21"}
    assert fake.last.headers["api-key"] == KEY
    assert "Authorization" not in fake.last.headers
    c.chat.completions.create(model="gpt-3.5-turbo", messages=MSG)
    assert fake.last.path == "/openai/deployments/gpt-35/chat/completions"
    # A name without alias is used as the deployment as sent.
    c.chat.completions.create(model="emb", messages=MSG)
    assert fake.last.path == "/openai/deployments/emb/chat/completions"


def test_empty_model_uses_azure_model(azure):
    fake, srv = azure(AZURE_MODEL="gpt4-deploy")
    for body in ({"messages": MSG}, {"model": "", "messages": MSG}, {"model": None, "messages": MSG}):
        r = httpx.post(srv.url + "/v1/chat/completions", json=body)
        assert r.status_code == 200, r.text
        assert fake.last.path == "/openai/deployments/gpt4-deploy/chat/completions"  # seed defect 2


def test_custom_api_version(azure):
    fake, srv = azure(AZURE_API_VER="2025-01-01-preview")
    sdk(srv).chat.completions.create(model="gpt-35", messages=MSG)
    assert fake.last.query["api-version"] == "2025-01-01-preview"


async def test_v1_api(azure):
    fake, srv = azure(AZURE_API_VER="v1", AZURE_MODEL_ALIAS="gpt-4o:gpt4-deploy")
    ac = sdk(srv, openai.AsyncOpenAI)
    r = await ac.chat.completions.create(model="gpt-4o", messages=MSG)
    assert r.choices[0].message.content == "echo: hi"
    assert fake.last.path == "/openai/v1/chat/completions"
    assert fake.last.json["model"] == "gpt4-deploy"
    assert "api-version" not in fake.last.query
    text = ""
    async for ch in await ac.chat.completions.create(model="gpt-4o", messages=MSG, stream=True):
        text += "".join(c.delta.content or "" for c in ch.choices)
    assert text == "echo: hi"


def test_vision_off_refuses_before_upstream(azure):
    fake, srv = azure()
    c = sdk(srv)
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "what"}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
    ]
    with pytest.raises(openai.BadRequestError) as info:
        c.chat.completions.create(model="gpt-35", messages=messages)
    assert info.value.param == "messages[1].content[1]"
    assert "AZURE_VISION" in info.value.message
    assert not fake.requests
    # Text-only array content is fine without vision (seed defect 4: arrays were rejected).
    r = c.chat.completions.create(model="gpt-35", messages=[{"role": "user", "content": [{"type": "text", "text": "plain"}]}])
    assert r.choices[0].message.content == "echo: plain"
    assert fake.last.json["messages"][0]["content"] == [{"type": "text", "text": "plain"}]


def test_vision_on_passes_images(azure):
    fake, srv = azure(AZURE_VISION="true")
    parts = [{"type": "text", "text": "what"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}]
    sdk(srv).chat.completions.create(model="gpt-35", messages=[{"role": "user", "content": parts}])
    assert fake.last.json["messages"][0]["content"] == parts


def _events(text: str) -> list:
    out = []
    for block in text.split("\n\n"):
        if block.startswith("data: ") and block != "data: [DONE]":
            out.append(json.loads(block[6:]))
    return out


def test_stream_normalised(azure):
    fake, srv = azure()
    r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "gpt-35", "messages": MSG, "stream": True})
    assert r.text.endswith("data: [DONE]\n\n")
    events = _events(r.text)
    # The upstream's empty first chunk is folded into the next one, its filter results kept.
    assert all(e["choices"] for e in events)
    assert events[0]["prompt_filter_results"] == AZURE_PROMPT_FILTER
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert sum(1 for e in events if "prompt_filter_results" in e) == 1
    # Through the SDK (sync and async) the text and finish reason come out whole.
    chunks = list(sdk(srv).chat.completions.create(model="gpt-35", messages=MSG, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: hi"
    assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == ["stop"]


def test_stream_missing_delta_becomes_empty(azure):
    fake, srv = azure()
    base = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1, "model": "gpt-35"}
    fake.reply_sse([
        {"id": "", "object": "", "created": 0, "model": "", "choices": [], "prompt_filter_results": AZURE_PROMPT_FILTER},
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}, "finish_reason": None}]},
        # Asynchronous filter mode: a choice with filter results and no delta.
        {**base, "choices": [{"index": 0, "finish_reason": None, "content_filter_offsets": {"check_offset": 0}, "content_filter_results": {}}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        b"data: [DONE]\n\n",
    ])
    r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "gpt-35", "messages": MSG, "stream": True})
    events = _events(r.text)
    assert len(events) == 3
    assert events[0]["prompt_filter_results"] == AZURE_PROMPT_FILTER
    assert events[1]["choices"][0]["delta"] == {}
    assert events[1]["choices"][0]["content_filter_results"] == {}


def test_normalize_off_relays_raw(azure):
    fake, srv = azure(AZURE_NORMALIZE="false")
    r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "gpt-35", "messages": MSG, "stream": True})
    events = _events(r.text)
    assert events[0]["choices"] == [] and events[0]["id"] == ""
    assert events[0]["prompt_filter_results"] == AZURE_PROMPT_FILTER


def test_non_stream_keeps_filter_results(azure):
    fake, srv = azure()
    r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "gpt-35", "messages": MSG})
    assert r.json()["prompt_filter_results"] == AZURE_PROMPT_FILTER


async def test_embeddings_float_and_base64(azure):
    fake, srv = azure()
    c = sdk(srv)
    e = c.embeddings.create(model="emb", input=["abc", "de"])  # SDK default: base64
    assert fake.last.path == "/openai/deployments/emb/embeddings"
    assert fake.last.json["encoding_format"] == "base64"
    assert len(e.data) == 2 and len(e.data[0].embedding) == 4
    expected = [float((3 + k) % 7) / 7 for k in range(4)]
    assert e.data[0].embedding == pytest.approx(expected, abs=1e-6)
    f = await sdk(srv, openai.AsyncOpenAI).embeddings.create(model="emb", input="abc", encoding_format="float", dimensions=3)
    assert fake.last.json["encoding_format"] == "float" and fake.last.json["dimensions"] == 3
    assert f.data[0].embedding == pytest.approx(expected[:3])
    raw = httpx.post(srv.url + "/v1/embeddings", json={"model": "emb", "input": "abc", "encoding_format": "base64"}).json()
    decoded = struct.unpack("<4f", base64.b64decode(raw["data"][0]["embedding"]))
    assert list(decoded) == pytest.approx(expected, abs=1e-6)


def test_legacy_completions_through_deployment(azure):
    fake, srv = azure(AZURE_MODEL_ALIAS="gpt-35-turbo-instruct:gpt-35")
    r = sdk(srv).completions.create(model="gpt-35-turbo-instruct", prompt="abc")
    assert r.choices[0].text == "echo: abc"
    assert fake.last.path == "/openai/deployments/gpt-35/completions"
    assert fake.last.query["api-version"]


def test_deployment_not_found_relayed(azure):
    fake, srv = azure()
    with pytest.raises(openai.NotFoundError) as info:
        sdk(srv).chat.completions.create(model="missing-deploy", messages=MSG)
    assert info.value.code == "DeploymentNotFound"
    assert "deployment" in info.value.message.lower()
    with pytest.raises(openai.NotFoundError):
        list(sdk(srv).chat.completions.create(model="missing-deploy", messages=MSG, stream=True))


def test_azure_401_relayed_without_key(serve, aoa_server):
    fake = FakeOpenAI(flavor="azure", key="the-real-key", deployments=("gpt-35",))
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "azure", "AZURE_ENDPOINT": up.url, "AZURE_MODEL": "gpt-35"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="client-wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        c.chat.completions.create(model="gpt-35", messages=MSG)
    assert "Access denied" in info.value.message
    # Without AZURE_API_KEY the client's bearer is the upstream key.
    assert fake.last.headers["api-key"] == "client-wrong-key"
    ok = openai.OpenAI(base_url=srv.url + "/v1", api_key="the-real-key", max_retries=0)
    assert ok.chat.completions.create(model="gpt-35", messages=MSG).choices[0].message.content == "echo: hi"



def test_v1_api_embeddings_and_completions(azure):
    fake, srv = azure(AZURE_API_VER="v1", AZURE_MODEL_ALIAS="text-embedding-3-small:emb")
    c = sdk(srv)
    e = c.embeddings.create(model="text-embedding-3-small", input="abc")
    assert fake.last.path == "/openai/v1/embeddings" and fake.last.json["model"] == "emb"
    assert len(e.data[0].embedding) == 4
    r = c.completions.create(model="gpt-35", prompt="p")
    assert fake.last.path == "/openai/v1/completions" and r.choices[0].text == "echo: p"
