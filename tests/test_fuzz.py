"""Property: nothing a client sends makes aoa answer 5xx from its own code, and every error is
OpenAI-shaped. Hypothesis builds request bodies (well-formed, half-formed and garbage) for
the four POST routes and every provider; the upstream always answers with a vendor-shaped 400, so
any 5xx is aoa's own. Derandomized with a fixed budget: the same cases every run, a few seconds.
"""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aoa
import providers
from gateway.fetch import open_fetcher

ROUTES = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"]

# One body every provider reads as "your request is invalid": OpenAI's, Google's, Anthropic's and
# DashScope's error shapes at once.
REFUSAL = {"type": "error", "error": {"code": 400, "message": "refused", "status": "INVALID_ARGUMENT", "type": "invalid_request_error"},
           "code": "InvalidParameter", "message": "refused", "request_id": "r"}

PROVIDERS = {
    "mock": lambda url: {"AOA_TYPE": "mock", "MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"},
    "openai": lambda url: {"AOA_TYPE": "openai", "OPENAI_ENDPOINT": url, "OPENAI_API_KEY": "sk-x"},
    "azure": lambda url: {"AOA_TYPE": "azure", "AZURE_ENDPOINT": url, "AZURE_API_KEY": "k", "AZURE_VISION": "true"},
    "yi": lambda url: {"AOA_TYPE": "yi", "YI_ENDPOINT": url, "YI_API_KEY": "k"},
    "qwen": lambda url: {"AOA_TYPE": "qwen", "QWEN_ENDPOINT": url, "QWEN_API_KEY": "k"},
    "qwen-compatible": lambda url: {"AOA_TYPE": "qwen", "QWEN_ENDPOINT": url, "QWEN_API_KEY": "k", "QWEN_API_MODE": "compatible"},
    "gemini": lambda url: {"AOA_TYPE": "gemini", "GEMINI_ENDPOINT": url, "GEMINI_API_KEY": "k"},
    "anthropic": lambda url: {"AOA_TYPE": "anthropic", "ANTHROPIC_ENDPOINT": url, "ANTHROPIC_API_KEY": "k"},
    **{k: (lambda url, k=k, p=providers.load(k).PREFIX: {"AOA_TYPE": k, f"{p}_ENDPOINT": url, f"{p}_API_KEY": "k"})
       for k in ("deepseek", "moonshot", "zhipu", "minimax", "qianfan", "spark")},
}


class NoNames(AbstractResolver):
    """Media URLs must never leave the machine: no name resolves."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        raise OSError(f"{host}: resolution disabled in tests")

    async def close(self) -> None:
        pass


# --- strategies -----------------------------------------------------------------------------

text = st.text(max_size=12) | st.sampled_from(["", "user", "text", "image_url", "gpt-4o", "\x00", "\ud7ff", "../x", "a?b", "data:image/png;base64,iVBORw0KGgo=", "data:,", "http://127.0.0.1/x.png", "https://img.test/cat.png"])
leaf = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False) | text
json_value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=12)


def maybe(good: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the field's right shape, sometimes any JSON at all."""
    return st.one_of(good, good, good, json_value)


part = st.fixed_dictionaries(
    {"type": maybe(st.sampled_from(["text", "image_url", "input_audio", "file", "refusal", "video"]))},
    optional={
        "text": maybe(text),
        "image_url": maybe(st.fixed_dictionaries({"url": maybe(text)}, optional={"detail": maybe(st.sampled_from(["low", "high", "auto"]))})),
        "input_audio": maybe(st.fixed_dictionaries({"data": maybe(text), "format": maybe(st.sampled_from(["wav", "mp3"]))})),
        "file": maybe(st.fixed_dictionaries({}, optional={"file_data": maybe(text), "file_id": maybe(text), "filename": maybe(text)})),
        "refusal": maybe(text),
    },
)
tool_call = st.fixed_dictionaries(
    {"id": maybe(text), "type": maybe(st.just("function")), "function": maybe(st.fixed_dictionaries({"name": maybe(text), "arguments": maybe(st.sampled_from(["{}", '{"a":1}', "[", "null", '"s"']) | text)}))}
)
message = st.fixed_dictionaries(
    {"role": maybe(st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"]))},
    optional={
        "content": maybe(st.none() | text | st.lists(part, max_size=3)),
        "tool_calls": maybe(st.lists(tool_call, max_size=2)),
        "tool_call_id": maybe(text),
        "name": maybe(text),
        "function_call": maybe(st.fixed_dictionaries({"name": maybe(text), "arguments": maybe(text)})),
    },
)
tool = st.fixed_dictionaries({"type": maybe(st.just("function")), "function": maybe(st.fixed_dictionaries({"name": maybe(text)}, optional={"parameters": json_value, "description": maybe(text)}))})
request_fields = st.fixed_dictionaries(
    {},
    optional={
        "model": maybe(text),
        "messages": maybe(st.lists(message, max_size=4)),
        "prompt": maybe(text | st.lists(text, max_size=3) | st.lists(st.integers(-5, 70000), max_size=3)),
        "input": maybe(text | st.lists(text, max_size=3) | st.lists(st.lists(st.integers(-5, 70000), max_size=3), max_size=2)),
        "stream": maybe(st.booleans()),
        "stream_options": maybe(st.fixed_dictionaries({}, optional={"include_usage": maybe(st.booleans())})),
        "temperature": maybe(st.floats(-1, 3)), "top_p": maybe(st.floats(0, 1)), "n": maybe(st.integers(-1, 4)),
        "max_tokens": maybe(st.integers(-1, 10**6)), "max_completion_tokens": maybe(st.integers(-1, 10**6)),
        "stop": maybe(text | st.lists(text, max_size=5)), "seed": maybe(st.integers()), "logprobs": maybe(st.booleans()),
        "top_logprobs": maybe(st.integers(-1, 30)), "tools": maybe(st.lists(tool, max_size=2)),
        "tool_choice": maybe(st.sampled_from(["auto", "none", "required"]) | st.fixed_dictionaries({"type": st.just("function"), "function": st.fixed_dictionaries({"name": text})})),
        "response_format": maybe(st.fixed_dictionaries({"type": maybe(st.sampled_from(["text", "json_object", "json_schema"]))}, optional={"json_schema": json_value})),
        "reasoning_effort": maybe(st.sampled_from(["low", "medium", "high", "minimal"])), "thinking_budget": maybe(st.integers(-2, 10**6)),
        "top_k": maybe(st.integers(-1, 100)), "dimensions": maybe(st.integers(-1, 4096)), "encoding_format": maybe(st.sampled_from(["float", "base64"])),
        "user": maybe(text), "echo": maybe(st.booleans()), "suffix": maybe(text), "modalities": json_value, "audio": json_value,
        "frequency_penalty": maybe(st.floats(-3, 3)), "presence_penalty": maybe(st.floats(-3, 3)), "logit_bias": json_value,
    },
)


def encode(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _spoil(raw: bytes, at: int, junk: bytes) -> bytes:
    """Bytes spliced inside the JSON text: after an opening quote they land inside a string."""
    quotes = [i for i, b in enumerate(raw) if b == 34] or [0]
    i = quotes[at % len(quotes)] + 1
    return raw[:i] + junk + raw[i:]


def _nest(raw: bytes, depth: int) -> bytes:
    return raw[:-1] + b',"x":' + b"[" * depth + b"]" * depth + b"}" if raw.endswith(b"}") else raw


bodies = st.one_of(
    st.builds(_spoil, request_fields.map(encode), st.integers(0, 50), st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\\ud800", b"\x00"])),
    st.builds(_nest, request_fields.map(encode), st.sampled_from([900, 1000, 3000])),
    request_fields.map(encode),
    request_fields.map(encode),
    request_fields.map(encode),
    json_value.map(encode),
    st.binary(max_size=64),
    request_fields.map(lambda v: encode(v)[: max(1, len(encode(v)) // 2)]),  # truncated JSON
)


# --- the property ---------------------------------------------------------------------------


@pytest.fixture(params=sorted(PROVIDERS))
def server(request, serve, aoa_server):
    async def refuse(req: web.Request) -> web.Response:
        await req.read()
        return web.json_response(REFUSAL, status=400)

    app = web.Application(client_max_size=64 << 20)
    app.router.add_route("*", "/{tail:.*}", refuse)
    up = serve(app)
    srv = aoa_server(PROVIDERS[request.param](up.url))

    async def no_fetch() -> None:
        st_ = srv.app[aoa.STATE]
        if st_.fetcher is not None:
            await st_.fetcher.close()
            st_.fetcher = await open_fetcher(st_.common, st_.config, "t", resolver=NoNames())

    srv.call(no_fetch())
    with httpx.Client(base_url=srv.url, timeout=20) as client:
        yield client


@settings(max_examples=25, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(route=st.sampled_from(ROUTES), body=bodies)
def test_no_5xx_from_aoa_and_errors_are_openai_shaped(server, route, body):
    r = server.post(route, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code < 500, (route, body[:300], r.status_code, r.text[:500])
    if r.status_code >= 400:
        err = r.json()["error"]
        assert set(err) == {"message", "type", "param", "code", "request_id"} and isinstance(err["message"], str) and err["message"]
    elif r.headers["Content-Type"].startswith("text/event-stream"):
        for line in r.text.split("\n"):
            if line.startswith("data: ") and line != "data: [DONE]":
                event = json.loads(line[6:])
                if "error" in event:
                    assert event["error"].get("code") != "internal_error", line
    else:
        assert isinstance(r.json(), dict)
