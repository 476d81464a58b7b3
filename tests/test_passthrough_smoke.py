import openai
from tests.fakes.openai_api import FakeOpenAI

def test_azure_roundtrip(serve, aoa_server):
    fake = FakeOpenAI(flavor="azure", key="azkey-123456", deployments=("gpt-35",))
    up = serve(fake.app())
    aoa = aoa_server({"AOA_TYPE": "azure", "AZURE_ENDPOINT": up.url + "/", "AZURE_API_KEY": "azkey-123456", "AZURE_MODEL_ALIAS": "gpt-3.5-turbo:gpt-35"})
    c = openai.OpenAI(base_url=aoa.url + "/v1", api_key="anything")
    r = c.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}], temperature=0)
    assert r.choices[0].message.content == "echo: hi"
    assert fake.last.path == "/openai/deployments/gpt-35/chat/completions"
    assert fake.last.query["api-version"] == "2024-10-21"
    assert fake.last.json["temperature"] == 0
    s = c.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi you"}], stream=True, stream_options={"include_usage": True})
    chunks = list(s)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "echo: hi you"
    assert chunks[-1].usage.total_tokens > 0

def test_openai_passthrough(serve, aoa_server):
    fake = FakeOpenAI(key="sk-up")
    up = serve(fake.app())
    aoa = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up"})
    c = openai.OpenAI(base_url=aoa.url + "/v1", api_key="anything")
    r = c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], extra_body={"weird": 1})
    assert fake.last.json["weird"] == 1
    e = c.embeddings.create(model="text-embedding-3-small", input=["abc", "de"])
    assert len(e.data[0].embedding) == 4
    assert [m.id for m in c.models.list()] == ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]
