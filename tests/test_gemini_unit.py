"""Pure translation tests for providers/gemini.py: fixture folders (tests/fixtures/gemini, sources
in its SOURCE.md) and tables."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from gateway.sse import SSEDecoder
from providers import gemini, oai
from providers.core import Call, ConfigError, Error, NeedMedia

FIXTURES = Path(__file__).parent / "fixtures" / "gemini"
CASES = sorted(p for p in FIXTURES.iterdir() if p.is_dir())
S = gemini.load_settings({})


def _call(body: dict | None = None, **kw) -> Call:
    body = body or {"messages": [{"role": "user", "content": "x"}]}
    fields = {k: msgspec.Raw(msgspec.json.encode(v)) for k, v in body.items()}
    opts = {"id": "chatcmpl-fixture", "created": 1700000000, "model": body.get("model", "gemini-2.5-flash"), "client_model": body.get("model", ""), "key": "k", "stream": bool(body.get("stream")), "include_usage": bool((body.get("stream_options") or {}).get("include_usage")), **kw}
    return Call(body=msgspec.json.encode(body), fields=fields, **opts)


def _load(case: Path, name: str):
    path = case / name
    return json.loads(path.read_text()) if path.exists() else None


def _stream(case: Path, call: Call) -> list[dict]:
    state = gemini.ChatStream(S, call)
    dec = SSEDecoder()
    out = []
    for event, data in dec.feed((case / "upstream.sse").read_bytes()) + dec.close():
        out += state.feed(event, data)
    out += state.close()
    return [json.loads(p) for p in out]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_fixture(case: Path):
    request = _load(case, "request.json")
    call = _call(request)
    checked = 0
    if request is not None and (expected := _load(case, "upstream_request.json")) is not None:
        out = gemini.chat(S, call)
        assert json.loads(out.body) == expected
        assert out.stream == call.stream
        checked += 1
    if (upstream := _load(case, "upstream_response.json")) is not None:
        body = json.dumps(upstream).encode()
        if (err := _load(case, "expected_error.json")) is not None:
            with pytest.raises(Error) as exc:
                gemini.chat_result(S, call, body)
            assert (exc.value.status, exc.value.code) == (err["status"], err["code"])
            assert err["message_contains"] in exc.value.message
        else:
            assert json.loads(gemini.chat_result(S, call, body)) == _load(case, "expected.json")
        checked += 1
    if (case / "upstream.sse").exists():
        assert _stream(case, call) == _load(case, "expected_chunks.json")
        checked += 1
    assert checked, f"{case.name} checks nothing"


# --- tables and policy -----------------------------------------------------------------------


def test_policy_covers_every_request_field():
    assert gemini.MAPPED | gemini.IGNORED | gemini.UNSUPPORTED == oai.CHAT_REQUEST_FIELDS
    assert not (gemini.MAPPED & gemini.IGNORED or gemini.MAPPED & gemini.UNSUPPORTED or gemini.IGNORED & gemini.UNSUPPORTED)


@pytest.mark.parametrize("name", sorted(gemini.UNSUPPORTED))
def test_unsupported_fields_are_refused_by_name(name):
    value = {"logit_bias": {"1": 2}, "audio": {"voice": "alloy", "format": "wav"}, "modalities": ["text", "audio"], "prediction": {"type": "content", "content": "x"}, "web_search_options": {}, "verbosity": "low"}[name]
    with pytest.raises(Error) as exc:
        gemini.chat(S, _call({"messages": [{"role": "user", "content": "x"}], name: value}))
    assert exc.value.status == 400 and exc.value.param == name


def test_neutral_values_of_unsupported_fields_pass():
    gemini.chat(S, _call({"messages": [{"role": "user", "content": "x"}], "modalities": ["text"], "logit_bias": {}}))


@pytest.mark.parametrize("raw", sorted(gemini.FINISH_REASON))
def test_finish_reason_table(raw):
    assert gemini.finish_reason(raw, False) == gemini.FINISH_REASON[raw]
    assert gemini.finish_reason(raw, True) == "tool_calls"


def test_finish_reason_fallback():
    assert gemini.finish_reason("SOMETHING_NEW", False) == gemini.FINISH_FALLBACK == "stop"
    assert gemini.finish_reason(None, False) == "stop"


@pytest.mark.parametrize(("effort", "config"), [
    ("none", {"thinkingBudget": 0}),
    ("minimal", {"includeThoughts": True, "thinkingBudget": 512}),
    ("low", {"includeThoughts": True, "thinkingBudget": 1024}),
    ("medium", {"includeThoughts": True, "thinkingBudget": 8192}),
    ("high", {"includeThoughts": True, "thinkingBudget": 24576}),
])
def test_reasoning_effort_table(effort, config):
    out = gemini.chat(S, _call({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": effort}))
    assert json.loads(out.body)["generationConfig"] == {"thinkingConfig": config}


def test_reasoning_effort_unknown_value():
    with pytest.raises(Error) as exc:
        gemini.chat(S, _call({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "max"}))
    assert exc.value.param == "reasoning_effort"


@pytest.mark.parametrize(("choice", "config"), [
    ("none", {"mode": "NONE"}),
    ("auto", {"mode": "AUTO"}),
    ("required", {"mode": "ANY"}),
    ({"type": "function", "function": {"name": "f"}}, {"mode": "ANY", "allowedFunctionNames": ["f"]}),
])
def test_tool_choice_table(choice, config):
    body = {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": choice}
    assert json.loads(gemini.chat(S, _call(body)).body)["toolConfig"] == {"functionCallingConfig": config}


@pytest.mark.parametrize("signature", [None, "", "CiIBVKhc7vB+vaaq6rA/KC79Ts==", "x" * 3000])
def test_tool_call_id_round_trip(signature):
    call = _call()
    tid = gemini.tool_call_id(call, 1, 2, signature)
    assert tid.startswith("call_") and tid == gemini.tool_call_id(call, 1, 2, signature)  # deterministic
    assert gemini.signature_of(tid) == (signature or None)
    assert all(ch.isalnum() or ch in "_-" for ch in tid)
    assert tid != gemini.tool_call_id(call, 1, 3, signature)


def test_signature_of_foreign_ids():
    assert gemini.signature_of("call_abc") is None
    assert gemini.signature_of("toolu_01A09q90qw90lq917835lq9") is None


# --- settings --------------------------------------------------------------------------------


def test_settings_defaults_and_validation():
    s = gemini.load_settings({})
    assert (s.common.endpoint, s.api_version, s.common.model, s.safety) == ("https://generativelanguage.googleapis.com", "v1beta", "gemini-2.5-flash", "")
    s = gemini.load_settings({"GEMINI_ENDPOINT": "https://proxy.example/google/", "GEMINI_API_VER": "v1", "GEMINI_SAFETY": "block_only_high"})
    assert (s.common.endpoint, s.api_version, s.safety) == ("https://proxy.example/google", "v1", "BLOCK_ONLY_HIGH")
    out = gemini.chat(s, _call())
    assert out.url == "https://proxy.example/google/v1/models/gemini-2.5-flash:generateContent"
    with pytest.raises(ConfigError, match="GEMINI_API_VER"):
        gemini.load_settings({"GEMINI_API_VER": "v2"})
    with pytest.raises(ConfigError, match="GEMINI_SAFETY"):
        gemini.load_settings({"GEMINI_SAFETY": "BLOCK_SOME"})


def test_stream_url_and_headers():
    out = gemini.chat(S, _call({"messages": [{"role": "user", "content": "x"}], "stream": True}))
    assert out.url.endswith("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse") and out.stream
    assert out.headers["x-goog-api-key"] == "k" and "key=" not in out.url
    assert "x-goog-api-key" not in gemini.chat(S, _call(key="")).headers


# --- requests --------------------------------------------------------------------------------


def test_http_image_needs_media_then_inlines():
    from providers.core import Media

    body = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}]}]}
    with pytest.raises(NeedMedia) as exc:
        gemini.chat(S, _call(body))
    assert exc.value.urls == ["https://example.com/a.jpg"]
    out = gemini.chat(S, _call(body, media={"https://example.com/a.jpg": Media("image/jpeg", b"\xff\xd8")}))
    assert json.loads(out.body)["contents"][0]["parts"] == [{"inlineData": {"mimeType": "image/jpeg", "data": "/9g="}}]


@pytest.mark.parametrize(("part", "param"), [
    ({"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}, "messages[0].content[1]"),
    ({"type": "image_url", "image_url": {"url": "data:image/png,notbase64"}}, "messages[0].content[1]"),
    ({"type": "input_audio", "input_audio": {"data": "AA==", "format": "midi"}}, "messages[0].content[1]"),
    ({"type": "file", "file": {"file_id": "file-abc"}}, "messages[0].content[1]"),
    ({"type": "file", "file": {"file_data": "data:application/zip;base64,UEsDBA=="}}, "messages[0].content[1]"),
    ({"type": "file", "file": {"file_data": "UEsDBA==", "filename": "a.docx"}}, "messages[0].content[1]"),
    ({"type": "video_url", "video_url": {"url": "ftp://x/y.mp4"}}, "messages[0].content[1]"),
    ({"type": "video_url", "video_url": {"url": "data:image/png;base64,AAAA"}}, "messages[0].content[1]"),
])
def test_unusable_parts_name_their_place(part, param):
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}, part]}]}
    with pytest.raises(Error) as exc:
        gemini.chat(S, _call(body))
    assert exc.value.status == 400 and exc.value.param == param


def test_only_system_messages_refused():
    with pytest.raises(Error) as exc:
        gemini.chat(S, _call({"messages": [{"role": "system", "content": "x"}]}))
    assert exc.value.param == "messages"


def test_assistant_only_conversation_becomes_user_turn():
    out = gemini.chat(S, _call({"messages": [{"role": "assistant", "content": "Once upon a time"}]}))
    assert json.loads(out.body)["contents"] == [{"role": "user", "parts": [{"text": "Once upon a time"}]}]


# --- responses and streams -------------------------------------------------------------------


def test_usage_mapping():
    u = gemini.usage(gemini.UsageMetadata(prompt_token_count=10, candidates_token_count=5, thoughts_token_count=7, cached_content_token_count=4, total_token_count=22))
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (10, 12, 22)
    assert u.completion_tokens_details.reasoning_tokens == 7 and u.prompt_tokens_details.cached_tokens == 4


def test_logprobs_mapping():
    body = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}, "finishReason": "STOP", "logprobsResult": {
        "chosenCandidates": [{"token": "Hi", "logProbability": -0.1}],
        "topCandidates": [{"candidates": [{"token": "Hi", "logProbability": -0.1}, {"token": "Hey", "logProbability": -2.5}]}]}}]}
    r = json.loads(gemini.chat_result(S, _call(), json.dumps(body).encode()))
    assert r["choices"][0]["logprobs"]["content"] == [{"token": "Hi", "logprob": -0.1, "bytes": None, "top_logprobs": [
        {"token": "Hi", "logprob": -0.1, "bytes": None}, {"token": "Hey", "logprob": -2.5, "bytes": None}]}]


def _feed(events: list[dict], call: Call | None = None) -> list[dict]:
    state = gemini.ChatStream(S, call or _call({"messages": [], "stream": True}))
    out = []
    for e in events:
        out += state.feed("", json.dumps(e).encode())
    out += state.close()
    return [json.loads(p) for p in out]


def test_stream_finish_reason_repeated_on_every_chunk_is_reported_once():
    # gemini-1.0 streams said STOP on every chunk.
    events = [{"candidates": [{"content": {"role": "model", "parts": [{"text": t}]}, "finishReason": "STOP", "index": 0}]} for t in ("a", "b", "c")]
    chunks = _feed(events)
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"][0]["finish_reason"]]
    assert finishes == ["stop"]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "abc"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in c for c in chunks)


def test_stream_ending_without_finish_reason_is_an_error():
    with pytest.raises(Error) as exc:
        _feed([{"candidates": [{"content": {"role": "model", "parts": [{"text": "a"}]}, "index": 0}]}])
    assert exc.value.status == 502
    with pytest.raises(Error):
        _feed([])


def test_stream_error_event_and_error_body():
    state = gemini.ChatStream(S, _call({"messages": [], "stream": True}))
    with pytest.raises(Error) as exc:
        state.feed("error", b'{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}')
    assert (exc.value.status, exc.value.code, exc.value.message) == (429, "RESOURCE_EXHAUSTED", "quota")


@pytest.mark.parametrize(("status", "body", "expected"), [
    (400, b'{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}', (400, "INVALID_ARGUMENT", "API key not valid.")),
    (404, b'[{"error":{"code":404,"message":"not found","status":"NOT_FOUND"}}]', (404, "NOT_FOUND", "not found")),
    (503, b"<html>Service Unavailable</html>", (503, "upstream_error", "Gemini answered HTTP 503 with a body aoa cannot read.")),
])
def test_error_translation(status, body, expected):
    err = gemini.error(status, body)
    assert (err.status, err.code, err.message) == expected


def test_models_result_strips_prefix():
    body = b'{"models":[{"name":"models/gemini-2.5-flash"},{"name":"models/embedding-001"}],"nextPageToken":"abc"}'
    assert gemini.models_result(S, body) == (["gemini-2.5-flash", "embedding-001"], "abc")
    assert gemini.models_result(S, b'{"models":[]}') == ([], None)
    out = gemini.models(S, _call(), "a/b=")
    assert out.method == "GET" and out.url.endswith("/v1beta/models?pageSize=1000&pageToken=a%2Fb%3D")


def test_embeddings_count_mismatch_is_502():
    call = _call({"model": "gemini-embedding-001", "input": ["a", "b"]})
    with pytest.raises(Error) as exc:
        gemini.embeddings_result(S, call, [b'{"embeddings":[{"values":[1.0]}]}'])
    assert exc.value.status == 502
    body = gemini.embeddings_result(S, call, [b'{"embeddings":[{"values":[1.0]},{"values":[2.0]}],"usageMetadata":{"promptTokenCount":14}}'])
    assert json.loads(body)["usage"] == {"prompt_tokens": 14, "total_tokens": 14}


def test_stream_empty_text_part_with_signature_carries_only_the_signature():
    # Gemini 2.5 may end a stream with {"text": "", "thoughtSignature": ...} beside finishReason.
    events = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}, "index": 0}]},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "", "thoughtSignature": "c2ln"}]}, "finishReason": "STOP", "index": 0}]},
    ]
    chunks = _feed(events)
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": "Hi"}, {"extra_content": {"google": {"thought_signature": "c2ln"}}}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("gemini_id", [None, "abc-123", "x__ts__y"])
def test_gemini_function_call_id_round_trip(gemini_id):
    sig = "CiIB__ts__+/=="
    tid = gemini.tool_call_id(_call(), 0, 0, sig, gemini_id)
    assert gemini.gemini_id_of(tid) == gemini_id and gemini.signature_of(tid) == sig


def test_gemini_function_call_id_echoed_in_response():
    body = json.dumps({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"id": "fc-7", "name": "f", "args": {"a": 1}}}]}, "finishReason": "STOP"}]}).encode()
    tc = json.loads(gemini.chat_result(S, _call(), body))["choices"][0]["message"]["tool_calls"][0]
    follow = {"messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [tc]},
        {"role": "tool", "tool_call_id": tc["id"], "content": "ok"},
    ]}
    contents = json.loads(gemini.chat(S, _call(follow)).body)["contents"]
    assert contents[1]["parts"] == [{"functionCall": {"name": "f", "args": {"a": 1}, "id": "fc-7"}}]
    assert contents[2]["parts"] == [{"functionResponse": {"name": "f", "response": {"result": "ok"}, "id": "fc-7"}}]


def test_tool_result_with_an_image_is_refused_not_dropped():
    import pytest as _pytest

    from providers import gemini as _g
    from providers import oai as _oai
    from providers.core import Error as _Error

    messages = _oai.decode_chat(
        b'{"messages":[{"role":"user","content":"hi"},'
        b'{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},'
        b'{"role":"tool","tool_call_id":"call_1","content":[{"type":"text","text":"ok"},'
        b'{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}'
    ).messages
    call = Call(id="chatcmpl-1", created=1, model="m", client_model="m", key="")
    with _pytest.raises(_Error) as info:
        _g.to_contents(call, messages)
    assert info.value.status == 400 and info.value.param == "messages[2].content[1]"


def test_gemini_extras_top_k_and_thinking_budget():
    out = gemini.chat(S, _call({"messages": [{"role": "user", "content": "x"}], "top_k": 0, "thinking_budget": -1, "reasoning_effort": "low"}))
    # Zero is a value; an explicit budget wins over reasoning_effort.
    assert json.loads(out.body)["generationConfig"] == {"topK": 0, "thinkingConfig": {"includeThoughts": True, "thinkingBudget": -1}}
    out = gemini.chat(S, _call({"messages": [{"role": "user", "content": "x"}], "thinking_budget": 0}))
    assert json.loads(out.body)["generationConfig"] == {"thinkingConfig": {"thinkingBudget": 0}}


@pytest.mark.parametrize("name", ["top_k", "thinking_budget"])
def test_gemini_extras_wrong_type_names_the_field(name):
    with pytest.raises(Error) as exc:
        gemini.chat(S, _call({"messages": [{"role": "user", "content": "x"}], name: "many"}))
    assert exc.value.status == 400 and exc.value.param == name


def test_json_schema_without_schema_is_json_mode():
    body = {"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"name": "any"}}}
    assert json.loads(gemini.chat(S, _call(body)).body)["generationConfig"] == {"responseMimeType": "application/json"}


def test_response_without_candidates_is_502():
    with pytest.raises(Error) as exc:
        gemini.chat_result(S, _call(), b'{"usageMetadata":{"promptTokenCount":3},"modelVersion":"gemini-2.5-flash"}')
    assert exc.value.status == 502


def test_stream_text_template_gives_the_bytes_the_structs_give():
    """Text deltas are framed from a per-stream template (providers/gemini/stream.py
    `_text_chunk`); every byte must equal what encoding the chunk Structs gives, whatever the
    text (quotes, escapes, U+2028, emoji, NUL) and whatever modelVersion says (one that mimics
    the template's own marker included)."""
    import random

    rng = random.Random(5)
    alphabet = ['a', ' ', '"', '\\', '\n', '\u2028', '\x00', 'é', '😀', '"content":', '\x00aoa-text\x00', '</script>']
    models = [None, "gemini-2.5-flash", 'm"\\x', "\x00aoa-text\x00", '"content":"\\u0000aoa-text\\u0000"']
    templated = 0
    for include_usage in (False, True):
        for _ in range(60):
            events = []
            for k in range(rng.randint(1, 8)):
                parts = [{"text": "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))} for _ in range(rng.randint(1, 3))]
                if rng.random() < 0.1:
                    parts.append({"text": "t", "thought": True})
                cand = {"content": {"role": "model", "parts": parts}, "index": rng.choice([0, 0, 0, 1])}
                if rng.random() < 0.2:
                    cand["finishReason"] = "STOP"
                event = {"candidates": [cand]}
                if (model := rng.choice(models)) is not None:
                    event["modelVersion"] = model
                events.append(event)
            events.append({"candidates": [{"content": {"role": "model", "parts": [{"text": "."}]}, "finishReason": "STOP", "index": i} for i in (0, 1)]})
            call = _call({"messages": [], "stream": True, "stream_options": {"include_usage": include_usage}})
            fast = gemini.ChatStream(S, call)
            slow = gemini.ChatStream(S, call)
            slow.templated = False  # every chunk through the Structs
            for e in events:
                data = json.dumps(e).encode()
                many: list[bytes] = []
                fast.feed_many([("message", data)], many)
                assert many == slow.feed("", data), e
            assert fast.close() == slow.close()
            templated += len(fast.templates)
    assert templated > 100  # the template path was taken, for many choices and models
