"""Gemini response translation: GenerateContentResponse and error bodies → OpenAI."""

from __future__ import annotations

import msgspec
from msgspec import Struct

from .. import oai
from ..core import Call, Error
from .endpoint import Settings
from .ids import tool_call_id
from .tables import FINISH_FALLBACK, FINISH_REASON
from .wire import Candidate, FunctionCall, GenerateContentResponse, LogprobsResult, UsageMetadata, encode, error_decoder, response_decoder

def finish_reason(raw: str | None, has_tool_calls: bool) -> str:
    # Gemini says STOP when the parts hold function calls.
    if has_tool_calls:
        return "tool_calls"
    return FINISH_REASON.get(raw or "", FINISH_FALLBACK)


def usage(u: UsageMetadata) -> oai.Usage:
    completion = u.candidates_token_count + u.thoughts_token_count
    total = u.total_token_count if u.total_token_count is not None else u.prompt_token_count + completion
    return oai.Usage(
        prompt_tokens=u.prompt_token_count,
        completion_tokens=completion,
        total_tokens=total,
        prompt_tokens_details=oai.PromptTokensDetails(cached_tokens=u.cached_content_token_count),
        completion_tokens_details=oai.CompletionTokensDetails(reasoning_tokens=u.thoughts_token_count),
    )


def logprobs(r: LogprobsResult | None) -> oai.ChoiceLogprobs | None:
    if r is None:
        return None
    content = []
    for k, chosen in enumerate(r.chosen_candidates):
        top = r.top_candidates[k].candidates if k < len(r.top_candidates) else []
        content.append(oai.TokenLogprob(
            token=chosen.token,
            logprob=chosen.log_probability,
            top_logprobs=[oai.TopLogprob(token=t.token, logprob=t.log_probability) for t in top],
        ))
    return oai.ChoiceLogprobs(content=content)


def _decode(body: bytes) -> GenerateContentResponse:
    try:
        return response_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Error(502, f"Gemini answered with an unexpected body: {exc}", code="upstream_invalid_json") from None
    except RecursionError:
        raise Error(502, "Gemini answered with JSON nested too deeply.", code="upstream_invalid_json") from None


def _blocked(doc: GenerateContentResponse) -> Error | None:
    fb = doc.prompt_feedback
    if doc.candidates or fb is None or not fb.block_reason:
        return None
    detail = f": {fb.block_reason_message}" if fb.block_reason_message else ""
    return Error(400, f"Gemini blocked the prompt ({fb.block_reason}){detail}.", code="content_filter")


class _Split(Struct):
    text: list[str]
    thoughts: list[str]
    calls: list[tuple[FunctionCall, str | None]]
    # A signature Gemini put on a text part (the last one wins: Google signs the final part).
    signature: str | None = None


def _split(c: Candidate) -> _Split:
    out = _Split(text=[], thoughts=[], calls=[])
    for p in (c.content.parts if c.content else None) or ():
        if p.function_call is not None:
            out.calls.append((p.function_call, p.thought_signature))
        elif p.text is not None:
            (out.thoughts if p.thought else out.text).append(p.text)
            if p.thought_signature:
                out.signature = p.thought_signature
    return out


def extra_content(signature: str) -> dict[str, dict[str, str]]:
    """Where a text part's signature rides back to the client, to be echoed on the next turn:
    the name Google's OpenAI-compatible endpoint uses (https://ai.google.dev/gemini-api/docs/openai#thinking)."""
    return {"google": {"thought_signature": signature}}


def _tool_call(call: Call, candidate: int, position: int, fc: FunctionCall, sig: str | None) -> oai.ToolCall:
    return oai.ToolCall(
        id=tool_call_id(call, candidate, position, sig, fc.id),
        function=oai.FunctionCall(name=fc.name, arguments=encode(fc.args or {}).decode()),
    )


def chat_result(s: Settings, call: Call, body: bytes) -> bytes:
    doc = _decode(body)
    if doc.error is not None:  # inside a 200, as in a stream, the envelope's code names the status
        raise error(502, body, streaming=True)
    if (blocked := _blocked(doc)) is not None:
        raise blocked
    if not doc.candidates:
        raise Error(502, "Gemini answered without a candidate.", code="upstream_incomplete")
    choices = []
    for pos, c in enumerate(doc.candidates):
        index = c.index if c.index is not None else pos
        if not c.finish_reason:
            # "If empty, the model has not stopped generating tokens" (Candidate.finishReason):
            # a whole answer without one is cut off, not a short success.
            raise Error(502, "Gemini answered a candidate without a finish reason: the answer is incomplete.", code="upstream_incomplete")
        split = _split(c)
        msg = oai.ResponseMessage(content="".join(split.text) if split.text or not split.calls else None)
        if split.thoughts:
            msg.reasoning_content = "".join(split.thoughts)
        if split.calls:
            msg.tool_calls = [_tool_call(call, index, k, fc, sig) for k, (fc, sig) in enumerate(split.calls)]
        if split.signature:
            msg.extra_content = extra_content(split.signature)
        finish = finish_reason(c.finish_reason, bool(split.calls))
        choices.append(oai.Choice(index=index, message=msg, finish_reason=finish, logprobs=logprobs(c.logprobs_result)))
    result = oai.ChatCompletion(id=call.id, choices=choices, created=call.created, model=doc.model_version or call.model)
    if doc.usage_metadata is not None:
        result.usage = usage(doc.usage_metadata)
    return oai.encode(result)



def error(status: int, body: bytes, *, streaming: bool = False) -> Error:
    """Google's `{"error":{"code","message","status"}}` → Error with the status name as code."""
    try:
        doc = error_decoder.decode(body)
    except msgspec.DecodeError:
        doc = None
    if isinstance(doc, list):  # the JSON-array stream wraps the envelope in a list
        doc = doc[0] if doc else None
    if doc is None or doc.error is None:
        return Error(status, f"Gemini answered HTTP {status} with a body aoa cannot read.", code="upstream_error")
    e = doc.error
    code_status = status
    if streaming and e.code and e.code >= 400:
        code_status = e.code  # an error inside a 200 stream carries its own status
    return Error(code_status, e.message or f"Gemini error {e.status or status}.", code=e.status)
