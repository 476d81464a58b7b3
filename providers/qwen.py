"""Alibaba Qwen on DashScope (Model Studio / 百炼), native API or its OpenAI-compatible mode.

Native (default, `QWEN_API_MODE=native`), docs https://help.aliyun.com/zh/model-studio/use-qwen-by-calling-api
and the official SDK https://github.com/dashscope/dashscope-sdk-python:
- chat: `POST {endpoint}/api/v1/services/aigc/text-generation/generation`, or
  `.../multimodal-generation/generation` when a message carries an image or audio part or the
  model is a VL/audio/omni model; `{"model","input":{"messages"},"parameters"}` with
  `result_format: "message"`.
- streaming: header `X-DashScope-SSE: enable` and `incremental_output: true` (never a diff of
  cumulative text); frames `id:`/`event:result`/`:HTTP_STATUS/200`/`data:`; an `event:error`
  frame carries `{code, message, request_id}`. Usage is cumulative in every frame: it is reported
  once, at the end.
- models that only answer streams (QwQ, QVQ, omni, `*-thinking`, open qwen3 `qwen3-32b` style,
  or any request with thinking on) are streamed upstream even for a non-stream client.
- ids are `chatcmpl-<request_id>`: DashScope's request_id stays recoverable for support tickets.
- embeddings: `POST .../api/v1/services/embeddings/text-embedding/text-embedding`, split into
  batches of DashScope's per-model limit.
- Qwen's own knobs travel as extra top-level fields (the openai SDK's `extra_body`):
  `enable_search`, `enable_thinking`, `thinking_budget`, `top_k`, `repetition_penalty`.
  `reasoning_effort` none/minimal → `enable_thinking: false`, low/medium/high → `true`.
- /v1/models: DashScope's native API has no model list: the configured model and aliases.
Not supported natively (400 naming the field): frequency_penalty ≠ 0, logit_bias, audio output,
prediction, legacy functions/function_call, file parts, verbosity.

Compatible (`QWEN_API_MODE=compatible`): everything is relayed to
`{endpoint}/compatible-mode/v1` as for any OpenAI-compatible upstream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import UNSET, Struct

from . import oai, openai, passthrough
from .core import Call, Common, ConfigError, Error, Outbound, load_common

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


# --- native wire types (DashScope's names) ---------------------------------------------------


class Parameters(Struct, omit_defaults=True, kw_only=True):
    # Required, so omit_defaults cannot drop it: without it old models answer `output.text`.
    result_format: str
    incremental_output: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: list[str] | None = None
    n: int | None = None
    presence_penalty: float | None = None
    repetition_penalty: float | None = None
    response_format: Any = None
    tools: list[oai.Tool] | None = None
    tool_choice: str | oai.NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    enable_search: bool | None = None
    enable_thinking: bool | None = None
    thinking_budget: int | None = None


class Input(Struct, kw_only=True):
    messages: list[dict[str, Any]]


class GenerationRequest(Struct, kw_only=True):
    model: str
    input: Input
    parameters: Parameters


class _Request(oai.ChatCompletionRequest, kw_only=True):
    enable_search: bool | None = None
    enable_thinking: bool | None = None
    thinking_budget: int | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None


_request_decoder = msgspec.json.Decoder(_Request)
# Qwen's fields outside OpenAI's schema, sent by clients as top-level extras (`extra_body`).
EXTRA_FIELDS = frozenset(set(_Request.__struct_fields__) - oai.CHAT_REQUEST_FIELDS)

# --- policy and tables ----------------------------------------------------------------------

MAPPED = frozenset({
    "messages", "model", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop",
    "seed", "n", "presence_penalty", "response_format", "tools", "tool_choice",
    "parallel_tool_calls", "logprobs", "top_logprobs", "stream", "stream_options",
    "reasoning_effort", "web_search_options",
})
# Bookkeeping fields with no effect on the answer.
IGNORED = frozenset({
    "user", "metadata", "store", "service_tier", "safety_identifier", "prompt_cache_key",
    "prompt_cache_retention", "prompt_cache_options", "moderation",
})
UNSUPPORTED = frozenset({
    "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "modalities",
    "prediction", "verbosity",
})
# Values of unsupported fields that ask for nothing beyond the default: accepted.
NEUTRAL: dict[str, Any] = {"frequency_penalty": 0, "modalities": ["text"]}

# https://help.aliyun.com/zh/model-studio/use-qwen-by-calling-api (parameter ranges)
RANGES: dict[str, tuple[float, float, bool, bool]] = {
    # field: (low, high, low inclusive, high inclusive)
    "temperature": (0, 2, True, False),
    "top_p": (0, 1, False, True),
    "n": (1, 4, True, True),
    "presence_penalty": (-2, 2, True, True),
    "top_logprobs": (0, 5, True, True),
    "seed": (0, 2**31 - 1, True, True),
    "max_tokens": (1, float("inf"), True, True),
    "max_completion_tokens": (1, float("inf"), True, True),
    "thinking_budget": (1, float("inf"), True, True),
    "top_k": (0, float("inf"), True, True),
    "repetition_penalty": (0, float("inf"), False, True),
}

# OpenAI's reasoning_effort → DashScope's enable_thinking (no budget is invented).
REASONING_EFFORT = {"none": False, "minimal": False, "low": True, "medium": True, "high": True}

FINISH_REASON = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
}
FINISH_FALLBACK = "stop"
# DashScope sends the string "null" on every frame before the last.
NOT_FINISHED = frozenset({"", "null"})

# https://help.aliyun.com/zh/model-studio/error-code
ERROR_STATUS = {
    "InvalidParameter": 400,
    "InvalidURL": 400,
    "BadRequest": 400,
    "DataInspectionFailed": 400,
    "data_inspection_failed": 400,
    "InvalidApiKey": 401,
    "InvalidApiKey.Missing": 401,
    "AccessDenied": 403,
    "Arrearage": 403,
    "Workspace.AccessDenied": 403,
    "Model.AccessDenied": 403,
    "ModelNotFound": 404,
    "ModelNotExist": 404,
    "NotFound": 404,
    "Throttling": 429,
    "Throttling.RateQuota": 429,
    "Throttling.AllocationQuota": 429,
    "Throttling.BurstRate": 429,
    "LimitRequests": 429,
    "InternalError": 500,
    "InternalError.Algo": 500,
    "SystemError": 500,
    "ServiceUnavailable": 503,
    "ModelServiceFailed": 503,
    "InternalError.Timeout": 504,
    "RequestTimeOut": 504,
}
ERROR_FALLBACK_STATUS = 500  # a code we do not know, where no HTTP status says better

# Texts per embedding call: https://help.aliyun.com/zh/model-studio/text-embedding-synchronous-api
EMBED_BATCH = {"text-embedding-v1": 25, "text-embedding-v2": 25}
EMBED_BATCH_FALLBACK = 10  # text-embedding-v3, v4 and newer

_STREAM_ONLY = re.compile(r"^(qwq|qvq)|omni|-thinking|^qwen3-\d+(\.\d+)?b(-a\d+(\.\d+)?b)?$")
_MULTIMODAL_MODEL = re.compile(r"-vl|qvq|-audio|omni")

# --- request translation --------------------------------------------------------------------


def _check_policy(call: Call, req: _Request) -> None:
    for name in call.fields:
        if name in UNSUPPORTED:
            value = getattr(req, name)
            if value is not None and value != NEUTRAL.get(name, object()):
                raise Error(400, f"`{name}` is not supported by DashScope's native API.", param=name, code="unsupported_parameter")
    for name, (low, high, low_in, high_in) in RANGES.items():
        value = getattr(req, name)
        if value is None:
            continue
        ok = (value >= low if low_in else value > low) and (value <= high if high_in else value < high)
        if not ok:
            lo = "[" if low_in else "("
            hi = "]" if high_in else ")"
            raise Error(400, f"`{name}`={value} is outside DashScope's range {lo}{low:g}, {high:g}{hi}.", param=name, code="invalid_value")
    if isinstance(req.stop, list) and len(req.stop) > 4:
        raise Error(400, "`stop` takes at most 4 sequences.", param="stop", code="invalid_value")


def _thinking(req: _Request) -> bool | None:
    if req.reasoning_effort is None:
        return req.enable_thinking
    if req.reasoning_effort not in REASONING_EFFORT:
        raise Error(400, f"`reasoning_effort`={req.reasoning_effort!r} is not one of {', '.join(REASONING_EFFORT)}.", param="reasoning_effort", code="invalid_value")
    wanted = REASONING_EFFORT[req.reasoning_effort]
    if req.enable_thinking is not None and req.enable_thinking != wanted:
        raise Error(400, "`reasoning_effort` contradicts `enable_thinking`.", param="reasoning_effort", code="invalid_value")
    return wanted


def _is_multimodal(model: str, messages: list[oai.Message]) -> bool:
    if _MULTIMODAL_MODEL.search(model.lower()):
        return True
    for m in messages:
        content = getattr(m, "content", None)
        if isinstance(content, list) and any(isinstance(p, (oai.ImagePart, oai.AudioPart)) for p in content):
            return True
    return False


def _parts(content: str | list[oai.ContentPart] | None, where: str) -> list[dict[str, str]]:
    """OpenAI content → DashScope multimodal content list."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}]
    out: list[dict[str, str]] = []
    for p in content:
        if isinstance(p, oai.TextPart):
            out.append({"text": p.text})
        elif isinstance(p, oai.ImagePart):
            # https and data: URLs are both taken as they are:
            # https://help.aliyun.com/zh/model-studio/vision (Base64 编码输入)
            out.append({"image": p.image_url.url})
        elif isinstance(p, oai.AudioPart):
            out.append({"audio": f"data:audio/{p.input_audio.format};base64,{p.input_audio.data}"})
        else:
            raise Error(400, f"`{where}`: {type(p).__name__.removesuffix('Part').lower()} parts are not supported by DashScope.", param=where, code="unsupported_content")
    return out


def _text(content: str | list[oai.ContentPart] | None, where: str) -> str:
    if isinstance(content, list) and not all(isinstance(p, oai.TextPart) for p in content):
        raise Error(400, f"`{where}`: only text parts can be sent to a text model; use a -vl model for images.", param=where, code="unsupported_content")
    return oai.text_of(content)


def _message(m: oai.Message, i: int, multimodal: bool) -> dict[str, Any]:
    where = f"messages[{i}].content"
    content = (lambda c: _parts(c, where)) if multimodal else (lambda c: _text(c, where))
    if isinstance(m, (oai.SystemMessage, oai.DeveloperMessage)):
        return {"role": "system", "content": content(m.content)}
    if isinstance(m, oai.UserMessage):
        return {"role": "user", "content": content(m.content)}
    if isinstance(m, oai.AssistantMessage):
        # reasoning_content is not sent back: DashScope does not take it as input.
        out: dict[str, Any] = {"role": "assistant", "content": content(m.content) if m.content is not None else ("" if not multimodal else [])}
        if m.tool_calls:
            out["tool_calls"] = [msgspec.to_builtins(tc) for tc in m.tool_calls]
        if m.function_call is not None:
            raise Error(400, "Legacy `function_call` turns are not supported; use tool_calls.", param=f"messages[{i}].function_call", code="unsupported_parameter")
        return out
    if isinstance(m, oai.ToolMessage):
        return {"role": "tool", "content": content(m.content), "tool_call_id": m.tool_call_id}
    raise Error(400, "Legacy `function` messages are not supported; use tool messages.", param=f"messages[{i}].role", code="unsupported_parameter")


def _decode(call: Call) -> _Request:
    try:
        return _request_decoder.decode(call.body)
    except msgspec.DecodeError as exc:
        raise oai.validation_error(exc) from None


def stream_only(model: str, thinking: bool | None) -> bool:
    return bool(thinking) or bool(_STREAM_ONLY.search(model.lower()))


def to_generation(call: Call, req: _Request, stream: bool) -> GenerationRequest:
    _check_policy(call, req)
    thinking = _thinking(req)
    multimodal = _is_multimodal(call.model, req.messages)
    messages = [_message(m, i, multimodal) for i, m in enumerate(req.messages)]
    response_format = msgspec.to_builtins(req.response_format) if req.response_format is not None else None
    search = req.enable_search
    if req.web_search_options is not None and search is None:
        search = True
    params = Parameters(
        result_format="message",
        incremental_output=True if stream else None,
        temperature=req.temperature,
        top_p=req.top_p,
        top_k=req.top_k,
        max_tokens=req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens,
        seed=req.seed,
        stop=oai.stop_list(req.stop),
        n=req.n,
        presence_penalty=req.presence_penalty,
        repetition_penalty=req.repetition_penalty,
        response_format=response_format,
        tools=req.tools,
        tool_choice=req.tool_choice,
        parallel_tool_calls=req.parallel_tool_calls,
        logprobs=req.logprobs,
        top_logprobs=req.top_logprobs,
        enable_search=search,
        enable_thinking=thinking,
        thinking_budget=req.thinking_budget,
    )
    return GenerationRequest(model=call.model, input=Input(messages=messages), parameters=params)


def chat(s: Settings, call: Call) -> Outbound:
    if s.mode == "compatible":
        return _compatible_chat(s, call)
    req = _decode(call)
    stream = call.stream or stream_only(call.model, _thinking(req))
    body = to_generation(call, req, stream)
    multimodal = _is_multimodal(call.model, req.messages)
    path = MULTIMODAL_PATH if multimodal else TEXT_PATH
    return Outbound(url=s.common.endpoint + path, headers=headers(s, call.key, sse=stream), body=oai.encode(body), stream=stream)


def _compatible_chat(s: Settings, call: Call) -> Outbound:
    base = s.common.endpoint + COMPATIBLE_PATH
    stream = call.stream
    body = passthrough.with_model(call, call.model)
    if not stream:
        thinking = _extra_bool(call, "enable_thinking")
        if stream_only(call.model, thinking):
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


# --- response translation -------------------------------------------------------------------


class _Usage(Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int | None = None
    prompt_tokens_details: dict[str, Any] | None = None
    output_tokens_details: dict[str, Any] | None = None


class _Message(Struct, frozen=True):
    role: str = "assistant"
    content: str | list[dict[str, Any]] | None = None
    reasoning_content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class _Choice(Struct):
    message: _Message = _Message()
    finish_reason: str | None = None
    index: int | None = None
    logprobs: oai.ChoiceLogprobs | None = None


class _Output(Struct, frozen=True):
    choices: list[_Choice] | None = None
    # Old models ignore result_format "message" and answer in the text format.
    text: str | None = None
    finish_reason: str | None = None


class GenerationResponse(Struct):
    output: _Output = _Output()
    usage: _Usage | None = None
    request_id: str = ""


_response_decoder = msgspec.json.Decoder(GenerationResponse)


def _decode_response(body: bytes) -> GenerationResponse:
    try:
        return _response_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Error(502, f"DashScope answered with an unexpected body: {exc}", code="upstream_invalid_json") from None


def _choices(out: _Output) -> list[_Choice]:
    if out.choices is not None:
        return out.choices
    if out.text is not None:
        return [_Choice(message=_Message(content=out.text), finish_reason=out.finish_reason)]
    return []


def _content_text(content: str | list[dict[str, Any]] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p["text"] for p in content if isinstance(p.get("text"), str))


def finish_reason(raw: str | None, has_tool_calls: bool) -> str | None:
    if raw is None or raw in NOT_FINISHED:
        return None
    mapped = FINISH_REASON.get(raw, FINISH_FALLBACK)
    # DashScope ends some tool-calling turns with "stop":
    # https://help.aliyun.com/zh/model-studio/qwen-function-calling
    if mapped == "stop" and has_tool_calls:
        return "tool_calls"
    return mapped


def usage(u: _Usage) -> oai.Usage:
    total = u.total_tokens if u.total_tokens is not None else u.input_tokens + u.output_tokens
    out = oai.Usage(prompt_tokens=u.input_tokens, completion_tokens=u.output_tokens, total_tokens=total)
    cached = (u.prompt_tokens_details or {}).get("cached_tokens")
    if isinstance(cached, int):
        out.prompt_tokens_details = oai.PromptTokensDetails(cached_tokens=cached)
    reasoning = (u.output_tokens_details or {}).get("reasoning_tokens")
    if isinstance(reasoning, int):
        out.completion_tokens_details = oai.CompletionTokensDetails(reasoning_tokens=reasoning)
    return out


def _tool_call(tc: dict[str, Any]) -> oai.ToolCall:
    fn = tc.get("function") or {}
    args = fn.get("arguments")
    if not isinstance(args, str):
        args = "{}" if args is None else msgspec.json.encode(args).decode()
    return oai.ToolCall(id=tc.get("id") or "", function=oai.FunctionCall(name=fn.get("name") or "", arguments=args))


def response_id(call: Call, request_id: str) -> str:
    return f"chatcmpl-{request_id}" if request_id else call.id


def chat_result(s: Settings, call: Call, body: bytes) -> bytes:
    if s.mode == "compatible":
        return passthrough.check_json(body)
    doc = _decode_response(body)
    choices = []
    for pos, c in enumerate(_choices(doc.output)):
        msg = oai.ResponseMessage(content=_content_text(c.message.content))
        if c.message.reasoning_content:
            msg.reasoning_content = c.message.reasoning_content
        if c.message.tool_calls:
            msg.tool_calls = [_tool_call(tc) for tc in c.message.tool_calls]
            msg.content = msg.content or None
        index = c.index if c.index is not None else pos
        finish = finish_reason(c.finish_reason, bool(c.message.tool_calls)) or FINISH_FALLBACK
        choices.append(oai.Choice(index=index, message=msg, finish_reason=finish, logprobs=c.logprobs))
    result = oai.ChatCompletion(id=response_id(call, doc.request_id), choices=choices, created=call.created, model=call.model)
    if doc.usage is not None:
        result.usage = usage(doc.usage)
    return oai.encode(result)


class _Slot:
    __slots__ = ("started", "tools", "finished")

    def __init__(self) -> None:
        self.started = False
        self.tools: set[int] = set()
        self.finished = False


class _NativeStream:
    def __init__(self, call: Call) -> None:
        self.call = call
        self.id = call.id
        self.slots: dict[int, _Slot] = {}
        self.usage: _Usage | None = None

    def _chunk(self, choices: list[oai.ChunkChoice]) -> bytes:
        chunk = oai.ChatCompletionChunk(id=self.id, choices=choices, created=self.call.created, model=self.call.model)
        if self.call.include_usage:
            chunk.usage = None
        return oai.encode(chunk)

    def feed(self, event: str, data: bytes) -> list[bytes]:
        if event == "error":
            raise error(ERROR_FALLBACK_STATUS, data, streaming=True)
        if not data.strip():
            return []
        doc = _decode_response(data)
        if doc.request_id and self.id == self.call.id:
            self.id = response_id(self.call, doc.request_id)
        if doc.usage is not None:
            self.usage = doc.usage  # cumulative: the last one is the total
        out = []
        for pos, c in enumerate(_choices(doc.output)):
            index = c.index if c.index is not None else pos
            out += self._choice(index, c)
        return out

    def _choice(self, index: int, c: _Choice) -> list[bytes]:
        slot = self.slots.setdefault(index, _Slot())
        if slot.finished:
            return []
        delta = oai.Delta()
        text = _content_text(c.message.content)
        if text:
            delta.content = text
        if c.message.reasoning_content:
            delta.reasoning_content = c.message.reasoning_content
        tool_deltas = []
        for pos, tc in enumerate(c.message.tool_calls or ()):
            i = tc.get("index", pos)
            fn = tc.get("function") or {}
            args = fn.get("arguments") or ""
            if i not in slot.tools:
                slot.tools.add(i)
                tool_deltas.append(oai.ToolCallDelta(index=i, id=tc.get("id") or "", type="function", function={"name": fn.get("name") or "", "arguments": args}))
            elif args:
                tool_deltas.append(oai.ToolCallDelta(index=i, function={"arguments": args}))
        if tool_deltas:
            delta.tool_calls = tool_deltas
        out = []
        has_delta = delta != oai.Delta()
        if has_delta or not slot.started:
            if not slot.started:
                delta.role = "assistant"
                if delta.content is UNSET and delta.tool_calls is UNSET:
                    delta.content = ""
                slot.started = True
            out.append(self._chunk([oai.ChunkChoice(index=index, delta=delta, logprobs=c.logprobs)]))
        finish = finish_reason(c.finish_reason, bool(slot.tools))
        if finish is not None:
            slot.finished = True
            out.append(self._chunk([oai.ChunkChoice(index=index, delta=oai.Delta(), finish_reason=finish)]))
        return out

    def close(self) -> list[bytes]:
        if not self.slots or not all(s.finished for s in self.slots.values()):
            raise Error(502, "DashScope's stream ended before the answer was complete.", code="upstream_incomplete")
        if self.call.include_usage and self.usage is not None:
            chunk = oai.ChatCompletionChunk(id=self.id, choices=[], created=self.call.created, model=self.call.model, usage=usage(self.usage))
            return [oai.encode(chunk)]
        return []


class ChatStream:
    """Per-request stream state: DashScope frames → OpenAI chunks, or a relay in compatible mode."""

    def __init__(self, s: Settings, call: Call) -> None:
        self.inner: Any = passthrough.RelayStream() if s.mode == "compatible" else _NativeStream(call)

    def feed(self, event: str, data: bytes) -> list[bytes]:
        return self.inner.feed(event, data)

    def close(self) -> list[bytes]:
        return self.inner.close()


# --- embeddings -----------------------------------------------------------------------------


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
    total_tokens: int = 0


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
    texts = oai.embedding_inputs(req)
    if req.dimensions is not None and req.dimensions < 1:
        raise Error(400, "`dimensions` must be at least 1.", param="dimensions", code="invalid_value")
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
        return passthrough.check_json(bodies[0])
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


# --- errors ---------------------------------------------------------------------------------


class _DashScopeError(Struct):
    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    error: Any = None  # compatible mode answers OpenAI's envelope


_error_decoder = msgspec.json.Decoder(_DashScopeError)


def error_status(code: str, http_status: int | None) -> int:
    if code in ERROR_STATUS:
        return ERROR_STATUS[code]
    family = code.split(".", 1)[0]
    if family in ERROR_STATUS:
        return ERROR_STATUS[family]
    if http_status and http_status >= 400:
        return http_status
    return ERROR_FALLBACK_STATUS


def error(status: int, body: bytes, *, streaming: bool = False) -> Error:
    """A DashScope error body ({code, message, request_id}, or an SSE error frame) → Error."""
    if body.lstrip().startswith((b"id:", b"event:", b":", b"data:")):
        data = [ln[5:] for ln in body.splitlines() if ln.startswith(b"data:")]
        body = data[-1].strip() if data else b""
    try:
        doc = _error_decoder.decode(body)
    except msgspec.DecodeError:
        return passthrough.error_from_body(status, body, streaming=streaming)
    if doc.error is not None or not doc.code:
        return passthrough.error_from_body(status, body, streaming=streaming)
    http = None if streaming else status
    code_status = error_status(doc.code, http)
    message = doc.message or f"DashScope error {doc.code}."
    if doc.request_id:
        message = f"{message} (request_id: {doc.request_id})"
    return Error(code_status, message, code=doc.code)
