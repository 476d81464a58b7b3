"""Token usage read from the answers aoa sends: the `usage` object of a JSON body or of a stream's
usage chunk, into the request's Trace (for metrics and the access log).

Streams carry usage only when asked (`stream_options.include_usage`); aoa asks for every stream
and, when the client itself did not, drops the extra usage-only chunk and the `"usage":null` the
upstream adds to the others, so the client sees the stream it asked for.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

__all__ = ["read_usage", "strip_usage"]


class _Details(msgspec.Struct):
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _Details | None = None
    completion_tokens_details: _Details | None = None


_decode = msgspec.json.Decoder(_Usage).decode
# `usage` holds numbers and at most one level of `*_details` objects.
_USAGE = re.compile(rb'"usage"\s*:\s*(\{(?:[^{}]|\{[^{}]*\})*\})')
_EMPTY_CHOICES = re.compile(rb'"choices"\s*:\s*\[\s*\]')
_NULL_USAGE = re.compile(rb',\s*"usage"\s*:\s*null')


def read_usage(trace: Any, payload: bytes) -> bool:
    """Record the last `"usage":{…}` of `payload` in `trace`; True when there was one.

    The body is scanned from its end (`rfind` runs at memory speed) and only the usage object is
    decoded, so a 2 MB embeddings answer costs the same as a short chat. A `"usage"` inside a
    string is escaped (`\\"usage\\"`) and cannot match."""
    i = payload.rfind(b'"usage"')
    if i < 0:
        return False
    m = _USAGE.match(payload, i)
    if m is None:
        return False
    try:
        u = _decode(m.group(1))
    except msgspec.DecodeError:
        return False
    trace.tokens_in = u.prompt_tokens
    trace.tokens_out = u.completion_tokens
    trace.tokens_cached = u.prompt_tokens_details.cached_tokens if u.prompt_tokens_details else None
    trace.tokens_reasoning = u.completion_tokens_details.reasoning_tokens if u.completion_tokens_details else None
    return True


def strip_usage(trace: Any, batch: list[bytes], keep: bool) -> list[bytes]:
    """Tap a batch of stream chunks for usage; unless `keep`, drop what the client did not ask for."""
    out = batch if keep else []
    for p in batch:
        if b'"usage"' not in p:
            if not keep:
                out.append(p)
            continue
        found = read_usage(trace, p)
        if keep:
            continue
        if found and _EMPTY_CHOICES.search(p):
            continue  # the usage-only chunk
        out.append(_NULL_USAGE.sub(b"", p) if not found else p)
    return out
