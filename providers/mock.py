"""The built-in upstream: deterministic answers without any vendor, for demos, client
development and benchmarks.

It answers inside the aoa process (no socket) following OpenAI's own wire format:
- models: it answers to any model name; `/v1/models` lists the configured model and aliases
  with `owned_by` saying so, and `models.retrieve` finds any name;
- chat: echoes the last user message (`MOCK_REPLY=echo`) or says `MOCK_LOREM_WORDS` words of
  lorem ipsum (`lorem`); honours `n`, `max_tokens`/`max_completion_tokens` (→ `length`), `stop`;
  `json_object` answers `{"reply": …}`, `json_schema` answers JSON that conforms to the schema
  given (`$ref`/`$defs`, `anyOf`, enums, bounds; the reply text fills the first string), so
  structured-output helpers (`chat.completions.parse`, LangChain, pydantic-ai) parse it;
- tools: when tools are offered and `tool_choice` is not `none`, it calls the named tool; else a
  tool named as a final answer/output tool (`final_result`, `final_answer`, …) once the other
  tools have answered (right away when there are none), else the first other tool on a user
  turn; after a `tool` turn without an output tool it answers in text with the tool's result.
  Arguments conform to the tool's JSON Schema the same way, with "mock" for free strings;
- streams one word per chunk, `MOCK_FIRST_TOKEN_DELAY` seconds before the first and at
  `MOCK_TOKEN_RATE` words per second after it (0 = as fast as possible);
- embeddings: unit vectors seeded by the text's SHA-256 (`dimensions` honoured); token-id
  input (lists of integers, as LangChain's `OpenAIEmbeddings` sends) is seeded by the ids;
- usage counts whitespace-separated words as tokens.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from . import oai
from .core import Call, Common, ConfigError, Error, load_common, parse_float, parse_int

PREFIX = "MOCK"
LOCAL = True
DEFAULT_MODEL = "mock-gpt"
REPLIES = ("echo", "lorem")
# The `<P>_…` variables every upstream has but the mock cannot use.
UNUSED = ("MOCK_ENDPOINT", "MOCK_API_KEY", "MOCK_HTTP_PROXY", "MOCK_SOCKS_PROXY")
OWNED_BY = "aoa-mock (answers to any model name)"
ANY_MODEL = True
# Tools that carry the final answer rather than doing work (pydantic-ai's `final_result`, the
# usual names for an agent's answer or output tool).
_OUTPUT_TOOL = re.compile(r"(?i)^(final[_-]?(result|answer|response|output)|output|answer|respond|submit[_-]?(answer|result))")
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
    for name in UNUSED:
        if env.get(name, "").strip():
            raise ConfigError(
                f"{name} has no meaning for the built-in mock (it calls no upstream, so it needs no "
                f"endpoint, key or proxy); unset it, or choose a real upstream with AOA_TYPE"
            )
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


_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00",
    "email": "mock@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


class _Filler:
    """Builds a value that conforms to a JSON Schema; the reply text fills the first free string."""

    def __init__(self, root: Any, text: str) -> None:
        self.root = root if isinstance(root, dict) else {}
        self.text = text

    def _resolve(self, ref: str) -> Any:
        node: Any = self.root
        for part in ref.lstrip("#/").split("/") if ref.startswith("#") else ():
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    def value(self, schema: Any, depth: int = 0) -> Any:
        if not isinstance(schema, dict) or depth > 12:
            return None
        if "$ref" in schema:
            return self.value(self._resolve(schema["$ref"]), depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            options = [o for o in schema.get(key) or () if isinstance(o, dict)]
            if options:
                return self.value(next((o for o in options if o.get("type") != "null"), options[0]), depth + 1)
        if schema.get("allOf"):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                part = self._resolve(part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
                if isinstance(part, dict):
                    merged.update({k: v for k, v in part.items() if k != "properties"})
                    merged.setdefault("properties", {}).update(part.get("properties") or {})
            return self.value(merged, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            props = schema.get("properties") or {}
            if not props and schema.get("additionalProperties") is not False and depth == 0:
                return {"reply": self._string({})}  # any object will do: say something
            return {name: self.value(sub, depth + 1) for name, sub in props.items() if isinstance(sub, dict)}
        if kind == "array":
            count = max(int(schema.get("minItems") or 1), 1)
            if schema.get("maxItems") is not None:
                count = min(count, int(schema["maxItems"]))
            items = schema.get("items")
            if isinstance(schema.get("prefixItems"), list):
                return [self.value(i, depth + 1) for i in schema["prefixItems"]]
            return [self.value(items, depth + 1) for _ in range(count)] if isinstance(items, dict) else []
        if kind in ("integer", "number"):
            return self._number(schema, kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._string(schema)

    @staticmethod
    def _number(schema: dict[str, Any], integer: bool) -> int | float:
        value: float = 1 if integer else 1.5
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(schema.get("exclusiveMinimum"), (int, float)):
            low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
        if isinstance(schema.get("exclusiveMaximum"), (int, float)):
            high = schema["exclusiveMaximum"] - (1 if integer else 0.5)
        if isinstance(low, (int, float)) and value < low:
            value = low
        if isinstance(high, (int, float)) and value > high:
            value = high
        return math.ceil(value) if integer else value

    def _string(self, schema: dict[str, Any]) -> str:
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        text, self.text = (self.text or "mock"), "mock"
        low, high = schema.get("minLength"), schema.get("maxLength")
        if isinstance(low, int) and len(text) < low:
            text = text + "x" * (low - len(text))
        if isinstance(high, int) and len(text) > high:
            text = text[:high]
        return text


def _conforming(schema: Any, text: str) -> Any:
    return _Filler(schema, text).value(schema)


def _tool_call(req: oai.ChatCompletionRequest, call: Call, text: str) -> list[oai.ToolCall] | None:
    tools = [t.function for t in req.tools or () if t.type == "function" and t.function]
    if not tools or req.tool_choice == "none":
        return None
    after_tool = isinstance(req.messages[-1], oai.ToolMessage)
    output = next((t for t in tools if _OUTPUT_TOOL.match(t.name)), None)
    workers = [t for t in tools if t is not output]
    chosen = None
    if isinstance(req.tool_choice, oai.NamedToolChoice) and req.tool_choice.function:
        name = req.tool_choice.function.name
        chosen = next((t for t in tools if t.name == name), None)
        if chosen is None:
            raise Error(400, f"tool_choice names {name!r}, which is not in `tools`.", param="tool_choice")
    elif output is not None and (after_tool or not workers):
        chosen = output
    elif not after_tool:
        chosen = workers[0]
    elif req.tool_choice == "required":
        chosen = workers[0]
    if chosen is None:
        return None
    # Placeholder strings ("mock") in arguments, as always: clients' tests rely on them.
    args = oai.encode(_conforming(chosen.parameters or {}, "mock")).decode()
    return [oai.ToolCall(id=f"call_{call.id[-12:]}", function=oai.FunctionCall(name=chosen.name, arguments=args))]


def _answer(s: Settings, req: oai.ChatCompletionRequest, call: Call) -> _Answer:
    text = _text(s, req)
    calls = _tool_call(req, call, text)
    if calls:
        return _Answer(words=[], finish="tool_calls", tool_calls=calls)
    if isinstance(req.response_format, oai.ResponseFormatJSONSchema) and req.response_format.json_schema.schema_:
        text = oai.encode(_conforming(req.response_format.json_schema.schema_, text)).decode()
    elif isinstance(req.response_format, (oai.ResponseFormatJSONObject, oai.ResponseFormatJSONSchema)):
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


def _text(s: Settings, req: oai.ChatCompletionRequest) -> str:
    last = req.messages[-1]
    if isinstance(last, oai.ToolMessage):
        text = f"The tool answered: {oai.text_of(last.content)}"
    elif s.reply == "lorem":
        text = " ".join(LOREM[i % len(LOREM)] for i in range(s.lorem_words))
    else:
        user = next((m for m in reversed(req.messages) if isinstance(m, oai.UserMessage)), None)
        text = oai.text_of(user.content) if user else ""
        text = text or "Hello from the aoa mock upstream."
    return text


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
    texts = _embedding_texts(req)
    if req.dimensions is not None and req.dimensions < 1:
        raise Error(400, "`dimensions` must be at least 1.", param="dimensions")
    dims = req.dimensions or s.dimensions
    vectors = [_vector(t, dims) for t in texts]
    tokens = sum(t.count(",") + 1 if t.startswith("tokens:") else len(_words(t)) for t in texts)
    return oai.embedding_list(vectors, call.model, tokens, req.encoding_format)


def _embedding_texts(req: oai.EmbeddingRequest) -> list[str]:
    """Strings as they are; token ids (one list, or a list of lists) as a stable key each, so
    the same ids always give the same vector."""
    value = req.input
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        value = [value]  # type: ignore[list-item]
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        if not all(v and all(isinstance(t, int) for t in v) for v in value):
            raise Error(400, "Token-id input must be non-empty lists of integers.", param="input")
        return ["tokens:" + ",".join(map(str, v)) for v in value]  # type: ignore[union-attr]
    return oai.embedding_inputs(req)


def models(s: Settings, call: Call, page: str | None) -> None:
    return None


def models_result(s: Settings, body: bytes) -> tuple[list[str], str | None]:
    return [], None


def error(status: int, body: bytes) -> Error:
    return Error(status, body.decode("utf-8", "replace"))
