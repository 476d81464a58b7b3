"""Qwen native response translation: DashScope generation answers, stream frames and error
bodies → OpenAI chat.completion, chat.completion.chunk and errors."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Struct

from .. import oai, passthrough
from ..core import Call, Error

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
    # DashScope answers 400 for an account in arrears; it is a permission matter, and a 400 would
    # read as a malformed request.
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

# `core.Error.code` values worth retrying after a pause. Throttling.AllocationQuota (a used-up
# quota) and Arrearage are not: waiting a moment does not change them.
RETRY_CODES: frozenset[str] = frozenset({
    "Throttling", "Throttling.RateQuota", "Throttling.BurstRate", "LimitRequests",
    "InternalError", "InternalError.Algo", "InternalError.Timeout", "SystemError",
    "ServiceUnavailable", "ModelServiceFailed", "RequestTimeOut",
})

# --- response translation -------------------------------------------------------------------


# A count an upstream reports: negative or past 2**53 (where JSON clients lose integers) is
# garbage, refused with a 502 like any other malformed answer rather than relayed.
Count = Annotated[int, Meta(ge=0, le=2**53 - 1)]


class _TokenDetails(Struct, frozen=True):
    cached_tokens: Count | None = None
    reasoning_tokens: Count | None = None


class Usage(Struct):
    input_tokens: Count = 0
    output_tokens: Count = 0
    total_tokens: Count | None = None
    prompt_tokens_details: _TokenDetails | None = None
    output_tokens_details: _TokenDetails | None = None


class _Function(Struct, frozen=True):
    name: str | None = None
    arguments: str | dict[str, Any] | None = None


class _ToolCall(Struct, frozen=True):
    # Typed, so that an upstream's odd value (a list for `function`, an object for `index`) is a
    # 502 at decoding instead of a crash further on.
    index: Count | None = None
    id: str | None = None
    function: _Function = _Function()


class _Message(Struct, frozen=True):
    role: str = "assistant"
    content: str | list[dict[str, Any]] | None = None
    reasoning_content: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(Struct):
    message: _Message = _Message()
    finish_reason: str | None = None
    index: Count | None = None
    logprobs: oai.ChoiceLogprobs | None = None


class _Output(Struct, frozen=True):
    choices: list[_Choice] | None = None
    # Old models ignore result_format "message" and answer in the text format.
    text: str | None = None
    finish_reason: str | None = None


class GenerationResponse(Struct):
    output: _Output = _Output()
    usage: Usage | None = None
    request_id: str = ""
    # An error in a 200 answer or a result frame: DashScope's {code, message}.
    code: str | None = None


_response_decoder = msgspec.json.Decoder(GenerationResponse)


def _decode_response(body: bytes) -> GenerationResponse:
    try:
        return _response_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Error(502, f"DashScope answered with an unexpected body: {exc}", code="upstream_invalid_json") from None
    except RecursionError:
        raise Error(502, "DashScope answered with JSON nested too deeply.", code="upstream_invalid_json") from None


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


def usage(u: Usage) -> oai.Usage:
    total = u.total_tokens if u.total_tokens is not None else u.input_tokens + u.output_tokens
    out = oai.Usage(prompt_tokens=u.input_tokens, completion_tokens=u.output_tokens, total_tokens=total)
    if u.prompt_tokens_details is not None and u.prompt_tokens_details.cached_tokens is not None:
        out.prompt_tokens_details = oai.PromptTokensDetails(cached_tokens=u.prompt_tokens_details.cached_tokens)
    if u.output_tokens_details is not None and u.output_tokens_details.reasoning_tokens is not None:
        out.completion_tokens_details = oai.CompletionTokensDetails(reasoning_tokens=u.output_tokens_details.reasoning_tokens)
    return out


def _arguments(fn: _Function) -> str:
    args = fn.arguments
    if isinstance(args, str):
        return args
    return "{}" if args is None else msgspec.json.encode(args).decode()


def _tool_call(tc: _ToolCall) -> oai.ToolCall:
    return oai.ToolCall(id=tc.id or "", function=oai.FunctionCall(name=tc.function.name or "", arguments=_arguments(tc.function)))


def response_id(call: Call, request_id: str) -> str:
    return f"chatcmpl-{request_id}" if request_id else call.id


def _answerless(doc: GenerationResponse, body: bytes) -> Error:
    """A 200 body (or result frame) without any choice: an error code in it, or garbage."""
    if doc.code:
        return error(502, body)
    return Error(502, "DashScope answered without any choice.", code="upstream_incomplete")


def to_chat_completion(call: Call, body: bytes) -> bytes:
    doc = _decode_response(body)
    choices = []
    if not _choices(doc.output):
        raise _answerless(doc, body)
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


class NativeStream:
    """Incremental DashScope frames (`incremental_output: true`) → OpenAI chunks: one role delta,
    tool-call id/name only in a call's first delta, one finish per choice, usage once at the end."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.id = call.id
        self.slots: dict[int, _Slot] = {}
        self.usage: Usage | None = None

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
        if doc.request_id and not self.slots:
            # Fixed before the first chunk: every chunk of a stream carries the same id.
            self.id = response_id(self.call, doc.request_id)
        if doc.code and not _choices(doc.output):
            raise _answerless(doc, data)
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
            i = tc.index if tc.index is not None else pos
            args = _arguments(tc.function) if tc.function.arguments is not None else ""
            if i not in slot.tools:
                slot.tools.add(i)
                tool_deltas.append(oai.ToolCallDelta(index=i, id=tc.id or "", type="function", function={"name": tc.function.name or "", "arguments": args}))
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
    if "RateQuota" in code or "Throttling" in code:
        return 429  # quota codes come under several families (e.g. a model's own rate quota)
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
