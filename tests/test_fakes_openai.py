"""The fake upstreams are only worth something if the official SDK accepts them as the real
thing: drive the fake OpenAI with openai.OpenAI and the fake Azure with openai.AzureOpenAI."""

from __future__ import annotations

import openai
import pytest

from tests.fakes.openai_api import AZURE_PROMPT_FILTER, FakeOpenAI

MSG = [{"role": "user", "content": "hi there"}]


def test_fake_openai_with_sdk(serve):
    fake = FakeOpenAI(key="sk-fake")
    up = serve(fake.app())
    c = openai.OpenAI(base_url=up.url + "/v1", api_key="sk-fake", max_retries=0)
    r = c.chat.completions.create(model="gpt-4o", messages=MSG)
    assert r.choices[0].message.content == "echo: hi there" and r.model == "gpt-4o"
    chunks = list(c.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, stream_options={"include_usage": True}))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "echo: hi there"
    assert chunks[-1].usage.total_tokens == r.usage.total_tokens
    e = c.embeddings.create(model="text-embedding-3-small", input=["a", "bb"])
    assert len(e.data) == 2 and len(e.data[1].embedding) == 4
    assert c.completions.create(model="x", prompt="p").choices[0].text == "echo: p"
    assert [m.id for m in c.models.list()] == ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=up.url + "/v1", api_key="wrong", max_retries=0).chat.completions.create(model="gpt-4o", messages=MSG)
    assert fake.last.headers["Authorization"] == "Bearer wrong"


async def test_fake_azure_with_azure_sdk(serve):
    fake = FakeOpenAI(flavor="azure", key="az-fake", deployments=("dep1",))
    up = serve(fake.app())
    c = openai.AzureOpenAI(azure_endpoint=up.url, api_key="az-fake", api_version="2024-10-21", max_retries=0)
    r = c.chat.completions.create(model="dep1", messages=MSG)
    assert r.choices[0].message.content == "echo: hi there"
    assert fake.last.path == "/openai/deployments/dep1/chat/completions"
    assert fake.last.query["api-version"] == "2024-10-21"
    assert fake.last.headers["api-key"] == "az-fake"
    assert r.model_extra["prompt_filter_results"] == AZURE_PROMPT_FILTER
    chunks = list(c.chat.completions.create(model="dep1", messages=MSG, stream=True))
    assert chunks[0].choices == [] and chunks[0].model_extra["prompt_filter_results"]
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "echo: hi there"
    e = c.embeddings.create(model="dep1", input="abc")
    assert len(e.data[0].embedding) == 4
    with pytest.raises(openai.NotFoundError) as info:
        c.chat.completions.create(model="nope", messages=MSG)
    assert info.value.code == "DeploymentNotFound"
    with pytest.raises(openai.AuthenticationError):
        openai.AzureOpenAI(azure_endpoint=up.url, api_key="bad", api_version="2024-10-21", max_retries=0).chat.completions.create(model="dep1", messages=MSG)
    # The v1 API: the deployment travels as `model`.
    v1 = openai.AsyncOpenAI(base_url=up.url + "/openai/v1", api_key="unused", default_headers={"api-key": "az-fake"}, max_retries=0)
    r = await v1.chat.completions.create(model="dep1", messages=MSG)
    assert r.choices[0].message.content == "echo: hi there"
    assert fake.last.path == "/openai/v1/chat/completions"
