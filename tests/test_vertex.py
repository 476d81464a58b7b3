"""Gemini on Vertex AI: express mode (API key) and project endpoints with a service account whose
OAuth2 tokens aoa mints (gateway/google_auth.py). The fakes (tests/fakes/vertex_api.py) are proven
with google-genai in Vertex mode and google-auth's own service-account flow; aoa is driven with
the openai SDK."""

from __future__ import annotations

import asyncio
import json
import sys

import msgspec
import openai
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2 import service_account

from gateway import google_auth
from gateway.config import describe, load_config
from providers import gemini
from providers.core import Call, ConfigError, Error
from tests.fakes.vertex_api import FakeTokenEndpoint, FakeVertex, service_account_key

KEY = "vertex-express-key"
PROJECT = "aoa-test-project"


@pytest.fixture
def google(serve, tmp_path):
    """A started fake token endpoint and fake Vertex, and a key file naming the endpoint."""

    def start(*, expires_in: int = 3600, **fake_kw):
        token_app = FakeTokenEndpoint(None, "", expires_in=expires_in)  # type: ignore[arg-type]
        tok = serve(token_app.app())
        token_app.url = tok.url
        info, public = service_account_key(tok.url + "/token", PROJECT)
        token_app.public_key, token_app.email = public, info["client_email"]
        fake = FakeVertex(key=KEY, tokens=token_app, project=PROJECT, **fake_kw)
        up = serve(fake.app())
        fake.base_url = up.url
        path = tmp_path / "sa.json"
        path.write_text(json.dumps(info))
        return fake, token_app, info, str(path)

    return start


# --- the fakes are faithful -----------------------------------------------------------------------


def test_fake_vertex_with_genai_express_mode(google):
    fake, _, _, _ = google()
    client = genai.Client(vertexai=True, api_key=KEY, http_options=types.HttpOptions(base_url=fake.base_url, api_version="v1"))
    r = client.models.generate_content(model="gemini-2.5-flash", contents="hello vertex")
    assert r.text == "echo: hello vertex"
    assert fake.last.path == "/v1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert fake.last.headers["x-goog-api-key"] == KEY
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="a b"))
    assert "".join(c.text for c in chunks) == "echo: a b" and fake.last.query == {"alt": "sse"}
    e = client.models.embed_content(model="text-embedding-005", contents=["one", "two"], config=types.EmbedContentConfig(output_dimensionality=3, task_type="RETRIEVAL_QUERY"))
    assert [len(x.values) for x in e.embeddings] == [3, 3]
    assert fake.last.path == "/v1/publishers/google/models/text-embedding-005:predict"
    assert fake.last.json == {"instances": [{"content": "one", "task_type": "RETRIEVAL_QUERY"}, {"content": "two", "task_type": "RETRIEVAL_QUERY"}], "parameters": {"outputDimensionality": 3}}
    bad = genai.Client(vertexai=True, api_key="wrong", http_options=types.HttpOptions(base_url=fake.base_url, api_version="v1"))
    with pytest.raises(errors.ClientError) as exc:
        bad.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert exc.value.code == 401


def test_fake_vertex_and_token_endpoint_with_genai_and_google_auth(google):
    fake, tokens, info, _ = google()
    creds = service_account.Credentials.from_service_account_info(info, scopes=[google_auth.SCOPE])
    client = genai.Client(vertexai=True, project=PROJECT, location="us-central1", credentials=creds,
                          http_options=types.HttpOptions(base_url=fake.base_url, api_version="v1"))
    r = client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert r.text == "echo: hi"
    assert tokens.issued == ["ya29.fake-1"]  # google-auth's own JWT was accepted
    assert fake.last.path == f"/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert fake.last.headers["Authorization"] == "Bearer ya29.fake-1"
    # Google's publisher models are listed on v1beta1 only (the SDK's default Vertex version).
    beta = genai.Client(vertexai=True, project=PROJECT, location="us-central1", credentials=creds,
                        http_options=types.HttpOptions(base_url=fake.base_url, api_version="v1beta1"))
    names = [m.name for m in beta.models.list(config={"query_base": True})]
    assert names[:2] == ["publishers/google/models/gemini-2.5-flash", "publishers/google/models/gemini-2.5-pro"]
    # A JWT signed by another key is refused as Google refuses it.
    other, _ = service_account_key(info["token_uri"], PROJECT)
    stranger = service_account.Credentials.from_service_account_info({**other, "client_email": info["client_email"]}, scopes=[google_auth.SCOPE])
    with pytest.raises(Exception, match="invalid_grant"):
        genai.Client(vertexai=True, project=PROJECT, location="us-central1", credentials=stranger,
                     http_options=types.HttpOptions(base_url=fake.base_url, api_version="v1")).models.generate_content(model="gemini-2.5-flash", contents="x")


# --- aoa in express mode --------------------------------------------------------------------------


def test_express_mode_chat_stream_embeddings_models(google, aoa_server):
    fake, _, _, _ = google()
    srv = aoa_server({"AOA_TYPE": "gemini", "GEMINI_VERTEX": "true", "GEMINI_API_KEY": KEY, "GEMINI_ENDPOINT": fake.base_url})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    r = c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi there"}])
    assert r.choices[0].message.content == "echo: hi there"
    assert fake.last.path == "/v1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert fake.last.headers["x-goog-api-key"] == KEY and "Authorization" not in fake.last.headers
    chunks = list(c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "a b"}], stream=True))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "echo: a b"
    e = c.embeddings.create(model="gemini-embedding-001", input=["one", "three"], dimensions=3, encoding_format="float")
    assert len(e.data) == 2 and all(abs(sum(x * x for x in d.embedding) - 1) < 1e-6 for d in e.data)
    predicts = [rec for rec in fake.requests if rec.path.endswith(":predict")]
    assert len(predicts) == 2 and all(len(rec.json["instances"]) == 1 for rec in predicts)  # one per call
    assert e.usage.prompt_tokens == 2
    assert [m.id for m in c.models.list()] == ["gemini-2.5-flash"]  # express mode has no list


# --- aoa with a service account -------------------------------------------------------------------


def _sa_env(fake, path, **extra):
    return {"AOA_TYPE": "gemini", "GEMINI_VERTEX": "true", "GEMINI_VERTEX_LOCATION": "us-central1",
            "GOOGLE_APPLICATION_CREDENTIALS": path, "GEMINI_ENDPOINT": fake.base_url, **extra}


async def test_service_account_tokens_minted_once_and_used(google, aoa_server):
    fake, tokens, _, path = google()
    srv = aoa_server(_sa_env(fake, path))
    ac = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    answers = await asyncio.gather(*(ac.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": f"q{i}"}]) for i in range(5)))
    assert sorted(a.choices[0].message.content for a in answers) == [f"echo: q{i}" for i in range(5)]
    assert tokens.issued == ["ya29.fake-1"]  # one exchange for a burst of five
    gen = [rec for rec in fake.requests if rec.path.endswith(":generateContent")]
    assert all(rec.headers["Authorization"] == "Bearer ya29.fake-1" and "x-goog-api-key" not in rec.headers for rec in gen)
    assert gen[0].path == f"/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    stream = await ac.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "s t"}], stream=True)
    assert "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices]) == "echo: s t"
    models = [m.id async for m in ac.models.list()]
    assert {"gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"} <= set(models)
    assert fake.last.path == "/v1beta1/publishers/google/models"


def test_service_account_token_refreshed_before_expiry(google, aoa_server):
    # A token that lives less than the refresh margin is replaced on every use.
    fake, tokens, _, path = google(expires_in=60)
    srv = aoa_server(_sa_env(fake, path))
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    for i in range(3):
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert tokens.issued == ["ya29.fake-1", "ya29.fake-2", "ya29.fake-3"]
    assert fake.last.headers["Authorization"] == "Bearer ya29.fake-3"


def test_token_endpoint_refusal_is_a_clear_502(google, aoa_server):
    fake, tokens, info, path = google()
    tokens.fail_next = 400
    srv = aoa_server(_sa_env(fake, path))
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    with pytest.raises(openai.APIStatusError) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 502 and exc.value.body["code"] == "upstream_auth_failed"
    assert "invalid_grant" in exc.value.body["message"] and "PRIVATE KEY" not in exc.value.body["message"]
    assert not [rec for rec in fake.requests if rec.path.endswith(":generateContent")]
    r = c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "again"}])
    assert r.choices[0].message.content == "echo: again"  # the next request tries again


def test_token_source_refresh_margin_with_a_clock(google):
    _, _, _, path = google()
    account = google_auth.load({"GOOGLE_APPLICATION_CREDENTIALS": path}, gemini.load_settings({"GEMINI_VERTEX": "true"}))
    now = [1_000_000.0]
    src = google_auth.TokenSource(account, None, clock=lambda: now[0])  # type: ignore[arg-type]
    minted: list[float] = []

    async def exchange():
        minted.append(now[0])
        return f"t{len(minted)}", now[0] + 3600

    src._exchange = exchange  # the exchange itself is tested against the fake endpoint above

    async def run():
        first = await src.token()
        now[0] += 3600 - google_auth.REFRESH_MARGIN - 1  # just outside the margin: kept
        assert await src.token() == first
        now[0] += 2  # inside the margin: replaced before it expires
        assert await src.token() == "t2"
        # Concurrent callers at expiry share one exchange.
        now[0] += 3600
        assert set(await asyncio.gather(*(src.token() for _ in range(10)))) == {"t3"}

    asyncio.run(run())
    assert len(minted) == 3


def test_assertion_is_a_verifiable_rs256_jwt(google):
    _, tokens, info, path = google()
    account = google_auth.load({"GOOGLE_APPLICATION_CREDENTIALS": path}, gemini.load_settings({"GEMINI_VERTEX": "true"}))
    jwt = google_auth.assertion(account, 1_700_000_000)
    head, body, sig = jwt.split(".")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def unb64(x):
        import base64
        return base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))

    tokens.public_key.verify(unb64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert json.loads(unb64(head)) == {"alg": "RS256", "typ": "JWT", "kid": info["private_key_id"]}
    assert json.loads(unb64(body)) == {"iss": info["client_email"], "scope": google_auth.SCOPE, "aud": "https://oauth2.googleapis.com/token", "iat": 1_700_000_000, "exp": 1_700_003_600}
    assert "=" not in jwt and "+" not in jwt and "/" not in jwt


# --- configuration --------------------------------------------------------------------------------


def test_vertex_settings_urls_and_headers():
    s = gemini.load_settings({"GEMINI_VERTEX": "true", "GEMINI_API_KEY": "k"})
    assert (s.common.endpoint, s.api_version, s.project) == ("https://aiplatform.googleapis.com", "v1", "")
    call = Call(id="x", created=1, model="gemini-2.5-flash", client_model="", key="k", body=b'{"messages":[{"role":"user","content":"x"}]}')
    out = gemini.chat(s, call)
    assert out.url == "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert out.headers["x-goog-api-key"] == "k"
    s = gemini.load_settings({"GEMINI_VERTEX": "true", "GEMINI_VERTEX_PROJECT": "my-proj-1", "GEMINI_VERTEX_LOCATION": "europe-west4", "GEMINI_API_VER": "v1beta1"})
    out = gemini.chat(s, msgspec.structs.replace(call, key="ya29.t", model="publishers/google/models/gemini-2.5-pro"))
    assert out.url == "https://europe-west4-aiplatform.googleapis.com/v1beta1/projects/my-proj-1/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent"
    assert out.headers["Authorization"] == "Bearer ya29.t" and "x-goog-api-key" not in out.headers
    s = gemini.load_settings({"GEMINI_VERTEX": "true", "GEMINI_VERTEX_PROJECT": "my-proj-1"})
    assert gemini.chat(s, call).url.startswith("https://aiplatform.googleapis.com/v1/projects/my-proj-1/locations/global/")
    for bad in ("tunedModels/x", "../x", "publishers/other/models/x"):
        with pytest.raises(Error) as exc:
            gemini.chat(s, msgspec.structs.replace(call, model=bad))
        assert exc.value.status == 400 and exc.value.param == "model"


@pytest.mark.parametrize(("env", "names"), [
    ({"GEMINI_VERTEX_PROJECT": "p-12345"}, "GEMINI_VERTEX is not true"),
    ({"GEMINI_VERTEX": "true", "GEMINI_VERTEX_PROJECT": "Bad Project"}, "GEMINI_VERTEX_PROJECT"),
    ({"GEMINI_VERTEX": "true", "GEMINI_VERTEX_LOCATION": "us central"}, "GEMINI_VERTEX_LOCATION"),
    ({"GEMINI_VERTEX": "true", "GEMINI_API_KEY": "k", "GEMINI_VERTEX_PROJECT": "p-12345"}, "not both"),
    ({"GEMINI_VERTEX": "true", "GEMINI_API_VER": "v1beta"}, "GEMINI_API_VER"),
    ({"GEMINI_VERTEX": "maybe"}, "GEMINI_VERTEX"),
])
def test_vertex_settings_refuse_bad_values(env, names):
    with pytest.raises(ConfigError, match=names):
        gemini.load_settings(env)


def test_service_account_config_errors(tmp_path, google):
    _, _, info, path = google()
    base = {"AOA_TYPE": "gemini", "GEMINI_VERTEX": "true"}
    with pytest.raises(ConfigError, match="needs a service-account key"):
        load_config({**base, "GEMINI_VERTEX_PROJECT": "p-12345"})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config({**base, "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing.json")})
    user = tmp_path / "adc.json"
    user.write_text(json.dumps({"type": "authorized_user", "refresh_token": "r"}))
    with pytest.raises(ConfigError, match="not a service-account key"):
        load_config({**base, "GOOGLE_APPLICATION_CREDENTIALS": str(user)})
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**info, "private_key": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"}))
    with pytest.raises(ConfigError, match="private key"):
        load_config({**base, "GEMINI_VERTEX_CREDENTIALS": str(broken)})
    remote = tmp_path / "remote.json"
    remote.write_text(json.dumps({**info, "token_uri": "http://example.com/token"}))
    with pytest.raises(ConfigError, match="token_uri"):
        load_config({**base, "GEMINI_VERTEX_CREDENTIALS": str(remote)})
    # Valid: the project comes from the key file; --check shows the account, never the key.
    config = load_config({**base, "GOOGLE_APPLICATION_CREDENTIALS": path})
    assert config.settings.project == PROJECT
    shown = json.dumps(describe(config))
    assert info["client_email"] in shown and "PRIVATE KEY" not in shown
    # Express mode with the client's key needs no file at all.
    assert load_config(base).credential is None


def test_missing_crypto_extra_is_one_clear_line(monkeypatch, google):
    _, _, _, path = google()
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.serialization", None)
    with pytest.raises(ConfigError) as exc:
        load_config({"AOA_TYPE": "gemini", "GEMINI_VERTEX": "true", "GOOGLE_APPLICATION_CREDENTIALS": path})
    assert "aoa[vertex]" in str(exc.value) and "\n" not in str(exc.value)


def test_vertex_models_and_embeddings_translation():
    s = gemini.load_settings({"GEMINI_VERTEX": "true", "GEMINI_VERTEX_PROJECT": "my-proj-1"})
    call = Call(id="m", created=1, model="text-embedding-005", client_model="", key="t",
                body=json.dumps({"input": [f"t{i}" for i in range(120)], "dimensions": 256}).encode())
    outs = gemini.embeddings(s, call)
    assert [len(json.loads(o.body)["instances"]) for o in outs] == [50, 50, 20]
    assert outs[0].url.endswith("/publishers/google/models/text-embedding-005:predict")
    assert json.loads(outs[0].body)["parameters"] == {"outputDimensionality": 256}
    with pytest.raises(Error) as exc:
        gemini.embeddings_result(s, call, [b'{"predictions":[{}]}'])
    assert exc.value.status == 502
    page = gemini.models(s, call, "tok/1")
    assert page.url == "https://aiplatform.googleapis.com/v1beta1/publishers/google/models?pageSize=1000&pageToken=tok%2F1"
    assert gemini.models_result(s, b'{"publisherModels":[{"name":"publishers/google/models/gemini-2.5-flash"}],"nextPageToken":"n"}') == (["gemini-2.5-flash"], "n")
    assert gemini.models(gemini.load_settings({"GEMINI_VERTEX": "true"}), call, None) is None


def test_conformance_on_vertex_with_a_service_account(google, aoa_server):
    """The checklist items that depend on the upstream, on Vertex's project endpoints."""
    fake, _, _, path = google()
    srv = aoa_server(_sa_env(fake, path))
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    ask = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "weather?"}], "tools": tools, "tool_choice": "required"}
    # 1, 2, 4: the same tool call stream and not, one finish reason, arguments a JSON string.
    whole = c.chat.completions.create(**ask)
    call = whole.choices[0].message.tool_calls[0]
    assert whole.choices[0].finish_reason == "tool_calls" and json.loads(call.function.arguments) == {"city": "Paris"}
    chunks = list(c.chat.completions.create(**ask, stream=True, stream_options={"include_usage": True}))
    deltas = [tc for ch in chunks if ch.choices for tc in ch.choices[0].delta.tool_calls or ()]
    assert [d.index for d in deltas] == [0] and deltas[0].id and deltas[0].function.name == "weather"
    assert json.loads(deltas[0].function.arguments) == {"city": "Paris"}
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == ["tool_calls"]
    # 3: the usage chunk comes last, with no choices.
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    # 5: the tool result goes back under the function's name, with Gemini's signature restored.
    follow = c.chat.completions.create(model="gemini-2.5-flash", messages=[
        *ask["messages"], whole.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'}], tools=tools)
    sent = fake.last.json["contents"]
    assert sent[1]["parts"][0]["functionCall"]["name"] == "weather" and sent[1]["parts"][0]["thoughtSignature"]
    assert sent[2]["parts"][0]["functionResponse"] == {"name": "weather", "response": {"temp": 21}}
    assert follow.choices[0].finish_reason == "stop"
    # 8, 9: n and zero values reach Vertex.
    r = c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], n=2, temperature=0, top_p=0, seed=0, max_tokens=5, stop=["x"])
    assert len(r.choices) == 2
    assert fake.last.json["generationConfig"] == {"temperature": 0, "topP": 0, "candidateCount": 2, "maxOutputTokens": 5, "stopSequences": ["x"], "seed": 0}
    # 10: Vertex's errors keep their status class and message.
    fake.reply_error(429, "Quota exceeded for aiplatform.googleapis.com.", "RESOURCE_EXHAUSTED")
    with pytest.raises(openai.RateLimitError) as exc:
        c.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    assert "Quota exceeded" in exc.value.message and exc.value.body["code"] == "RESOURCE_EXHAUSTED"
