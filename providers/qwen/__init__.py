"""Alibaba Qwen on DashScope (Model Studio / 百炼), native API or its OpenAI-compatible mode.

Native (default, `QWEN_API_MODE=native`), docs https://help.aliyun.com/zh/model-studio/use-qwen-by-calling-api
and the official SDK https://github.com/dashscope/dashscope-sdk-python:
- chat: `POST {endpoint}/api/v1/services/aigc/text-generation/generation`, or
  `.../multimodal-generation/generation` when a message carries an image, audio or video part or
  the model is a VL/audio/Qwen3.5+ model; `{"model","input":{"messages"},"parameters"}` with
  `result_format: "message"`. Text models take content as one string: text parts are joined with
  a newline (`TEXT_PART_SEPARATOR`); the multimodal endpoint keeps them as a list. Videos:
  `video_url` parts → `{"video": url}`, DashScope-style `{"type":"video","video":[frames]}` as is.
- streaming: header `X-DashScope-SSE: enable` and `incremental_output: true` (never a diff of
  cumulative text); frames `id:`/`event:result`/`:HTTP_STATUS/200`/`data:`; an `event:error`
  frame carries `{code, message, request_id}`. Usage is cumulative in every frame: it is reported
  once, at the end.
- Qwen-Omni models are relayed to the compatible-mode endpoint in either mode (DashScope serves
  them only there).
- models that only answer streams (QwQ, QVQ, omni, `*-thinking`, open qwen3 `qwen3-32b` style,
  or any request with thinking on) are streamed upstream even for a non-stream client.
- ids are `chatcmpl-<request_id>`: DashScope's request_id stays recoverable for support tickets.
- embeddings: `POST .../api/v1/services/embeddings/text-embedding/text-embedding`, split into
  batches of DashScope's per-model limit.
- Qwen's own knobs travel as extra top-level fields (the openai SDK's `extra_body`):
  `enable_search`, `enable_thinking`, `thinking_budget`, `top_k`, `repetition_penalty`.
  `reasoning_effort` none → `enable_thinking: false`; minimal/low/medium/high → `true` with
  `thinking_budget` 512/2048/8192/model default (`REASONING_EFFORT`; an explicit budget wins).
  DashScope's native API has no effort parameter of its own; the values are OpenAI's
  (`minimal`, not `minimum`), anything else is a 400 naming `reasoning_effort`.
- /v1/models: DashScope's native API has no model list: the configured model and aliases.
Not supported natively (400 naming the field): frequency_penalty ≠ 0, logit_bias, audio output,
prediction, legacy functions/function_call, file parts, verbosity. A message's `name` and an
assistant turn's `reasoning_content` are not sent (DashScope takes neither as input).

Compatible (`QWEN_API_MODE=compatible`): everything is relayed to
`{endpoint}/compatible-mode/v1` as for any OpenAI-compatible upstream.
"""


from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import Struct

from .. import oai, openai, passthrough
from ..core import Call, Common, ConfigError, Error, Outbound, load_common
from .request import (  # noqa: F401 - the tables are part of this provider's surface
    EXTRA_FIELDS,
    IGNORED,
    MAPPED,
    NEUTRAL,
    RANGES,
    REASONING_EFFORT,
    TEXT_PART_SEPARATOR,
    UNSUPPORTED,
    decode,
    is_multimodal,
    stream_only,
    thinking,
    to_generation,
)
from .response import (  # noqa: F401
    ERROR_FALLBACK_STATUS,
    Count,
    ERROR_STATUS,
    FINISH_FALLBACK,
    FINISH_REASON,
    RETRY_CODES,
    NativeStream,
    Usage,
    error,
    error_status,
    finish_reason,
    to_chat_completion,
    usage,
)

PREFIX = "QWEN"
DEFAULT_ENDPOINT = "https://dashscope.aliyuncs.com"  # international: https://dashscope-intl.aliyuncs.com
DEFAULT_MODEL = "qwen-plus"
MODES = ("native", "compatible")

TEXT_PATH = "/api/v1/services/aigc/text-generation/generation"
MULTIMODAL_PATH = "/api/v1/services/aigc/multimodal-generation/generation"
EMBEDDING_PATH = "/api/v1/services/embeddings/text-embedding/text-embedding"
COMPATIBLE_PATH = "/compatible-mode/v1"


class Settings(Struct, kw_only=True):
    common: Common
    mode: str = "native"
    workspace: str = ""


def load_settings(env: Mapping[str, str]) -> Settings:
    common = load_common(env, PREFIX, endpoint=DEFAULT_ENDPOINT, model=DEFAULT_MODEL)
    # Users paste whichever base URL the docs showed them; keep the service root.
    for suffix in (COMPATIBLE_PATH, "/api/v1"):
        if common.endpoint.endswith(suffix):
            common.endpoint = common.endpoint[: -len(suffix)]
    mode = env.get("QWEN_API_MODE", "").strip().lower() or "native"
    if mode not in MODES:
        raise ConfigError(f"QWEN_API_MODE={mode!r} is not one of {', '.join(MODES)}")
    return Settings(common=common, mode=mode, workspace=env.get("QWEN_WORKSPACE", "").strip())


def headers(s: Settings, key: str, *, sse: bool = False) -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = f"Bearer {key}"
    if s.workspace:
        h["X-DashScope-WorkSpace"] = s.workspace
    if sse:
        # https://github.com/dashscope/dashscope-sdk-python/blob/main/dashscope/api_entities/http_request.py
        h["Accept"] = "text/event-stream"
        h["X-DashScope-SSE"] = "enable"
    return h


# Qwen-Omni answers only through the OpenAI-compatible API ("Qwen-Omni 仅支持 OpenAI 兼容方式调用",
# https://help.aliyun.com/zh/model-studio/qwen-omni): relayed there even in native mode.
_COMPATIBLE_ONLY = re.compile(r"omni")


def relayed(s: Settings, model: str) -> bool:
    """True when this request goes to the compatible-mode endpoint as it is."""
    return s.mode == "compatible" or bool(_COMPATIBLE_ONLY.search(model.lower()))


def chat(s: Settings, call: Call) -> Outbound:
    if relayed(s, call.model):
        return _compatible_chat(s, call)
    try:
        req = decode(call)
        stream = call.stream or stream_only(call.model, thinking(req))
        data = oai.encode(to_generation(call, req, stream))
    except RecursionError:
        # The body passed the IO layer's depth check, but a schema within a few levels of the
        # limit cannot be decoded into types (or re-encoded) without recursing deeper.
        raise Error(400, "Request body is nested too deeply to be translated for DashScope.", code="invalid_json") from None
    path = MULTIMODAL_PATH if is_multimodal(call.model, req.messages) else TEXT_PATH
    return Outbound(url=s.common.endpoint + path, headers=headers(s, call.key, sse=stream), body=data, stream=stream)


def _compatible_chat(s: Settings, call: Call) -> Outbound:
    base = s.common.endpoint + COMPATIBLE_PATH
    stream = call.stream
    body = passthrough.with_model(call, call.model)
    if not stream:
        wants = _extra_bool(call, "enable_thinking")
        if stream_only(call.model, wants):
            # Served by a stream and assembled by the IO layer, as in native mode.
            fields = dict(call.fields, model=msgspec.Raw(msgspec.json.encode(call.model)))
            fields["stream"] = msgspec.Raw(b"true")
            fields["stream_options"] = msgspec.Raw(b'{"include_usage":true}')
            body, stream = msgspec.json.encode(fields), True
    return Outbound(url=base + "/chat/completions", headers=headers(s, call.key), body=body, stream=stream)


def _extra_bool(call: Call, name: str) -> bool | None:
    raw = call.fields.get(name)
    if raw is None:
        return None
    try:
        return msgspec.json.decode(raw, type=bool | None)
    except msgspec.DecodeError:
        raise Error(400, f"`{name}` must be a boolean.", param=name, code="invalid_type") from None


class _Relayed(Struct):
    choices: Any = None
    data: Any = None
    code: Any = None


_relayed_decoder = msgspec.json.Decoder(_Relayed)


def _check_relayed(body: bytes, field: str = "choices") -> bytes:
    """A compatible-mode answer is relayed as it is, once it is known to be an answer: a 200
    holding DashScope's `{code, message}` (or no `choices`, no embedding `data`) would reach the
    SDK as an empty success."""
    try:
        doc = _relayed_decoder.decode(body)
    except (msgspec.DecodeError, RecursionError):
        raise Error(502, "DashScope answered with a body that is not a JSON object.", code="upstream_invalid_json") from None
    if not isinstance(getattr(doc, field), list):
        raise error(502, body) if doc.code else Error(502, f"DashScope answered without `{field}`.", code="upstream_incomplete")
    return body


def chat_result(s: Settings, call: Call, body: bytes) -> bytes:
    if relayed(s, call.model):
        return _check_relayed(body)
    return to_chat_completion(call, body)


class ChatStream:
    """Per-request stream state: DashScope frames → OpenAI chunks, or a relay in compatible mode."""

    def __init__(self, s: Settings, call: Call) -> None:
        self.inner: Any = passthrough.RelayStream() if relayed(s, call.model) else NativeStream(call)

    def feed(self, event: str, data: bytes) -> list[bytes]:
        if event == "error":  # DashScope's own error frame, in either mode: its code keeps its status
            raise error(ERROR_FALLBACK_STATUS, data, streaming=True)
        return self.inner.feed(event, data)

    def close(self) -> list[bytes]:
        return self.inner.close()


# --- embeddings -----------------------------------------------------------------------------

# Texts per embedding call: https://help.aliyun.com/zh/model-studio/text-embedding-synchronous-api
EMBED_BATCH = {"text-embedding-v1": 25, "text-embedding-v2": 25}
EMBED_BATCH_FALLBACK = 10  # text-embedding-v3, v4 and newer
# OpenAI's own limit on `input` items: without it one request fans out into any number of calls.
EMBED_MAX_INPUTS = oai.MAX_INPUTS


class _EmbeddingParameters(Struct, omit_defaults=True):
    dimension: int | None = None


class _EmbeddingInput(Struct):
    texts: list[str]


class TextEmbeddingRequest(Struct):
    model: str
    input: _EmbeddingInput
    parameters: _EmbeddingParameters


class _Embedding(Struct):
    text_index: int
    embedding: list[float]


class _EmbeddingOutput(Struct):
    embeddings: list[_Embedding]


class _EmbeddingUsage(Struct, frozen=True):
    total_tokens: Count = 0


class TextEmbeddingResponse(Struct):
    output: _EmbeddingOutput
    usage: _EmbeddingUsage = _EmbeddingUsage()


_embedding_response_decoder = msgspec.json.Decoder(TextEmbeddingResponse)


def embed_batch(model: str) -> int:
    return EMBED_BATCH.get(model, EMBED_BATCH_FALLBACK)


def embeddings(s: Settings, call: Call) -> list[Outbound]:
    if s.mode == "compatible":
        url = s.common.endpoint + COMPATIBLE_PATH + "/embeddings"
        return [Outbound(url=url, headers=headers(s, call.key), body=passthrough.with_model(call, call.model))]
    req = oai.decode_embedding(call.body)
    texts = oai.embedding_texts(req)
    size = embed_batch(call.model)
    params = _EmbeddingParameters(dimension=req.dimensions)
    return [
        Outbound(
            url=s.common.endpoint + EMBEDDING_PATH,
            headers=headers(s, call.key),
            body=msgspec.json.encode(TextEmbeddingRequest(model=call.model, input=_EmbeddingInput(texts=texts[i : i + size]), parameters=params)),
        )
        for i in range(0, len(texts), size)
    ]


def embeddings_result(s: Settings, call: Call, bodies: list[bytes]) -> bytes:
    if s.mode == "compatible":
        return _check_relayed(bodies[0], "data")
    req = oai.decode_embedding(call.body)
    size = embed_batch(call.model)
    vectors: list[list[float]] = []
    tokens = 0
    for n, body in enumerate(bodies):
        try:
            doc = _embedding_response_decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise Error(502, f"DashScope answered embeddings with an unexpected body: {exc}", code="upstream_invalid_json") from None
        batch = sorted(doc.output.embeddings, key=lambda e: e.text_index)
        if [e.text_index for e in batch] != list(range(len(batch))):
            raise Error(502, f"DashScope returned embeddings for the wrong texts in batch {n}.", code="upstream_invalid_json")
        vectors += [e.embedding for e in batch]
        tokens += doc.usage.total_tokens
    expected = len(oai.embedding_inputs(req))
    if len(vectors) != expected or len(bodies) != -(-expected // size):
        raise Error(502, f"DashScope returned {len(vectors)} embeddings for {expected} texts.", code="upstream_invalid_json")
    return oai.embedding_list(vectors, call.model, tokens, req.encoding_format)


# --- models ---------------------------------------------------------------------------------


def models(s: Settings, call: Call, page: str | None) -> Outbound | None:
    if s.mode != "compatible":
        return None  # the native API has no model list
    return Outbound(method="GET", url=s.common.endpoint + COMPATIBLE_PATH + "/models", headers=headers(s, call.key))


models_result = openai.models_result

