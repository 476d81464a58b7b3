"""Helpers for upstreams that already speak the OpenAI wire format (OpenAI, Azure, Yi, …).

They relay bodies and streams byte for byte: the only field rewritten is `model`, and the
request's other top-level values (a 20 MB data: URL included) are copied as undecoded `Raw`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .core import SNIPPET_BYTES, Call, Error

_encode = msgspec.json.encode
_raw_check = msgspec.json.Decoder(msgspec.Raw)


def with_model(call: Call, model: str | None) -> bytes:
    """The client's body with `model` set to `model` (or removed when None).

    When the client already named that model (no alias applied) the body is relayed as the
    very bytes received: re-encoding a 20 MB vision body would only copy it."""
    unchanged = call.body and (
        (model is not None and model == call.client_model and "model" in call.fields)
        or (model is None and "model" not in call.fields)
    )
    if unchanged and not (call.stream and call.include_usage):
        return call.body
    fields = dict(call.fields)
    if unchanged:
        return _encode(fields) if ask_usage(call, fields) else call.body
    if model is None:
        fields.pop("model", None)
    else:
        fields["model"] = msgspec.Raw(_encode(model))
    ask_usage(call, fields)
    return _encode(fields)


# --- stream usage: the IO layer sets `call.include_usage` on every stream it wants counted ----

_USAGE_ON = msgspec.Raw(b'{"include_usage":true}')
_options_decoder = msgspec.json.Decoder(dict[str, Any] | None)


def ask_usage(call: Call, fields: dict[str, msgspec.Raw]) -> bool:
    """Set `stream_options.include_usage` in `fields` when a streamed call wants usage and the
    client's body does not ask already (its other stream options kept); True if changed.
    OpenAI-compatible servers send usage in streams only when asked:
    https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options"""
    if not (call.stream and call.include_usage):
        return False
    raw = fields.get("stream_options")
    try:
        options = _options_decoder.decode(raw) if raw is not None else None
    except msgspec.ValidationError:
        return False  # not an object: the upstream judges the client's value
    if options is None:
        fields["stream_options"] = _USAGE_ON
        return True
    if options.get("include_usage") is True:
        return False
    options["include_usage"] = True
    fields["stream_options"] = msgspec.Raw(_encode(options))
    return True


def check_json(body: bytes) -> bytes:
    """Relay an upstream JSON body unchanged, after making sure it is JSON at all."""
    try:
        _raw_check.decode(body)
    except msgspec.DecodeError:
        raise Error(502, "The upstream answered with a body that is not JSON.", code="upstream_invalid_json") from None
    return body


class _Choice(msgspec.Struct):
    finish_reason: Any = None


class _Chunk(msgspec.Struct):
    choices: list[_Choice] | None = None


_chunk_decoder = msgspec.json.Decoder(_Chunk)


class RelayStream:
    """Relays `data:` payloads as they arrive, each checked to be a JSON object; `[DONE]` is
    written by the IO layer.

    Each event's framing is checked (a JSON object: `{` … `}`), which catches what upstreams
    really send wrong — HTML or plain-text errors, an event cut off with its connection — for
    ≈ 0.1 µs; a full parse (≈ 1 µs, a fifth of the relay's whole cost per chunk) happens only
    for an event that fails it, and for one whose finish_reason may be set. A well-framed object
    that is broken inside is relayed as is.

    A stream must end with `[DONE]` or after a chunk carrying a `finish_reason`: one that stops
    with neither was cut off, and ends with an error event instead of a `[DONE]` that would pass
    a truncated answer for a whole one. A finish reason without `[DONE]` is accepted (some
    OpenAI-compatible servers never send it)."""

    def __init__(self, settings: Any = None, call: Call | None = None) -> None:
        self.done = False
        self.relayed = False
        self.finished = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "feed" in cls.__dict__ and "feed_framed" not in cls.__dict__:
            cls.feed_framed = None  # type: ignore[assignment]  # its own `feed` must see every event

    def feed(self, event: str, data: bytes) -> list[bytes]:
        if data == b"[DONE]":
            self.done = True
            return []
        if self.done or not data:
            return []
        if event == "error" or data.startswith(b'{"error"'):
            raise error_from_body(502, data, streaming=True)
        framed = data[:1] == b"{" and data[-1:] == b"}"
        # Every OpenAI chunk says `"finish_reason":null` until the last one; count to skip those.
        if not framed or (not self.finished and data.count(b'"finish_reason"') > data.count(b'"finish_reason":null')):
            try:
                chunk = _chunk_decoder.decode(data)
            except msgspec.DecodeError:  # also a JSON value that is not an object
                raise not_a_chunk(data) from None
            if chunk.choices:
                self.finished = self.finished or any(c.finish_reason is not None for c in chunk.choices)
        self.relayed = True
        return [data]

    def feed_framed(self, block: bytes) -> bytes | None:
        """The complete events of one read, unparsed (gateway/sse.py `feed_framed`), checked in
        bulk by byte counts with the same verdicts as `feed` one by one: the block to relay as
        it is, or None when it is not plain `data: {…}` events or an event needs a closer look
        (an error, a finish_reason before the last event, [DONE] before the end) — then the
        caller feeds its events one at a time.

        A few C-speed scans of the block instead of Python work per event; each scan of a
        500-event burst costs about as much as 30 events checked one by one."""
        if self.done:
            return None
        body = block
        done = block.endswith(b"data: [DONE]\n\n") and (len(block) == 14 or block.endswith(b"\n\ndata: [DONE]\n\n"))
        if done:
            body = block[:-14]
        if body:
            # Every event `data: {…}` on one line: each LF is one of a `}\n\ndata: {` separator
            # or of the final blank line.
            if body[:7] != b"data: {" or body[-3:] != b"}\n\n":
                return None
            if body.count(b"\n") != 2 * body.count(b"}\n\ndata: {") + 2 or b'{"error"' in body:
                return None
            if not self.finished:
                # Every OpenAI chunk says `"finish_reason":null` until the last one; only the
                # block's last event may say otherwise, as it does in a real stream.
                last = body.rfind(b"\n\ndata: ", 0, len(body) - 2)
                last = last + 2 if last >= 0 else 0
                if body.count(b'"finish_reason"', 0, last) != body.count(b'"finish_reason":null', 0, last):
                    return None
                tail = body[last + 6:-2]
                if tail.count(b'"finish_reason"') != tail.count(b'"finish_reason":null'):
                    try:
                        chunk = _chunk_decoder.decode(tail)
                    except msgspec.DecodeError:
                        return None  # refused one by one, after the events before it
                    if chunk.choices and any(c.finish_reason is not None for c in chunk.choices):
                        self.finished = True
            self.relayed = True
        self.done = done
        return body

    def close(self) -> list[bytes]:
        if not self.done and not self.relayed:
            # Neither a chunk nor [DONE]: a `data: [DONE]` alone would pass for an empty answer.
            raise Error(502, "The upstream closed the stream without sending anything.", code="upstream_empty_stream")
        if not self.done and not self.finished:
            raise Error(502, "The upstream stream ended without a finish_reason or [DONE]: the answer is cut off.", code="upstream_truncated")
        return []


def not_a_chunk(data: bytes) -> Error:
    shown = data[:SNIPPET_BYTES].decode("utf-8", "replace")
    return Error(502, f"The upstream sent a stream event that is not a JSON chunk: {shown!r}", code="upstream_invalid_sse")


class _ErrorDetail(msgspec.Struct):
    message: Any = None
    type: Any = None
    param: Any = None
    code: Any = None


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorDetail | str | None = None
    # Some compatible servers (vLLM, Ollama, FastChat) answer {"detail": …} or {"message": …}.
    detail: Any = None
    message: Any = None


_error_decoder = msgspec.json.Decoder(_ErrorEnvelope)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else _encode(value).decode()


def error_from_body(status: int, body: bytes, *, streaming: bool = False) -> Error:
    """An OpenAI-shaped (or nearly) upstream error body → Error with the vendor's words."""
    try:
        env = _error_decoder.decode(body)
    except msgspec.DecodeError:
        env = None
    if env is not None and isinstance(env.error, _ErrorDetail):
        e = env.error
        message = _text(e.message) or f"Upstream error (HTTP {status})."
        return Error(status, message, param=_text(e.param), code=_text(e.code), type=_text(e.type))
    if env is not None and (env.error or env.detail or env.message):
        return Error(status, _text(env.error or env.detail or env.message) or "", code="upstream_error")
    snippet = body[:SNIPPET_BYTES].decode("utf-8", "replace").strip()
    where = "in the stream" if streaming else f"(HTTP {status})"
    return Error(status, f"Upstream error {where}: {snippet or 'empty body'}", code="upstream_error")
