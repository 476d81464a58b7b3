"""Answers: a vendor's body or stream → OpenAI's, relayed byte for byte unless a field must change
(tool-call shape, a finish reason, usage placement, reasoning, an error inside a 200)."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .. import oai, passthrough
from ..core import Call, Error
from .errors import error, vendor_error
from .vendor import STANDARD_FINISH, Vendor

_encode = msgspec.json.encode
_decode = msgspec.json.decode
_doc = msgspec.json.Decoder(dict[str, Any])


# --- answers ------------------------------------------------------------------------------


def _fix_tool_calls(calls: Any, call: Call, seen: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """OpenAI's shape: a list whose entries carry `index`, `id`, `type`. No current doc of these
    vendors shows a single object or a missing index or id; this is a guard, because OpenAI
    clients fail on either, and a conforming call passes through unchanged."""
    if isinstance(calls, dict):
        calls = [calls]
    if not isinstance(calls, list):
        return []
    out = []
    for i, tc in enumerate(calls):
        if not isinstance(tc, dict):
            continue
        index = tc.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            tc["index"] = i  # missing, or not a number a client could match deltas by
        if seen is None or tc["index"] not in seen:
            tc.setdefault("type", "function")
            if not tc.get("id"):
                tc["id"] = f"call_{call.id}_{tc['index']}"
            if seen is not None:
                seen[tc["index"]] = tc["id"]
        else:
            # A later delta of a call already begun: the openai SDK joins every string it gets,
            # so a repeated id or name would come out doubled ("get_weatherget_weather").
            tc.pop("id", None)
            tc.pop("type", None)
            fn = tc.get("function")
            if isinstance(fn, dict) and "name" in fn:
                del fn["name"]
        out.append(tc)
    return out


def _finish(v: Vendor, reason: Any, tools: bool) -> Any:
    if reason is not None and not isinstance(reason, str):
        raise Error(502, f"{v.name} sent a finish_reason that is not a string: {_encode(reason)[:80].decode()}.", code="upstream_invalid_response")
    if isinstance(reason, str) and reason not in STANDARD_FINISH:
        # A reason the table does not know still reaches the client as one of OpenAI's.
        mapped = v.finish.get(reason, "stop")
        if mapped is None:
            raise Error(502, f"{v.name} ended the answer with finish_reason {reason!r}.", code=f"upstream_{reason}")
        reason = mapped
    if reason == "stop" and tools:
        return "tool_calls"
    return reason


class _Answer(msgspec.Struct):
    choices: list[msgspec.Raw] | None = None


class _EmbeddingAnswer(msgspec.Struct):
    data: list[msgspec.Raw] | None = None


_answer = msgspec.json.Decoder(_Answer)
_embedding_answer = msgspec.json.Decoder(_EmbeddingAnswer)


def _check_answer(v: Vendor, body: bytes, decoder: msgspec.json.Decoder = _answer, field: str = "choices") -> None:
    """A 200 must be the answer asked for: an error envelope inside it is the vendor's error, and
    anything else without its list (`choices`, `data`) is garbage, never an empty success."""
    try:
        answer = decoder.decode(body)
    except msgspec.ValidationError:  # JSON, but not an object or the list is not a list
        answer = None
    except msgspec.DecodeError:
        raise Error(502, "The upstream answered with a body that is not JSON.", code="upstream_invalid_json") from None
    if answer is None or getattr(answer, field) is None:
        err = vendor_error(v, 200, body)
        if err is not None:
            raise err
        shown = body[:200].decode("utf-8", "replace")
        raise Error(502, f"{v.name} answered without `{field}`: {shown}", code="upstream_invalid_response")


def chat_result(v: Vendor, s: Any, call: Call, body: bytes) -> bytes:
    if v.inband is not None and (err := v.inband(body)) is not None:
        raise err
    _check_answer(v, body)
    needs = b'"tool_calls"' in body or _odd_finish(body)
    splitter = v.reasoning() if v.reasoning is not None else None
    if splitter is not None:
        needs = needs or splitter.needs(body)
    if not needs:
        return body
    try:
        doc = _doc.decode(body)
    except msgspec.DecodeError:  # JSON, but with a number msgspec cannot hold
        raise Error(502, f"{v.name} answered with a value out of range.", code="upstream_invalid_json") from None
    for choice in doc.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        msg = choice.get("message")
        tools = False
        if isinstance(msg, dict):
            if msg.get("tool_calls"):
                msg["tool_calls"] = [
                    {k: val for k, val in tc.items() if k != "index"} for tc in _fix_tool_calls(msg["tool_calls"], call)
                ]
                tools = bool(msg["tool_calls"])
            if splitter is not None:
                splitter.message(msg)
        choice["finish_reason"] = _finish(v, choice.get("finish_reason"), tools)
    return _encode(doc)


def embeddings_result(v: Vendor, s: Any, call: Call, bodies: list[bytes]) -> bytes:
    body = bodies[0]
    if v.inband is not None and (err := v.inband(body)) is not None:
        raise err
    _check_answer(v, body, _embedding_answer, "data")
    wanted = call.fields.get("encoding_format")
    if v.embeddings_base64 or wanted is None or _decode(wanted) != "base64":
        return body
    # The openai SDK asks for base64 by default; the vendor answered floats.
    try:
        doc = _doc.decode(body)
        for item in doc["data"]:
            if isinstance(item, dict) and isinstance(item.get("embedding"), list):
                item["embedding"] = oai.float32_base64(item["embedding"])
    except (msgspec.DecodeError, TypeError, ValueError, OverflowError):
        raise Error(502, f"{v.name} answered with embeddings that are not lists of numbers.", code="upstream_invalid_response") from None
    return _encode(doc)


# `"finish_reason"` cannot occur inside a JSON string (its quotes would be escaped), so counting
# the key against its standard values finds any vendor reason without decoding the chunk.
_FINISH_KEY = b'"finish_reason"'
_STANDARD_FINISH_VALUE = re.compile(rb'"finish_reason"\s*:\s*(?:null|"(?:stop|length|tool_calls|content_filter|function_call)")')


_USAGE_KEY = b'"usage"'
_NULL_USAGE = re.compile(rb'"usage"\s*:\s*null')


def _has_usage(payload: bytes) -> bool:
    n = payload.count(_USAGE_KEY)
    return n > 0 and n != len(_NULL_USAGE.findall(payload))


def _take_usage(doc: dict[str, Any], choices: list[Any]) -> Any:
    """The chunk's usage, removed from it (top level, or Moonshot's inside a choice); None if none."""
    usage = doc.pop("usage", None)
    for choice in choices:
        if isinstance(choice, dict) and choice.get("usage") is not None:
            found = choice.pop("usage")
            usage = usage if usage is not None else found
    return usage


def _odd_finish(payload: bytes) -> bool:
    n = payload.count(_FINISH_KEY)
    if n == 0 or n == payload.count(b'"finish_reason":null'):  # nearly every chunk: no regex
        return False
    return n != len(_STANDARD_FINISH_VALUE.findall(payload))


class ChatStream:
    """Relays chunks untouched, decoding one only when a field of it must change."""

    vendor: Vendor  # set by each vendor module's subclass

    def __init__(self, settings: Any = None, call: Call | None = None) -> None:
        v = self.vendor
        self.call = call or Call(id="", created=0, model="", client_model="", key="")
        self.relay = passthrough.RelayStream(settings, call)
        self.tools: dict[int, dict[int, str]] = {}  # choice → tool index → id
        self.reasoning = v.reasoning() if v.reasoning is not None else None
        self.inband = v.inband
        self.meta: dict[str, Any] = {}  # the last chunk decoded, for a chunk aoa must write itself

    def feed(self, event: str, data: bytes) -> list[bytes]:
        if event == "error" or data.startswith(b'{"error"'):
            # A vendor error frame mid-stream (Zhipu's 1301 when output turns unsafe, say): mapped
            # with the vendor's table rather than passthrough's generic reading.
            raise error(self.vendor, 502, data)
        if b'"error"' in data and (err := vendor_error(self.vendor, 502, data)) is not None:
            raise err  # the same, with other fields before `error`
        if self.inband is not None and data[:1] == b"{" and (err := self.inband(data)) is not None:
            raise err
        out = self.relay.feed(event, data)
        return [fixed for p in out for fixed in self._fix(p)] if out else out

    def _fix(self, payload: bytes) -> list[bytes]:
        # Byte probes first: most chunks need no change and are never decoded.
        if not (
            b'"tool_calls"' in payload
            or (self.tools and b"finish_reason" in payload)
            or _odd_finish(payload)
            or (self.reasoning is not None and self.reasoning.needs(payload))
            or _has_usage(payload)
        ):
            return [payload]
        v = self.vendor
        try:
            doc = _doc.decode(payload)
        except msgspec.DecodeError:
            raise Error(502, "The upstream sent a stream chunk that is not JSON.", code="upstream_invalid_json") from None
        choices = doc.get("choices")
        if not isinstance(choices, list):
            choices = []
        usage = _take_usage(doc, choices)
        if usage is not None and not choices:
            # Already OpenAI's own usage chunk, or usage nobody asked for.
            return [payload] if self.call.include_usage else []
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            i = choice.get("index", 0) if isinstance(choice.get("index"), int) else 0
            delta = choice.get("delta")
            if isinstance(delta, dict):
                if delta.get("tool_calls"):
                    delta["tool_calls"] = _fix_tool_calls(delta["tool_calls"], self.call, self.tools.setdefault(i, {}))
                if self.reasoning is not None:
                    self.reasoning.delta(i, delta, choice.get("finish_reason") is not None)
            if choice.get("finish_reason") is not None:
                choice["finish_reason"] = _finish(v, choice["finish_reason"], bool(self.tools.get(i)))
        self.meta = doc
        out = [_encode(doc)]
        if usage is not None and self.call.include_usage:
            # OpenAI sends usage alone, in a last chunk without choices; vendors put it on the
            # finishing chunk (Zhipu, Spark, MiniMax) or inside its choice (Moonshot).
            alone = {k: doc[k] for k in ("id", "object", "created", "model") if k in doc}
            out.append(_encode({**alone, "choices": [], "usage": usage}))
        return out

    def close(self) -> list[bytes]:
        out = self.relay.close()
        if self.reasoning is not None and self.reasoning.pending:
            # Text held back as a maybe-tag when the stream ended without a finishing chunk.
            meta = {k: self.meta[k] for k in ("id", "object", "created", "model") if k in self.meta}
            for i, delta in self.reasoning.flush():
                out.append(_encode({**meta, "choices": [{"index": i, "delta": delta, "finish_reason": None}]}))
        return out
