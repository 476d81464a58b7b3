"""Token usage read from the answers aoa sends: the `usage` object of a JSON body or of a stream's
usage chunk, into the request's Trace (for metrics and the access log).

Streams carry usage only when asked (`stream_options.include_usage`); aoa asks for every stream
and, when the client itself did not, drops the extra usage-only chunk and the `"usage":null` the
upstream adds to the others, so the client sees the stream it asked for.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

# Hostile until checked: a negative count would make counters run backwards.
Count = Annotated[int, msgspec.Meta(ge=0)]

__all__ = ["read_usage", "strip_usage"]


class _Details(msgspec.Struct):
    cached_tokens: Count | None = None
    reasoning_tokens: Count | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: Count | None = None
    completion_tokens: Count | None = None
    prompt_tokens_details: _Details | None = None
    completion_tokens_details: _Details | None = None
    # The Responses API's names for the same counts.
    input_tokens: Count | None = None
    output_tokens: Count | None = None
    input_tokens_details: _Details | None = None
    output_tokens_details: _Details | None = None


class _Answer(msgspec.Struct):
    usage: _Usage | None = None
    choices: list[msgspec.Raw] | None = None


_decode_usage = msgspec.json.Decoder(_Usage).decode
_decode_answer = msgspec.json.Decoder(_Answer).decode
_NULL_USAGE = re.compile(rb',\s*"usage"\s*:\s*null')
# Up to this size a body is decoded whole (msgspec skips the fields it does not need at about
# 1 GB/s: ~1 µs for a chat answer); past it only the last `"usage"` object is (embeddings).
_WHOLE = 16384


def read_usage(trace: Any, payload: bytes) -> bool | None:
    """Record the `usage` of an OpenAI answer or chunk in `trace`. None: no usage; True: usage
    in a usage-only chunk (`"choices": []`); False: usage beside other content."""
    if len(payload) <= _WHOLE:
        try:
            answer = _decode_answer(payload)
        except msgspec.DecodeError:
            return None
        u = answer.usage
        if u is None:
            return None
        only = answer.choices is not None and not answer.choices
    else:
        u = _tail_usage(payload)
        if u is None:
            return None
        only = False
    if u.prompt_tokens is None and u.input_tokens is not None:
        u.prompt_tokens, u.completion_tokens = u.input_tokens, u.output_tokens
        u.prompt_tokens_details, u.completion_tokens_details = u.input_tokens_details, u.output_tokens_details
    trace.tokens_in = u.prompt_tokens
    trace.tokens_out = u.completion_tokens
    trace.tokens_cached = u.prompt_tokens_details.cached_tokens if u.prompt_tokens_details else None
    trace.tokens_reasoning = u.completion_tokens_details.reasoning_tokens if u.completion_tokens_details else None
    return only


def _tail_usage(payload: bytes) -> _Usage | None:
    """The last `"usage":{…}` of a large body, found from its end (`rfind` runs at memory speed);
    a `"usage"` inside a string is escaped (`\\"usage\\"`) and cannot match."""
    i = payload.rfind(b'"usage"')
    if i < 0:
        return None
    obj = _object_at(payload, i + 7)
    if obj is None:
        return None
    try:
        return _decode_usage(obj)
    except msgspec.DecodeError:
        return None


def _object_at(payload: bytes, pos: int) -> bytes | None:
    """The `{…}` after `:` at `pos`; braces are counted with C-speed `bytes` methods (usage holds
    numbers and `*_details` objects, no strings that could hold a brace)."""
    start = payload.find(b"{", pos, pos + 8)
    if start < 0 or payload[pos:start].strip() != b":":
        return None  # `"usage": null`, or "usage" as a value
    close = payload.find(b"}", start)
    while close >= 0:
        seg = payload[start : close + 1]
        if seg.count(b"{") == seg.count(b"}"):
            return seg
        close = payload.find(b"}", close + 1)
    return None


def strip_usage(trace: Any, batch: list[bytes], keep: bool) -> list[bytes]:
    """Tap a batch of stream chunks for usage; unless `keep`, drop what the client did not ask for."""
    if keep:
        # The usage chunk is the stream's last: only the last chunk of a batch can be it.
        if batch and _has_usage(batch[-1]):
            read_usage(trace, batch[-1])
        return batch
    out = []
    for p in batch:
        if b'"usage"' not in p:
            out.append(p)
        elif _has_usage(p):
            if not read_usage(trace, p):
                out.append(p)  # usage beside content, as some servers send: left as it came
        else:
            out.append(p.replace(b',"usage":null', b"") if b',"usage":null' in p else _NULL_USAGE.sub(b"", p))
    return out


def _has_usage(p: bytes) -> bool:
    # Cheap byte tests before any decoding: with usage asked for, every chunk carries
    # `"usage":null` and only the last an object (inside a string the quotes are escaped).
    return b'"usage":{' in p or b'"usage": {' in p
