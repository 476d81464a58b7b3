"""Legacy Completions (`openai/types/completion*.py`), carried on top of chat."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from ..core import Error
from .base import Base, encode
from .chat import ChatCompletionRequest, StreamOptions, UserMessage
from .errors import validation_error


class CompletionRequest(Base):
    """Legacy `POST /v1/completions`."""

    # str | list[str] | list[int] | list[list[int]]; msgspec allows one array type per union.
    prompt: str | list[str | int | list[int]]
    model: str = ""
    best_of: int | None = None
    echo: bool | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: int | None = None
    max_tokens: int | None = None
    n: int | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    suffix: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    user: str | None = None


_completion_decoder = msgspec.json.Decoder(CompletionRequest)


def decode_completion(body: bytes) -> CompletionRequest:
    try:
        return _completion_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise validation_error(exc) from None


def completion_to_chat(req: CompletionRequest) -> ChatCompletionRequest:
    """A legacy completion as one user turn, for upstreams that only have chat."""
    prompt = req.prompt
    if not isinstance(prompt, str):
        if len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        else:
            raise Error(
                400,
                "Only a single text prompt can be translated for this upstream.",
                param="prompt",
                code="unsupported_value",
            )
    for name in ("best_of", "echo", "suffix", "logprobs"):
        value = getattr(req, name)
        if value not in (None, False, 1 if name == "best_of" else None):
            raise Error(400, f"`{name}` is not supported by this upstream.", param=name)
    return ChatCompletionRequest(
        model=req.model,
        messages=[UserMessage(content=prompt)],
        frequency_penalty=req.frequency_penalty,
        logit_bias=req.logit_bias,
        max_tokens=req.max_tokens,
        n=req.n,
        presence_penalty=req.presence_penalty,
        seed=req.seed,
        stop=req.stop,
        stream=req.stream,
        stream_options=req.stream_options,
        temperature=req.temperature,
        top_p=req.top_p,
        user=req.user,
    )


class _ChatIn(Struct):
    id: str
    created: int
    model: str
    choices: list[dict[str, Any]]
    usage: Any = None
    system_fingerprint: str | None = None


_chat_in_decoder = msgspec.json.Decoder(_ChatIn)


def chat_to_completion(body: bytes, chunk: bool) -> bytes:
    """A chat.completion(.chunk) body → text_completion; tool calls have no legacy form."""
    doc = _chat_in_decoder.decode(body)
    choices = []
    for c in doc.choices:
        part = c.get("delta" if chunk else "message") or {}
        choices.append(
            {
                "index": c.get("index", 0),
                "text": part.get("content") or "",
                "finish_reason": c.get("finish_reason"),
                "logprobs": None,
            }
        )
    out: dict[str, Any] = {
        "id": doc.id.replace("chatcmpl-", "cmpl-", 1),
        "object": "text_completion",
        "created": doc.created,
        "model": doc.model,
        "choices": choices,
    }
    if doc.usage is not None or not chunk:
        out["usage"] = doc.usage
    return encode(out)
