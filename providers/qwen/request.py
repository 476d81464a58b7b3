"""Qwen native request translation: OpenAI chat request → DashScope generation request.

Wire format: https://help.aliyun.com/zh/model-studio/use-qwen-by-calling-api and the official
SDK's `dashscope/aigc/generation.py`, `multimodal_conversation.py`.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import Struct

from .. import oai
from ..core import Call, Error

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

# OpenAI's reasoning_effort → (enable_thinking, thinking_budget in tokens). "high" leaves the
# budget to the model (its maximum chain-of-thought length); a client's own `thinking_budget`
# (extra_body) wins over the table.
# https://help.aliyun.com/zh/model-studio/deep-thinking (thinking_budget)
REASONING_EFFORT: dict[str, tuple[bool, int | None]] = {
    "none": (False, None),
    "minimal": (True, 512),
    "low": (True, 2048),
    "medium": (True, 8192),
    "high": (True, None),
}

# Native text models take a message's content as one string: several text parts are joined with
# a newline (as vLLM's chat templates join them), never glued ("Hello" + "World" ≠ "HelloWorld").
# The multimodal endpoint takes them as a list and keeps them apart.
TEXT_PART_SEPARATOR = "\n"

_STREAM_ONLY = re.compile(r"^(qwq|qvq)|omni|-thinking|^qwen3-\d+(\.\d+)?b(-a\d+(\.\d+)?b)?$")
# Qwen3.5 and newer answer on the multimodal endpoint only (text-generation says "url error"):
# https://help.aliyun.com/zh/model-studio/deep-thinking (DashScope tab).
_MULTIMODAL_MODEL = re.compile(r"-vl|qvq|-audio|omni|^qwen3\.[5-9]")
_MEDIA_PARTS = (oai.ImagePart, oai.AudioPart, oai.VideoPart, oai.VideoFramesPart)

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


def thinking(req: _Request) -> bool | None:
    if req.reasoning_effort is None:
        return req.enable_thinking
    if req.reasoning_effort not in REASONING_EFFORT:
        raise Error(400, f"`reasoning_effort`={req.reasoning_effort!r} is not one of {', '.join(REASONING_EFFORT)}.", param="reasoning_effort", code="invalid_value")
    wanted = REASONING_EFFORT[req.reasoning_effort][0]
    if req.enable_thinking is not None and req.enable_thinking != wanted:
        raise Error(400, "`reasoning_effort` contradicts `enable_thinking`.", param="reasoning_effort", code="invalid_value")
    return wanted


def is_multimodal(model: str, messages: list[oai.Message]) -> bool:
    if _MULTIMODAL_MODEL.search(model.lower()):
        return True
    for m in messages:
        content = getattr(m, "content", None)
        if isinstance(content, list) and any(isinstance(p, _MEDIA_PARTS) for p in content):
            return True
    return False


def _parts(content: str | list[oai.ContentPart] | None, where: str) -> list[dict[str, Any]]:
    """OpenAI content → DashScope multimodal content list."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}]
    out: list[dict[str, Any]] = []
    for j, p in enumerate(content):
        if isinstance(p, oai.TextPart):
            out.append({"text": p.text})
        elif isinstance(p, oai.RefusalPart):
            out.append({"text": p.refusal})
        elif isinstance(p, oai.ImagePart):
            # https and data: URLs are both taken as they are:
            # https://help.aliyun.com/zh/model-studio/vision (Base64 编码输入)
            out.append({"image": p.image_url.url})
        elif isinstance(p, oai.AudioPart):
            out.append({"audio": f"data:audio/{p.input_audio.format};base64,{p.input_audio.data}"})
        elif isinstance(p, oai.VideoPart):
            # A video file URL: https://help.aliyun.com/zh/model-studio/vision (视频理解)
            out.append({"video": p.video_url.url})
        elif isinstance(p, oai.VideoFramesPart):
            # A video as frame images, or one video URL, as DashScope takes it (same page).
            if isinstance(p.video, list) and not (2 <= len(p.video) <= 512):
                at = f"{where}[{j}].video"
                raise Error(400, f"`{at}`: a video as images takes 2 to 512 frames.", param=at, code="invalid_value")
            out.append({"video": p.video})
        else:
            at = f"{where}[{j}]"
            raise Error(400, f"`{at}`: {type(p).__name__.removesuffix('Part').lower()} parts are not supported by DashScope.", param=at, code="unsupported_content")
    return out


def _text(content: str | list[oai.ContentPart] | None, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for j, p in enumerate(content):
        if isinstance(p, oai.TextPart):
            texts.append(p.text)
        elif isinstance(p, oai.RefusalPart):  # an assistant's earlier refusal, replayed: its words
            texts.append(p.refusal)
        else:  # media parts never get here (they choose the multimodal endpoint): files
            at = f"{where}[{j}]"
            kind = type(p).__name__.removesuffix("Part").lower()
            raise Error(400, f"`{at}`: {kind} parts are not supported by DashScope.", param=at, code="unsupported_content")
    return TEXT_PART_SEPARATOR.join(texts)


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
            # Vendor extras a client echoes on calls (extra_content) are not DashScope's: not sent.
            out["tool_calls"] = [{"id": tc.id, "type": tc.type, "function": msgspec.to_builtins(tc.function)} for tc in m.tool_calls]
        if m.function_call is not None:
            raise Error(400, "Legacy `function_call` turns are not supported; use tool_calls.", param=f"messages[{i}].function_call", code="unsupported_parameter")
        return out
    if isinstance(m, oai.ToolMessage):
        return {"role": "tool", "content": content(m.content), "tool_call_id": m.tool_call_id}
    raise Error(400, "Legacy `function` messages are not supported; use tool messages.", param=f"messages[{i}].role", code="unsupported_parameter")


def decode(call: Call) -> _Request:
    try:
        return _request_decoder.decode(call.body)
    except msgspec.DecodeError as exc:
        raise oai.validation_error(exc) from None


def stream_only(model: str, thinking: bool | None) -> bool:
    return bool(thinking) or bool(_STREAM_ONLY.search(model.lower()))


def _thinking_budget(req: _Request, wants_thinking: bool | None) -> int | None:
    if req.thinking_budget is not None or not wants_thinking or req.reasoning_effort is None:
        return req.thinking_budget
    return REASONING_EFFORT[req.reasoning_effort][1]


def to_generation(call: Call, req: _Request, stream: bool) -> GenerationRequest:
    _check_policy(call, req)
    wants_thinking = thinking(req)
    multimodal = is_multimodal(call.model, req.messages)
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
        enable_thinking=wants_thinking,
        thinking_budget=_thinking_budget(req, wants_thinking),
    )
    return GenerationRequest(model=call.model, input=Input(messages=messages), parameters=params)

