"""The built-in upstream: deterministic answers without any vendor, for demos, client
development and benchmarks.

It answers inside the aoa process (no socket) following OpenAI's own wire format:
- chat: echoes the last user message (`MOCK_REPLY=echo`) or says `MOCK_LOREM_WORDS` words of
  lorem ipsum (`lorem`); honours `n`, `max_tokens`/`max_completion_tokens` (→ `length`), `stop`,
  and JSON response formats (the reply is then a JSON object);
- tools: when tools are offered (and `tool_choice` is not `none`) and the last turn is the
  user's, it calls the named or first function with arguments built from its JSON Schema;
  after a `tool` turn it answers with the tool's result;
- streams one word per chunk, `MOCK_FIRST_TOKEN_DELAY` seconds before the first and at
  `MOCK_TOKEN_RATE` words per second after it (0 = as fast as possible);
- embeddings: unit vectors seeded by the text's SHA-256 (`dimensions` honoured);
- usage counts whitespace-separated words as tokens.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping
from typing import Any

import msgspec

from . import oai
from .core import Call, Common, Error, load_common, parse_float, parse_int

PREFIX = "MOCK"
LOCAL = True
DEFAULT_MODEL = "mock-gpt"
REPLIES = ("echo", "lorem")
LOREM = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi ut aliquip ex ea commodo consequat"
).split()
# Placeholder argument per JSON Schema type, for the tool calls the mock makes.
SCHEMA_EXAMPLE: dict[str, Any] = {
    "string": "mock",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}


class Settings(msgspec.Struct, kw_only=True):
    common: Common
    reply: str = "echo"
    lorem_words: int = 32
    token_rate: float = 20.0
    first_token_delay: float = 0.2
    dimensions: int = 1536


def load_settings(env: Mapping[str, str]) -> Settings:
    from .core import ConfigError

    reply = env.get("MOCK_REPLY", "").strip().lower() or "echo"
    if reply not in REPLIES:
        raise ConfigError(f"MOCK_REPLY={reply!r} is not one of {', '.join(REPLIES)}")
    return Settings(
        common=load_common(env, PREFIX, model=DEFAULT_MODEL),
        reply=reply,
        lorem_words=parse_int(env, "MOCK_LOREM_WORDS", 32, low=1),
        token_rate=parse_float(env, "MOCK_TOKEN_RATE", 20.0),
        first_token_delay=parse_float(env, "MOCK_FIRST_TOKEN_DELAY", 0.2),
        dimensions=parse_int(env, "MOCK_DIMENSIONS", 1536, low=1),
    )


# --- deciding the answer ------------------------------------------------------------------


class _Answer(msgspec.Struct):
    words: list[str]
    finish: str
    tool_calls: list[oai.ToolCall] | None = None


def _words(text: str) -> list[str]:
    return text.split()


def _example(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "mock"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: _example(v) for k, v in props.items()}
    return SCHEMA_EXAMPLE.get(kind, "mock")


def _tool_call(req: oai.ChatCompletionRequest, call: Call) -> list[oai.ToolCall] | None:
    tools = [t.function for t in req.tools or () if t.type == "function" and t.function]
    if not tools or req.tool_choice == "none" or isinstance(req.messages[-1], oai.ToolMessage):
        return None
    chosen = tools[0]
    if isinstance(req.tool_choice, oai.NamedToolChoice) and req.tool_choice.function:
        name = req.tool_choice.function.name
        chosen = next((t for t in tools if t.name == name), None)
        if chosen is None:
            raise Error(400, f"tool_choice names {name!r}, which is not in `tools`.", param="tool_choice")
    args = oai.encode(_example(chosen.parameters or {})).decode()
    return [oai.ToolCall(id=f"call_{call.id[-12:]}", function=oai.FunctionCall(name=chosen.name, arguments=args))]


def _answer(s: Settings, req: oai.ChatCompletionRequest, call: Call) -> _Answer:
    calls = _tool_call(req, call)
    if calls:
        return _Answer(words=[], finish="tool_calls", tool_calls=calls)
    last = req.messages[-1]
    if isinstance(last, oai.ToolMessage):
        text = f"The tool answered: {oai.text_of(last.content)}"
    elif s.reply == "lorem":
        text = " ".join(LOREM[i % len(LOREM)] for i in range(s.lorem_words))
    else:
        user = next((m for m in reversed(req.messages) if isinstance(m, oai.UserMessage)), None)
        text = oai.text_of(user.content) if user else ""
        text = text or "Hello from the aoa mock upstream."
    if isinstance(req.response_format, (oai.ResponseFormatJSONObject, oai.ResponseFormatJSONSchema)):
        text = oai.encode({"reply": text}).decode()
    finish = "stop"
    for stop in oai.stop_list(req.stop) or ():
        if stop and stop in text:
            text = text[: text.index(stop)]
    words = text.split(" ")
    limit = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
    if limit is not None and len(words) > limit:
        words, finish = words[:limit], "length"
    return _Answer(words=words, finish=finish)


def _usage(req: oai.ChatCompletionRequest, answer: _Answer) -> oai.Usage:
    prompt = sum(len(_words(oai.text_of(getattr(m, "content", None)))) for m in req.messages)
    completion = len([w for w in answer.words if w]) + sum(
        len(_words(c.function.arguments)) for c in answer.tool_calls or ()
    )
    n = req.n or 1
    return oai.Usage(prompt_tokens=prompt, completion_tokens=completion * n, total_tokens=prompt + completion * n)


def _request(call: Call) -> oai.ChatCompletionRequest:
    req = oai.decode_chat(call.body)
    if not req.messages:
        raise Error(400, "`messages` must not be empty.", param="messages")
    if req.n is not None and not 1 <= req.n <= 8:
        raise Error(400, "`n` must be between 1 and 8 for the mock upstream.", param="n")
    return req


# --- the provider surface -----------------------------------------------------------------


def local_chat(s: Settings, call: Call) -> bytes:
    req = _request(call)
    answer = _answer(s, req, call)
    message = oai.ResponseMessage(content=None if answer.tool_calls else " ".join(answer.words))
    if answer.tool_calls:
        message.tool_calls = answer.tool_calls
    choices = [
        oai.Choice(index=i, message=message, finish_reason=answer.finish) for i in range(req.n or 1)
    ]
    return oai.encode(
        oai.ChatCompletion(
            id=call.id,
            choices=choices,
            created=call.created,
            model=call.model,
            usage=_usage(req, answer),
            system_fingerprint="fp_aoa_mock",
        )
    )


def local_stream(s: Settings, call: Call) -> list[tuple[float, bytes]]:
    """Every chunk payload with the delay to wait before sending it."""
    req = _request(call)
    answer = _answer(s, req, call)
    gap = 1.0 / s.token_rate if s.token_rate > 0 else 0.0
    usage = None if call.include_usage else msgspec.UNSET

    def chunk(choices: list[oai.ChunkChoice]) -> bytes:
        return oai.encode(
            oai.ChatCompletionChunk(
                id=call.id, choices=choices, created=call.created, model=call.model, usage=usage,
                system_fingerprint="fp_aoa_mock",
            )
        )

    n = req.n or 1
    out: list[tuple[float, bytes]] = []
    for i in range(n):
        first = oai.Delta(role="assistant", content=None if answer.tool_calls else "")
        out.append((s.first_token_delay if i == 0 else 0.0, chunk([oai.ChunkChoice(index=i, delta=first)])))
    for k, word in enumerate(answer.words):
        piece = word if k == 0 else " " + word
        out.append((gap, chunk([oai.ChunkChoice(index=i, delta=oai.Delta(content=piece)) for i in range(n)])))
    for j, tc in enumerate(answer.tool_calls or ()):
        head = oai.ToolCallDelta(index=j, id=tc.id, type="function", function={"name": tc.function.name, "arguments": ""})
        out.append((gap, chunk([oai.ChunkChoice(index=i, delta=oai.Delta(tool_calls=[head])) for i in range(n)])))
        args = tc.function.arguments
        half = len(args) // 2
        for frag in (args[:half], args[half:]):
            d = oai.Delta(tool_calls=[oai.ToolCallDelta(index=j, function={"arguments": frag})])
            out.append((gap, chunk([oai.ChunkChoice(index=i, delta=d) for i in range(n)])))
    out.append((0.0, chunk([oai.ChunkChoice(index=i, delta=oai.Delta(), finish_reason=answer.finish) for i in range(n)])))
    if call.include_usage:
        out.append(
            (0.0, oai.encode(oai.ChatCompletionChunk(
                id=call.id, choices=[], created=call.created, model=call.model,
                usage=_usage(req, answer), system_fingerprint="fp_aoa_mock",
            )))
        )
    return out


def _vector(text: str, dims: int) -> list[float]:
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    v = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def local_embeddings(s: Settings, call: Call) -> bytes:
    req = oai.decode_embedding(call.body)
    texts = oai.embedding_inputs(req)
    if req.dimensions is not None and req.dimensions < 1:
        raise Error(400, "`dimensions` must be at least 1.", param="dimensions")
    dims = req.dimensions or s.dimensions
    vectors = [_vector(t, dims) for t in texts]
    tokens = sum(len(_words(t)) for t in texts)
    return oai.embedding_list(vectors, call.model, tokens, req.encoding_format)


def models(s: Settings, call: Call, page: str | None) -> None:
    return None


def models_result(s: Settings, body: bytes) -> tuple[list[str], str | None]:
    return [], None


def error(status: int, body: bytes) -> Error:
    return Error(status, body.decode("utf-8", "replace"))
