"""Anthropic Message, model list and error bodies → OpenAI chat.completion, ids and errors.

Types as in the official SDK: `anthropic/types/message.py`, `usage.py`, `model_info.py`,
`shared/error_response.py`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from msgspec import Struct

from .. import oai
from ..core import SNIPPET_BYTES, Call, Error
from . import ids, tables

# --- wire types -----------------------------------------------------------------------------


class Usage(Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class ContentBlock(Struct):
    """One `content` block; kinds told apart by `type`, unknown kinds (server tools) skipped."""

    type: str = ""
    text: str | None = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None


class StopDetails(Struct, frozen=True):
    type: str = ""
    category: str | None = None
    explanation: str | None = None


def refusal_text(details: StopDetails | None) -> str | None:
    """A refusal's explanation, for OpenAI's `refusal` field."""
    if details is None or details.type != "refusal":
        return None
    return details.explanation or (f"Refused ({details.category})." if details.category else None)


class Message(Struct):
    id: str = ""
    type: str = ""  # "message"; anything else is not an answer
    model: str = ""
    content: list[ContentBlock] = []
    stop_reason: str | None = None
    stop_details: StopDetails | None = None
    usage: Usage | None = None
    error: Any = None  # a 200 that is really an error envelope


_message_decoder = msgspec.json.Decoder(Message)
_encode = msgspec.json.Encoder().encode

# --- pieces shared with the stream ----------------------------------------------------------


def finish_reason(raw: str | None) -> str:
    return tables.FINISH_REASON.get(raw or "", tables.FINISH_FALLBACK)


def usage(u: Usage) -> oai.Usage:
    """prompt = input + cache read + cache writes (Anthropic counts them apart; OpenAI's prompt
    tokens include cached ones); cached_tokens = cache reads."""
    read = u.cache_read_input_tokens or 0
    prompt = (u.input_tokens or 0) + read + (u.cache_creation_input_tokens or 0)
    completion = u.output_tokens or 0
    return oai.Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=oai.PromptTokensDetails(cached_tokens=read),
    )


def merge_usage(into: Usage, new: Usage | None) -> None:
    """message_delta usage is cumulative and may restate any field: the latest value wins."""
    if new is None:
        return
    for name in Usage.__struct_fields__:
        value = getattr(new, name)
        if value is not None:
            setattr(into, name, value)


def fallback_tool_id(call: Call, position: int) -> str:
    # Anthropic always sends ids; a compatible host might not.
    return f"toolu_{hashlib.sha256(call.id.encode()).hexdigest()[:16]}_{position}"


def carried(block: ContentBlock) -> tuple[str, ...] | None:
    if block.type == "thinking":
        return ("t", block.thinking or "", block.signature or "")
    if block.type == "redacted_thinking":
        return ("r", block.data or "")
    return None


def _decode(body: bytes) -> Message:
    try:
        return _message_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Error(502, f"Anthropic answered with an unexpected body: {exc}", code="upstream_invalid_json") from None


def to_chat_completion(call: Call, body: bytes, answer_tool: bool) -> bytes:
    doc = _decode(body)
    if doc.type == "error" or doc.error is not None:
        raise error(502, body)
    if doc.type != "message":
        raise Error(502, f"Anthropic answered with a {doc.type or 'typeless'} object instead of a message.", code="upstream_invalid_json")
    if doc.stop_reason is None and not doc.content:
        # A whole message always says why it stopped; an empty one that does not is no answer.
        raise Error(502, "Anthropic answered with an empty message that never finished.", code="upstream_incomplete")
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[oai.ToolCall] = []
    pending: ids.Carried = []
    for block in doc.content:
        kind = block.type
        if kind == "text":
            text.append(block.text or "")
        elif kind in ("thinking", "redacted_thinking"):
            if kind == "thinking" and block.thinking:
                thoughts.append(block.thinking)
            pending.append(carried(block))  # type: ignore[arg-type]
        elif kind == "tool_use":
            args = _encode(block.input if block.input is not None else {}).decode()
            if answer_tool and block.name == tables.ANSWER_TOOL:
                text.append(args)
                continue
            use_id = block.id or fallback_tool_id(call, len(calls))
            calls.append(oai.ToolCall(id=ids.tool_call_id(use_id, pending), function=oai.FunctionCall(name=block.name or "", arguments=args)))
            pending = []
    msg = oai.ResponseMessage(content="".join(text) if text or not calls else None)
    if thoughts:
        msg.reasoning_content = "".join(thoughts)
    if calls:
        msg.tool_calls = calls
    msg.refusal = refusal_text(doc.stop_details)
    finish = finish_reason(doc.stop_reason)
    if answer_tool and finish == "tool_calls" and not calls:
        finish = "stop"  # the answer came through the tool: for the client it is plain content
    choice = oai.Choice(index=0, message=msg, finish_reason=finish)
    result = oai.ChatCompletion(id=doc.id or call.id, choices=[choice], created=call.created, model=doc.model or call.model)
    if doc.usage is not None:
        result.usage = usage(doc.usage)
    return oai.encode(result)


# --- models ---------------------------------------------------------------------------------


class _ModelInfo(Struct):
    id: str = ""


class ModelList(Struct):
    data: list[_ModelInfo] = []
    has_more: bool = False
    last_id: str | None = None


_models_decoder = msgspec.json.Decoder(ModelList)


def models_result(body: bytes) -> tuple[list[str], str | None]:
    try:
        doc = _models_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Error(502, f"Anthropic answered the model list with an unexpected body: {exc}", code="upstream_invalid_json") from None
    ids_ = [m.id for m in doc.data if m.id]
    return ids_, (doc.last_id if doc.has_more and doc.last_id else None)


# --- errors ---------------------------------------------------------------------------------


class _ErrorObject(Struct):
    type: str = ""
    message: str = ""


class ErrorResponse(Struct):
    type: str = ""
    error: _ErrorObject | None = None
    request_id: str | None = None


_error_decoder = msgspec.json.Decoder(ErrorResponse)


def error(status: int, body: bytes, *, streaming: bool = False) -> Error:
    """`{"type":"error","error":{"type","message"},"request_id"}` → Error; code = error.type.

    The status comes from the error type (Anthropic's table), so an error inside a 200 stream
    and HTTP 529 `overloaded_error` get the status an OpenAI client acts on (503).
    """
    try:
        doc = _error_decoder.decode(body)
    except msgspec.DecodeError:
        doc = None
    if doc is None or doc.error is None:
        snippet = body[:SNIPPET_BYTES].decode("utf-8", "replace").strip()
        where = "in the stream" if streaming else f"(HTTP {status})"
        return Error(status if status >= 400 else 502, f"Anthropic error {where}: {snippet or 'empty body'}", code="upstream_error")
    e = doc.error
    code_status = tables.ERROR_STATUS.get(e.type)
    if code_status is None:
        code_status = status if 400 <= status < 600 and status != 529 else tables.ERROR_FALLBACK_STATUS
    message = e.message or f"Anthropic error {e.type or status}."
    if doc.request_id:
        message = f"{message} (request_id: {doc.request_id})"
    return Error(code_status, message, code=e.type or None)
