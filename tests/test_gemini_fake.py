"""The fake Gemini upstream is faithful: the official `google-genai` SDK talks to it and reads
its answers (generate, SSE stream, embeddings, paginated model list, error envelope)."""

from __future__ import annotations

import base64

import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.gemini_api import SIGNATURE, FakeGemini

KEY = "gemini-test-key"


@pytest.fixture
def gemini(serve):
    fake = FakeGemini(key=KEY, page_size=2)
    up = serve(fake.app())
    client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=up.url, api_version="v1beta"))
    return fake, client


def test_generate_content(gemini):
    fake, client = gemini
    r = client.models.generate_content(model="gemini-2.5-flash", contents="hello there", config=types.GenerateContentConfig(temperature=0, candidate_count=2))
    assert r.text == "echo: hello there"
    assert len(r.candidates) == 2 and r.candidates[1].index == 1
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.usage_metadata.total_token_count == 5
    assert fake.last.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert fake.last.headers["x-goog-api-key"] == KEY
    assert fake.last.json["generationConfig"] == {"temperature": 0, "candidateCount": 2}


def test_generate_content_function_call_signature(gemini):
    fake, client = gemini
    tool = types.Tool(function_declarations=[types.FunctionDeclaration(name="get_weather", parameters_json_schema={"type": "object"})])
    config = types.GenerateContentConfig(tools=[tool], tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")), automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    r = client.models.generate_content(model="gemini-2.5-flash", contents="weather?", config=config)
    part = r.candidates[0].content.parts[0]
    assert part.function_call.name == "get_weather" and part.function_call.args == {"city": "Paris"}
    # The SDK decodes the signature's base64 into bytes: the fake sends valid base64.
    assert part.thought_signature and isinstance(part.thought_signature, bytes)
    assert base64.b64encode(part.thought_signature).decode() == SIGNATURE
    # This SDK version sends `parameters_json_schema` (proto JSON accepts either spelling).
    decl = fake.last.json["tools"][0]["functionDeclarations"][0]
    assert decl["name"] == "get_weather"


def test_generate_content_stream(gemini):
    fake, client = gemini
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="a b c"))
    assert "".join(c.text for c in chunks) == "echo: a b c"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert fake.last.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert fake.last.query == {"alt": "sse"}


def test_scripted_stream_is_crlf_framed(gemini):
    fake, client = gemini
    fake.reply_sse([{"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP", "index": 0}]}])
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
    assert [c.text for c in chunks] == ["hi"]


def test_embed_content(gemini):
    fake, client = gemini
    r = client.models.embed_content(model="gemini-embedding-001", contents=["one", "three"], config=types.EmbedContentConfig(output_dimensionality=3))
    assert [len(e.values) for e in r.embeddings] == [3, 3]
    assert r.embeddings[0].values != r.embeddings[1].values
    assert fake.last.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert fake.last.json["requests"][0]["model"] == "models/gemini-embedding-001"


def test_models_list_paginates(gemini):
    fake, client = gemini
    names = [m.name for m in client.models.list(config={"page_size": 2})]
    assert names == ["models/gemini-2.5-flash", "models/gemini-2.5-pro", "models/gemini-embedding-001"]
    assert fake.last.query.get("pageToken") == "2"


def test_error_envelope(gemini):
    fake, client = gemini
    fake.reply_error(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED")
    with pytest.raises(errors.ClientError) as exc:
        client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert exc.value.code == 429 and exc.value.status == "RESOURCE_EXHAUSTED"
    bad = genai.Client(api_key="wrong", http_options=types.HttpOptions(base_url=client._api_client._http_options.base_url, api_version="v1beta"))
    with pytest.raises(errors.ClientError) as exc:
        bad.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert exc.value.code == 400 and "API key not valid" in exc.value.message


def test_gemini3_unsigned_function_call_refused_like_google(gemini):
    fake, client = gemini
    call = types.Part(function_call=types.FunctionCall(name="get_weather", args={"city": "Paris"}))
    answer = types.Part(function_response=types.FunctionResponse(name="get_weather", response={"result": "sunny"}))
    history = [types.Content(role="user", parts=[types.Part(text="weather?")]), types.Content(role="model", parts=[call]), types.Content(role="user", parts=[answer])]
    with pytest.raises(errors.ClientError) as exc:
        client.models.generate_content(model="gemini-3-flash-preview", contents=history)
    assert exc.value.code == 400 and "thought_signature" in exc.value.message
    # Older models do not check; Google's dummy signature and a real one are accepted.
    client.models.generate_content(model="gemini-2.5-flash", contents=history)
    for sig in (b"skip_thought_signature_validator", b"\x01real"):
        signed = types.Part(function_call=call.function_call, thought_signature=sig)
        r = client.models.generate_content(model="gemini-3-flash-preview", contents=[history[0], types.Content(role="model", parts=[signed]), history[2]])
        assert r.text.startswith("echo")
    # Gemini 3 signs its text answers; the SDK decodes the signature.
    assert r.candidates[0].content.parts[-1].thought_signature


def test_thinking_level_checks(gemini):
    fake, client = gemini
    level = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_level="low"))
    client.models.generate_content(model="gemini-3-pro-preview", contents="x", config=level)
    # This SDK version sends the snake_case spelling (proto JSON takes both; aoa sends camelCase).
    assert fake.last.json["generationConfig"]["thinkingConfig"] in ({"thinkingLevel": "LOW"}, {"thinking_level": "LOW"})
    with pytest.raises(errors.ClientError):
        client.models.generate_content(model="gemini-2.5-flash", contents="x", config=level)
    with pytest.raises(errors.ClientError):
        client.models.generate_content(model="gemini-2.5-pro", contents="x", config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0)))


def test_embed_task_type(gemini):
    fake, client = gemini
    client.models.embed_content(model="gemini-embedding-001", contents=["a"], config=types.EmbedContentConfig(task_type="RETRIEVAL_DOCUMENT", title="t"))
    assert fake.last.json["requests"][0]["taskType"] == "RETRIEVAL_DOCUMENT"
    with pytest.raises(errors.ClientError):
        client.models.embed_content(model="gemini-embedding-001", contents=["a"], config=types.EmbedContentConfig(task_type="NOPE"))
