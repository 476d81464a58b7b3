"""Pure translation tests for providers/anthropic: fixture folders (tests/fixtures/anthropic, sources
in its SOURCE.md) and tables."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import msgspec
import pytest

from gateway.sse import SSEDecoder
from providers import anthropic, oai
from providers.anthropic import ids, tables
from providers.core import Call, ConfigError, Error

FIXTURES = Path(__file__).parent / "fixtures" / "anthropic"
CASES = sorted(p for p in FIXTURES.iterdir() if p.is_dir())
S = anthropic.load_settings({})
USER = [{"role": "user", "content": "x"}]


def _call(body: dict | None = None, **kw) -> Call:
    body = body or {"messages": USER}
    fields = {k: msgspec.Raw(msgspec.json.encode(v)) for k, v in body.items()}
    opts = {"id": "chatcmpl-fixture", "created": 1700000000, "model": body.get("model", "claude-sonnet-4-5"), "client_model": body.get("model", ""), "key": "k", "stream": bool(body.get("stream")), "include_usage": bool((body.get("stream_options") or {}).get("include_usage")), **kw}
    return Call(body=msgspec.json.encode(body), fields=fields, **opts)


def _sent(body: dict, s: anthropic.Settings = S, **kw) -> dict:
    return json.loads(anthropic.chat(s, _call(body, **kw)).body)


def _load(case: Path, name: str):
    path = case / name
    return json.loads(path.read_text()) if path.exists() else None


def _stream(raw: bytes, call: Call) -> list[dict]:
    state = anthropic.ChatStream(S, call)
    dec = SSEDecoder()
    out = []
    for event, data in dec.feed(raw) + dec.close():
        out += state.feed(event, data)
    out += state.close()
    return [json.loads(p) for p in out]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_fixture(case: Path):
    request = _load(case, "request.json")
    call = _call(request)
    checked = 0
    if (expected := _load(case, "upstream_request.json")) is not None:
        out = anthropic.chat(S, call)
        assert json.loads(out.body) == expected
        assert out.stream == call.stream and out.url == "https://api.anthropic.com/v1/messages"
        checked += 1
    if (case / "upstream_response.json").exists():
        body = (case / "upstream_response.json").read_bytes()
        if (err := _load(case, "expected_error.json")) is not None:
            e = anthropic.error(err["http_status"], body)
            assert (e.status, e.code) == (err["status"], err["code"])
            assert err["message_contains"] in e.message and "request_id: req_" in e.message
        else:
            assert json.loads(anthropic.chat_result(S, call, body)) == _load(case, "expected.json")
        checked += 1
    if (case / "upstream.sse").exists():
        assert _stream((case / "upstream.sse").read_bytes(), call) == _load(case, "expected_chunks.json")
        checked += 1
    assert checked, f"{case.name} checks nothing"


# --- policy and tables -----------------------------------------------------------------------


def test_policy_covers_every_request_field():
    assert tables.MAPPED | tables.IGNORED | tables.UNSUPPORTED == oai.CHAT_REQUEST_FIELDS
    assert not (tables.MAPPED & tables.IGNORED or tables.MAPPED & tables.UNSUPPORTED or tables.IGNORED & tables.UNSUPPORTED)
    assert set(tables.ONLY) <= tables.MAPPED


@pytest.mark.parametrize(("name", "value"), [
    ("seed", 0), ("audio", {"voice": "alloy", "format": "wav"}), ("prediction", {"type": "content", "content": "x"}),
    ("web_search_options", {}), ("verbosity", "low"),
    ("n", 2), ("logprobs", True), ("top_logprobs", 2), ("presence_penalty", 0.5), ("frequency_penalty", -1),
    ("logit_bias", {"1": 2}), ("modalities", ["text", "audio"]), ("temperature", 1.5), ("temperature", -0.1),
])
def test_refused_fields_are_named(name, value):
    with pytest.raises(Error) as exc:
        _sent({"messages": USER, name: value})
    assert exc.value.status == 400 and exc.value.param == name


def test_neutral_values_pass_and_zero_is_a_value():
    sent = _sent({"messages": USER, "n": 1, "logprobs": False, "presence_penalty": 0, "frequency_penalty": 0, "logit_bias": {}, "modalities": ["text"], "temperature": 0, "top_p": 0.5, "metadata": {"a": "b"}, "store": True, "service_tier": "auto"})
    assert sent["temperature"] == 0 and sent["top_p"] == 0.5
    assert not {"n", "logprobs", "metadata", "store", "service_tier"} & set(sent)


@pytest.mark.parametrize("raw", sorted(tables.FINISH_REASON))
def test_finish_reason_table(raw):
    body = {"id": "msg_1", "type": "message", "model": "m", "content": [{"type": "text", "text": "t"}], "stop_reason": raw}
    out = json.loads(anthropic.chat_result(S, _call(), json.dumps(body).encode()))
    assert out["choices"][0]["finish_reason"] == tables.FINISH_REASON[raw]


def test_finish_reason_fallback():
    assert anthropic.response.finish_reason("something_new") == tables.FINISH_FALLBACK == "stop"


@pytest.mark.parametrize("kind", sorted(tables.ERROR_STATUS))
def test_error_table(kind):
    body = json.dumps({"type": "error", "error": {"type": kind, "message": "m"}}).encode()
    e = anthropic.error(529 if kind == "overloaded_error" else 400, body)
    assert (e.status, e.code, e.message) == (tables.ERROR_STATUS[kind], kind, "m")


def test_error_bodies_that_are_not_anthropic():
    e = anthropic.error(502, b"<html>bad gateway</html>")
    assert e.status == 502 and "bad gateway" in e.message
    e = anthropic.error(529, json.dumps({"type": "error", "error": {"type": "brand_new_error", "message": "m"}}).encode())
    assert e.status == tables.ERROR_FALLBACK_STATUS and e.code == "brand_new_error"
    assert "overloaded_error" in anthropic.RETRY_CODES and "invalid_request_error" not in anthropic.RETRY_CODES


@pytest.mark.parametrize(("model", "version", "structured", "adaptive", "limits"), [
    ("claude-3-opus-20240229", (3, 0), False, False, (4096, 4096)),
    ("claude-3-5-haiku-20241022", (3, 5), False, False, (8192, 8192)),
    ("claude-3-7-sonnet-20250219", (3, 7), False, False, (16384, 64000)),
    ("claude-sonnet-4-0", (4, 0), False, False, (16384, 64000)),
    ("claude-opus-4-20250514", (4, 0), False, False, (16384, 32000)),
    ("claude-opus-4-1", (4, 1), True, False, (16384, 32000)),
    ("claude-sonnet-4-5-20250929", (4, 5), True, False, (16384, 64000)),
    ("claude-haiku-4-5", (4, 5), True, False, (16384, 64000)),
    ("claude-opus-4-6", (4, 6), True, True, (16384, 64000)),
    ("deepseek-chat", None, False, False, (4096, None)),
])
def test_model_families(model, version, structured, adaptive, limits):
    assert tables.version(model) == version
    assert tables.structured_outputs(model) is structured
    assert tables.adaptive_thinking(model) is adaptive
    assert tables.max_tokens(model) == limits


# --- settings, headers, endpoints ------------------------------------------------------------


def test_settings():
    s = anthropic.load_settings({"ANTHROPIC_ENDPOINT": "https://proxy.example/anthropic/v1/", "ANTHROPIC_BETA": "files-api-2025-04-14", "ANTHROPIC_VERSION": "2026-10-21", "ANTHROPIC_MAX_TOKENS": "333", "ANTHROPIC_PROMPT_CACHE": "AUTO"})
    assert (s.common.endpoint, s.beta, s.version, s.max_tokens, s.prompt_cache) == ("https://proxy.example/anthropic", "files-api-2025-04-14", "2026-10-21", 333, "auto")
    out = anthropic.chat(s, _call())
    assert out.url == "https://proxy.example/anthropic/v1/messages"
    assert out.headers == {"Content-Type": "application/json", "anthropic-version": "2026-10-21", "x-api-key": "k", "anthropic-beta": "files-api-2025-04-14"}
    assert json.loads(out.body)["max_tokens"] == 333
    assert "x-api-key" not in anthropic.chat(S, _call(key="")).headers
    for env in ({"ANTHROPIC_PROMPT_CACHE": "always"}, {"ANTHROPIC_MAX_TOKENS": "0"}, {"ANTHROPIC_MAX_TOKENS": "lots"}, {"ANTHROPIC_BETA": "a\nb"}):
        with pytest.raises(ConfigError, match=next(iter(env))):
            anthropic.load_settings(env)


def test_models_pages_and_embeddings():
    first = anthropic.models(S, _call(), None)
    assert first.method == "GET" and first.url == "https://api.anthropic.com/v1/models?limit=1000"
    assert anthropic.models(S, _call(), "claude x").url.endswith("&after_id=claude%20x")
    page = {"data": [{"type": "model", "id": "claude-opus-4-1"}, {"type": "model", "id": "claude-haiku-4-5"}], "has_more": True, "first_id": "claude-opus-4-1", "last_id": "claude-haiku-4-5"}
    assert anthropic.models_result(S, json.dumps(page).encode()) == (["claude-opus-4-1", "claude-haiku-4-5"], "claude-haiku-4-5")
    page["has_more"] = False
    assert anthropic.models_result(S, json.dumps(page).encode())[1] is None
    with pytest.raises(Error) as exc:
        anthropic.models_result(S, b"[]")
    assert exc.value.status == 502
    with pytest.raises(Error) as exc:
        anthropic.embeddings(S, _call({"input": "x"}))
    assert exc.value.status == 400 and exc.value.code == "unsupported_endpoint"


# --- messages and parts ----------------------------------------------------------------------


def test_roles_merge_and_order():
    msgs = [
        {"role": "assistant", "content": "Welcome!"},
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "developer", "content": [{"type": "text", "text": "and kind"}]},
        {"role": "user", "content": "again"},
    ]
    sent = _sent({"messages": msgs})
    assert sent["system"] == [{"type": "text", "text": "be brief"}, {"type": "text", "text": "and kind"}]
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Welcome!"}, {"type": "text", "text": "hi"}, {"type": "text", "text": "again"}]}]
    with pytest.raises(Error) as exc:
        _sent({"messages": [{"role": "system", "content": "only"}]})
    assert exc.value.param == "messages"


def test_tool_results_open_their_user_turn_and_legacy_functions_pair():
    msgs = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "toolu_a", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
            {"id": "toolu_b", "type": "function", "function": {"name": "g", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "toolu_a", "content": "1"},
        {"role": "user", "content": "and?"},
        {"role": "tool", "tool_call_id": "toolu_b", "content": [{"type": "text", "text": "2"}]},
        {"role": "assistant", "content": None, "function_call": {"name": "h", "arguments": "{}"}},
        {"role": "function", "name": "h", "content": "3"},
    ]
    sent = _sent({"messages": msgs})["messages"]
    assert sent[1]["content"] == [{"type": "tool_use", "id": "toolu_a", "name": "f", "input": {"a": 1}}, {"type": "tool_use", "id": "toolu_b", "name": "g", "input": {}}]
    assert [b["type"] for b in sent[2]["content"]] == ["tool_result", "tool_result", "text"]
    assert sent[2]["content"][1] == {"type": "tool_result", "tool_use_id": "toolu_b", "content": [{"type": "text", "text": "2"}]}
    assert sent[3]["content"] == [{"type": "tool_use", "id": "call_legacy_5", "name": "h", "input": {}}]
    assert sent[4]["content"] == [{"type": "tool_result", "tool_use_id": "call_legacy_5", "content": "3"}]


@pytest.mark.parametrize(("msg", "param"), [
    ({"role": "assistant", "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}, "messages[1].tool_calls[0].function.arguments"),
    ({"role": "assistant", "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}, "messages[1].tool_calls[0].function.arguments"),
    ({"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}, "messages[1].content[0]"),
    ({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}, "messages[1].content[0]"),
    ({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,raw"}}]}, "messages[1].content[0]"),
    ({"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}, "messages[1].content[0]"),
    ({"role": "user", "content": [{"type": "file", "file": {"file_data": "data:audio/wav;base64,AAAA"}}]}, "messages[1].content[0]"),
    ({"role": "user", "content": [{"type": "file", "file": {"file_data": "AAAA", "filename": "x.bin"}}]}, "messages[1].content[0]"),
    ({"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}, "messages[1].content[0]"),
    ({"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}, "messages[1].content[0]"),
    ({"role": "function", "name": "nobody", "content": "x"}, "messages[1].name"),
])
def test_unusable_input_names_its_place(msg, param):
    with pytest.raises(Error) as exc:
        _sent({"messages": [{"role": "user", "content": "q"}, msg]})
    assert exc.value.status == 400 and exc.value.param == param


def test_vision_and_documents():
    pdf = base64.b64encode(b"%PDF-1.4 fake").decode()
    text = base64.b64encode("notes: été".encode()).decode()
    parts = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{pdf}", "filename": "paper.pdf"}},
        {"type": "file", "file": {"file_data": text, "filename": "notes.txt"}},
        {"type": "file", "file": {"file_data": "data:image/webp;base64,UklGRg=="}},
    ]
    sent = _sent({"messages": [{"role": "user", "content": parts}]})["messages"][0]["content"]
    assert sent == [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}, "title": "paper.pdf"},
        {"type": "document", "source": {"type": "text", "data": "notes: été", "media_type": "text/plain"}, "title": "notes.txt"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "UklGRg=="}},
    ]


def test_generation_fields():
    sent = _sent({"messages": USER, "max_tokens": 7, "max_completion_tokens": 9, "stop": "END", "user": "u1", "top_k": 5, "top_p": 1})
    assert (sent["max_tokens"], sent["stop_sequences"], sent["metadata"], sent["top_k"], sent["top_p"]) == (9, ["END"], {"user_id": "u1"}, 5, 1)
    assert _sent({"messages": USER, "safety_identifier": "h"})["metadata"] == {"user_id": "h"}
    assert _sent({"messages": USER, "stop": ["a", "b"]})["stop_sequences"] == ["a", "b"]
    with pytest.raises(Error) as exc:
        _sent({"messages": USER, "top_k": "many"})
    assert exc.value.param == "top_k"


# --- tools -----------------------------------------------------------------------------------

TOOLS = [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}, "strict": True}}]


@pytest.mark.parametrize(("choice", "parallel", "expected"), [
    (None, None, None),
    ("auto", None, {"type": "auto"}),
    ("required", None, {"type": "any"}),
    ("none", None, {"type": "none"}),
    ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
    ("none", False, {"type": "none"}),
    (None, True, None),
])
def test_tool_choice_table(choice, parallel, expected):
    body = {"messages": USER, "tools": TOOLS}
    if choice is not None:
        body["tool_choice"] = choice
    if parallel is not None:
        body["parallel_tool_calls"] = parallel
    assert _sent(body).get("tool_choice") == expected


def test_tools_strict_where_supported_and_legacy_functions():
    assert _sent({"messages": USER, "tools": TOOLS})["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}, "description": "d", "strict": True}]
    assert "strict" not in _sent({"model": "claude-3-5-haiku-latest", "messages": USER, "tools": TOOLS})["tools"][0]
    sent = _sent({"messages": USER, "functions": [{"name": "g"}], "function_call": {"name": "g"}})
    assert sent["tools"] == [{"name": "g", "input_schema": {"type": "object", "properties": {}}}]
    assert sent["tool_choice"] == {"type": "tool", "name": "g"}
    for bad in ({"tool_choice": "required"}, {"tools": [{"type": "custom", "custom": {"name": "x"}}]}, {"tools": TOOLS, "tool_choice": "sometimes"}):
        with pytest.raises(Error) as exc:
            _sent({"messages": USER, **bad})
        assert exc.value.param in ("tool_choice", "tools[0]")
    assert "tool_choice" not in _sent({"messages": USER, "tool_choice": "none"})


# --- structured output -----------------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}
RF = {"type": "json_schema", "json_schema": {"name": "place", "schema": SCHEMA, "strict": True}}


def test_json_schema_is_native_on_new_models():
    sent = _sent({"messages": USER, "response_format": RF})
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "tools" not in sent


@pytest.mark.parametrize(("rf", "schema"), [(RF, SCHEMA), ({"type": "json_object"}, {"type": "object"})])
def test_json_answer_tool_fallback(rf, schema):
    model = "claude-3-5-haiku-latest" if rf["type"] == "json_schema" else "claude-sonnet-4-5"
    sent = _sent({"model": model, "messages": USER, "response_format": rf})
    assert sent["tools"][0]["name"] == "json_answer" and sent["tools"][0]["input_schema"] == schema
    assert sent["tool_choice"] == {"type": "tool", "name": "json_answer"}
    call = _call({"model": model, "messages": USER, "response_format": rf})
    upstream = {"id": "msg_1", "type": "message", "model": model, "stop_reason": "tool_use", "content": [{"type": "tool_use", "id": "toolu_1", "name": "json_answer", "input": {"city": "Paris"}}]}
    out = json.loads(anthropic.chat_result(S, call, json.dumps(upstream).encode()))["choices"][0]
    assert out["message"]["content"] == '{"city":"Paris"}' and "tool_calls" not in out["message"] and out["finish_reason"] == "stop"
    sse = b"".join([
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_2","model":"m","usage":{"input_tokens":3,"output_tokens":1}}}\n\n',
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"json_answer","input":{}}}\n\n',
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": "}}\n\n',
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"\\"Paris\\"}"}}\n\n',
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}\n\n',
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ])
    chunks = _stream(sse, _call({"model": model, "messages": USER, "response_format": rf, "stream": True}))
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == '{"city": "Paris"}'
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"


def test_json_answer_with_client_tools_and_name_clash():
    sent = _sent({"model": "claude-3-5-haiku-latest", "messages": USER, "tools": TOOLS, "response_format": {"type": "json_object"}})
    assert [t["name"] for t in sent["tools"]] == ["f", "json_answer"] and sent["tool_choice"] == {"type": "any"}
    clash = [{"type": "function", "function": {"name": "json_answer"}}]
    with pytest.raises(Error) as exc:
        _sent({"messages": USER, "tools": clash, "response_format": {"type": "json_object"}})
    assert exc.value.param == "tools"


# --- thinking --------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "effort", "thinking", "config", "max_tokens"), [
    ("claude-sonnet-4-5", "minimal", {"type": "enabled", "budget_tokens": 1024}, None, 16384 + 1024),
    ("claude-sonnet-4-5", "high", {"type": "enabled", "budget_tokens": 16384}, None, 32768),
    ("claude-opus-4-1", "xhigh", {"type": "enabled", "budget_tokens": 32768}, None, 32000),
    ("claude-sonnet-4-5", "none", {"type": "disabled"}, None, 16384),
    ("claude-3-5-haiku-latest", "none", None, None, 8192),
    ("claude-opus-4-6", "medium", {"type": "adaptive"}, {"effort": "medium"}, 16384),
    ("claude-opus-4-6", "minimal", {"type": "adaptive"}, {"effort": "low"}, 16384),
])
def test_reasoning_effort_table(model, effort, thinking, config, max_tokens):
    sent = _sent({"model": model, "messages": USER, "reasoning_effort": effort})
    if model == "claude-opus-4-1" and effort == "xhigh":
        thinking = {"type": "enabled", "budget_tokens": 31999}  # gives way to the model's limit
    assert (sent.get("thinking"), sent.get("output_config"), sent["max_tokens"]) == (thinking, config, max_tokens)


def test_thinking_budget_and_client_caps():
    assert _sent({"messages": USER, "reasoning_effort": "high", "max_tokens": 5000})["thinking"] == {"type": "enabled", "budget_tokens": 4999}
    with pytest.raises(Error) as exc:
        _sent({"messages": USER, "reasoning_effort": "low", "max_completion_tokens": 1000})
    assert exc.value.param == "max_completion_tokens"
    with pytest.raises(Error) as exc:
        _sent({"messages": USER, "reasoning_effort": "extreme"})
    assert exc.value.param == "reasoning_effort"
    sent = _sent({"messages": USER, "reasoning_effort": "high", "budget_tokens": 3000})
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 3000} and sent["max_tokens"] == 16384 + 3000
    sent = _sent({"messages": USER, "thinking": {"type": "enabled", "budget_tokens": 2000, "display": "omitted"}})
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2000, "display": "omitted"}


@pytest.mark.parametrize("blocks", [[], [("t", "", "")], [("t", "why " * 500, "Eq8C+/==" * 40), ("r", "EmwKAhgB")]])
def test_tool_call_id_round_trip(blocks):
    tid = ids.tool_call_id("toolu_01ABC", blocks)
    assert (tid == "toolu_01ABC") is (not blocks)
    assert all(c.isalnum() or c in "_-" for c in tid)
    assert ids.split(tid, "x") == ("toolu_01ABC", blocks)
    assert ids.tool_use_id(tid) == "toolu_01ABC"


@pytest.mark.parametrize("tail", ["!!!", "AAAA", base64.urlsafe_b64encode(zlib.compress(b'{"a":1}')).decode(), base64.urlsafe_b64encode(zlib.compress(b'[["x","y"]]')).decode(), base64.urlsafe_b64encode(zlib.compress(b"[" + b" " * (ids.MAX_INFLATED + 10) + b"]")).decode()])
def test_mangled_tool_call_ids_are_a_400(tail):
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [{"id": "toolu_1" + ids.MARK + tail, "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]
    with pytest.raises(Error) as exc:
        _sent({"messages": msgs})
    assert exc.value.param == "messages[1].tool_calls[0].id"


def test_thinking_and_redacted_blocks_replayed_before_their_tool_use():
    first = ids.tool_call_id("toolu_1", [("t", "plan", "sig1"), ("r", "EmwKAhgBdata")])
    second = ids.tool_call_id("toolu_2", [("t", "more", "sig2")])
    msgs = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "Checking.", "reasoning_content": "ignored", "tool_calls": [
            {"id": first, "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": second, "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": first, "content": "a"},
        {"role": "tool", "tool_call_id": second, "content": "b"},
    ]
    sent = _sent({"messages": msgs, "reasoning_effort": "low"})["messages"]
    assert sent[1]["content"] == [
        {"type": "thinking", "thinking": "plan", "signature": "sig1"},
        {"type": "redacted_thinking", "data": "EmwKAhgBdata"},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        {"type": "thinking", "thinking": "more", "signature": "sig2"},
        {"type": "tool_use", "id": "toolu_2", "name": "f", "input": {}},
    ]
    assert [b["tool_use_id"] for b in sent[2]["content"]] == ["toolu_1", "toolu_2"]


def test_response_carries_thinking_in_the_following_tool_call_id():
    body = {"id": "msg_1", "type": "message", "model": "m", "stop_reason": "tool_use", "content": [
        {"type": "thinking", "thinking": "plan", "signature": "sig1"},
        {"type": "redacted_thinking", "data": "EmwKAhgBdata"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1]}},
        {"type": "tool_use", "id": "toolu_2", "name": "f", "input": {}},
    ]}
    msg = json.loads(anthropic.chat_result(S, _call(), json.dumps(body).encode()))["choices"][0]["message"]
    assert msg["reasoning_content"] == "plan" and msg["content"] is None
    first, second = msg["tool_calls"]
    assert ids.split(first["id"], "x") == ("toolu_1", [("t", "plan", "sig1"), ("r", "EmwKAhgBdata")])
    assert second["id"] == "toolu_2" and first["function"]["arguments"] == '{"a":[1]}'


# --- prompt caching and usage ----------------------------------------------------------------


def test_client_cache_control_is_relayed():
    cc = {"type": "ephemeral", "ttl": "1h"}
    body = {
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "long", "cache_control": cc}]},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "c", "cache_control": {"type": "ephemeral"}},
            {"role": "assistant", "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": [{"type": "text", "text": "r", "cache_control": {"type": "ephemeral"}}]},
        ],
        "tools": [{**TOOLS[0], "cache_control": {"type": "ephemeral"}}],
    }
    sent = _sent(body, anthropic.load_settings({"ANTHROPIC_PROMPT_CACHE": "auto"}))
    assert sent["system"] == [{"type": "text", "text": "long", "cache_control": cc}]
    assert sent["messages"][0]["content"] == [{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}}]
    assert sent["messages"][2]["content"] == [{"type": "text", "text": "c", "cache_control": {"type": "ephemeral"}}]
    assert sent["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent["messages"][4]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert _sent({"messages": [{"role": "user", "content": "cache_control"}]})["messages"][0]["content"] == [{"type": "text", "text": "cache_control"}]


def test_auto_cache_breakpoints():
    body = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": [{"type": "text", "text": "c"}, {"type": "text", "text": "d"}]}], "tools": TOOLS * 2}
    plain = _sent(body)
    assert "cache_control" not in json.dumps(plain)
    sent = _sent(body, anthropic.load_settings({"ANTHROPIC_PROMPT_CACHE": "auto"}))
    assert sent["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert [("cache_control" in t) for t in sent["tools"]] == [False, True]
    assert [("cache_control" in b) for b in sent["messages"][-1]["content"]] == [False, True]
    assert "cache_control" not in json.dumps(sent["messages"][0])
    # A conversation that merely talks about cache_control still gets the automatic breakpoints.
    talk = {"messages": [{"role": "user", "content": "what is cache_control?"}]}
    assert _sent(talk, anthropic.load_settings({"ANTHROPIC_PROMPT_CACHE": "auto"}))["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}


def test_usage_counts_cache_as_prompt():
    u = anthropic.response.usage(anthropic.response.Usage(input_tokens=10, output_tokens=5, cache_read_input_tokens=100, cache_creation_input_tokens=20))
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens, u.prompt_tokens_details.cached_tokens) == (130, 5, 135, 100)


# --- stream edge cases -----------------------------------------------------------------------


def test_stream_error_event_unknown_events_and_truncation():
    call = _call({"messages": USER, "stream": True})
    start = b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_9","model":"m","usage":{"input_tokens":1}}}\n\n'
    state = anthropic.ChatStream(S, call)
    assert len(state.feed("message_start", start.split(b"data: ")[1].strip())) == 1
    assert state.feed("brand_new", b'{"type":"brand_new","x":1}') == []
    assert state.feed("ping", b'{"type": "ping"}') == []
    with pytest.raises(Error) as exc:
        state.feed("error", b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}')
    assert (exc.value.status, exc.value.code) == (503, "overloaded_error")
    with pytest.raises(Error) as exc:
        _stream(start, call)
    assert exc.value.status == 502 and exc.value.code == "upstream_incomplete"
    with pytest.raises(Error) as exc:
        anthropic.ChatStream(S, call).feed("content_block_delta", b'{"type":"content_block_delta","index":"zero"}')
    assert exc.value.status == 502
    with pytest.raises(Error) as exc:
        anthropic.ChatStream(S, call).feed("message_start", b"{not json")
    assert exc.value.status == 502


def test_non_stream_garbage_and_error_envelopes():
    with pytest.raises(Error) as exc:
        anthropic.chat_result(S, _call(), b"<html>")
    assert exc.value.status == 502
    with pytest.raises(Error) as exc:
        anthropic.chat_result(S, _call(), json.dumps({"type": "error", "error": {"type": "api_error", "message": "boom"}}).encode())
    assert (exc.value.status, exc.value.code) == (500, "api_error")


def test_every_variable_is_documented():
    root = Path(__file__).parent.parent
    import re

    used = set(re.findall(r'"(ANTHROPIC_[A-Z_]+)"', "".join(p.read_text() for p in (root / "providers" / "anthropic").glob("*.py"))))
    used |= {f"ANTHROPIC_{v}" for v in ("API_KEY", "ENDPOINT", "MODEL", "MODEL_ALIAS", "HTTP_PROXY", "SOCKS_PROXY")}
    readme = (root / "README.md").read_text()
    compose = (root / "example" / "docker-compose.anthropic.yml").read_text()
    assert {v for v in used if v not in readme} == set()
    assert {v for v in used if v not in compose} == set()


def test_refusal_explanation_reaches_the_refusal_field():
    body = {"id": "msg_r", "type": "message", "model": "claude-opus-4-7", "content": [], "stop_reason": "refusal", "stop_details": {"type": "refusal", "category": "cyber", "explanation": "Refused by policy."}}
    choice = json.loads(anthropic.chat_result(S, _call(), json.dumps(body).encode()))["choices"][0]
    assert (choice["finish_reason"], choice["message"]["refusal"], choice["message"]["content"]) == ("content_filter", "Refused by policy.", "")
    body["stop_details"] = {"type": "refusal", "category": "bio", "explanation": None}
    assert json.loads(anthropic.chat_result(S, _call(), json.dumps(body).encode()))["choices"][0]["message"]["refusal"] == "Refused (bio)."


def test_many_small_inflating_ids_share_one_budget():
    # Each id alone inflates to well under the cap; together they would be gigabytes.
    tail = base64.urlsafe_b64encode(zlib.compress(b'[["t","' + b"a" * (ids.MAX_INFLATED // 4) + b'","s"]]')).decode().rstrip("=")
    calls = [{"id": f"toolu_{k}" + ids.MARK + tail, "type": "function", "function": {"name": "f", "arguments": "{}"}} for k in range(8)]
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": calls}]
    with pytest.raises(Error) as exc:
        _sent({"messages": msgs})
    assert exc.value.param.startswith("messages[1].tool_calls[")


@pytest.mark.parametrize("model", ["claude-opus-" + "9" * 5000, "claude-" + "9" * 5000 + "-opus", "claude-opus-4-" + "5" * 5000])
def test_model_names_with_huge_numbers_are_unknown_families_not_a_crash(model):
    assert tables.version(model) in (None, (4, 0))  # the last one reads as claude-opus-4
    assert _sent({"model": model, "messages": USER}, model=model)["max_tokens"]


def _sse(*events: dict) -> bytes:
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + json.dumps(e).encode() + b"\n\n" for e in events)


@pytest.mark.parametrize("answer", [False, True])
def test_tool_without_parameters_streams_empty_object_arguments(answer):
    # Claude streams no JSON (or only "") for an empty input; non-stream says `"input": {}`.
    name = tables.ANSWER_TOOL if answer else "now"
    body = {"model": "claude-3-5-sonnet-20241022", "messages": USER, "tools": [{"type": "function", "function": {"name": "now"}}]}
    if answer:
        body = {"model": "claude-3-5-sonnet-20241022", "messages": USER, "response_format": {"type": "json_object"}}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [{"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}], "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1}}
    whole = json.loads(anthropic.chat_result(S, _call(body), json.dumps(message).encode()))["choices"][0]["message"]
    raw = _sse(
        {"type": "message_start", "message": {**message, "content": [], "stop_reason": None}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": ""}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 1}},
        {"type": "message_stop"},
    )
    chunks = _stream(raw, _call({**body, "stream": True}))
    deltas = [c["choices"][0]["delta"] for c in chunks]
    if answer:
        assert whole["content"] == "{}" == "".join(d.get("content") or "" for d in deltas)
    else:
        args = "".join(tc["function"].get("arguments", "") for d in deltas for tc in d.get("tool_calls") or ())
        assert whole["tool_calls"][0]["function"]["arguments"] == "{}" == args


def test_an_exhausted_inflation_budget_is_not_an_unlimited_one():
    # zlib reads max_length=0 as "no limit": an id that uses the budget up exactly must not let
    # the next one inflate without bound.
    def tail(n: int) -> str:
        blocks = b'[["t","' + b"a" * (n - 14) + b'","s"]]'
        assert len(blocks) == n
        return base64.urlsafe_b64encode(zlib.compress(blocks)).decode().rstrip("=")

    calls = [
        {"id": "toolu_a" + ids.MARK + tail(ids.MAX_INFLATED), "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "toolu_b" + ids.MARK + tail(2 * ids.MAX_INFLATED), "type": "function", "function": {"name": "f", "arguments": "{}"}},
    ]
    with pytest.raises(Error) as exc:
        _sent({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": calls}]})
    assert exc.value.param == "messages[1].tool_calls[1].id"


def test_many_signature_deltas_are_joined_once():
    # Re-joining the signature at every delta would copy it again each time (quadratic).
    import time

    call = _call({"messages": USER, "stream": True})
    state = anthropic.ChatStream(S, call)
    state.feed("message_start", b'{"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":1}}}')
    state.feed("content_block_start", b'{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}')
    piece = "s" * 200
    delta = json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": piece}}).encode()
    t0 = time.perf_counter()
    for _ in range(30000):
        state.feed("content_block_delta", delta)
    state.feed("content_block_stop", b'{"type":"content_block_stop","index":0}')
    assert time.perf_counter() - t0 < 5
    assert state.pending == [("t", "", piece * 30000)]


def test_tool_input_given_at_block_start_is_not_doubled_by_deltas():
    # The anthropic SDK replaces a start's `input` with the streamed JSON; a host that sends both
    # must not give the client `{"a":1}{"a":1}`, and one that sends only the start keeps it.
    body = {"model": "claude-3-5-sonnet-20241022", "messages": USER, "tools": [{"type": "function", "function": {"name": "f"}}], "stream": True}
    start = {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [], "usage": {"input_tokens": 1, "output_tokens": 0}}}
    tail = [{"type": "content_block_stop", "index": 0}, {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 1}}, {"type": "message_stop"}]
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}}
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"a": 1}'}}
    for events, expected in (([start, block, delta, *tail], '{"a": 1}'), ([start, block, *tail], '{"a":1}')):
        chunks = _stream(_sse(*events), _call(body))
        args = "".join(tc["function"].get("arguments", "") for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls") or ())
        assert args == expected


def test_an_empty_unfinished_message_is_not_an_empty_success():
    with pytest.raises(Error) as exc:
        anthropic.chat_result(S, _call(), b'{"type":"message"}')
    assert (exc.value.status, exc.value.code) == (502, "upstream_incomplete")
