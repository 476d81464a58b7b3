"""The shared core of OpenAI-compatible vendors with quirks (DeepSeek, Moonshot, Zhipu, MiniMax,
Qianfan, Spark).

A vendor module holds data — a `Vendor`: endpoint, parameter table, history rule, error table,
finish-reason map — plus only the hooks it really needs. This module turns that data into the
provider contract, built on `passthrough` by composition: request values the vendor takes as they
are stay undecoded `Raw`, answers are relayed byte for byte unless a field must change (reasoning
placement, tool-call shape, a finish reason, an error inside a 200), and only then is that one
payload decoded and re-encoded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple

import msgspec

from . import oai, openai, passthrough
from .core import Call, Common, Error, Outbound, load_common

_encode = msgspec.json.encode
_decode = msgspec.json.decode
_raw_list = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])
_doc = msgspec.json.Decoder(dict[str, Any])

# --- parameter rules ---------------------------------------------------------------------
# A rule is a function (ctx, name, value) that returns nothing when the value may go upstream
# as it is, raises a 400 naming the field, or rewrites ctx.fields with the documented
# equivalent. `relay` marks a field that goes through untouched; null values are never checked.


class Ctx:
    """One request being prepared: its top-level fields (values still `Raw` until changed)."""

    __slots__ = ("call", "fields", "settings")

    def __init__(self, settings: Any, call: Call) -> None:
        self.settings = settings
        self.call = call
        self.fields: dict[str, msgspec.Raw] = dict(call.fields)

    @property
    def model(self) -> str:
        return self.call.model

    def value(self, name: str) -> Any:
        """Another field's value, for a rule that depends on it (it may not have been checked yet)."""
        raw = self.fields.get(name)
        if raw is None:
            return None
        try:
            return _decode(raw)
        except msgspec.DecodeError:  # a number out of range, say
            raise _bad(name, f"`{name}` is not valid JSON.", "invalid_type") from None

    def set(self, name: str, value: Any) -> None:
        self.fields[name] = msgspec.Raw(_encode(value))


Rule = Callable[[Ctx, str, Any], None]


def relay(ctx: Ctx, name: str, value: Any) -> None:
    """Sent as the client gave it: the vendor documents it, or it is the vendor's to judge."""


def _bad(name: str, message: str, code: str = "unsupported_parameter") -> Error:
    return Error(400, message, param=name, code=code)


def refuse(why: str) -> Rule:
    """The vendor does not take this field at all (any non-null value is a 400)."""

    def rule(ctx: Ctx, name: str, value: Any) -> None:
        raise _bad(name, f"`{name}` is not supported by this upstream: {why}")

    rule.refuses = True  # type: ignore[attr-defined]  # lets the tests find every refusal
    return rule


def number(low: float, high: float, *, low_open: bool = False, high_open: bool = False, models: tuple[str, ...] = ()) -> Rule:
    """A documented numeric range; `models` (name prefixes) limits the rule to those models."""
    shown = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def rule(ctx: Ctx, name: str, value: Any) -> None:
        if models and not ctx.model.lower().startswith(models):
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(name, f"`{name}` must be a number.", "invalid_type")
        if value < low or value > high or (low_open and value == low) or (high_open and value == high):
            raise _bad(name, f"`{name}`={value!r} is outside this upstream's documented range {shown}.", "invalid_value")

    return rule


def whole(low: int, high: int) -> Rule:
    def rule(ctx: Ctx, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(name, f"`{name}` must be a whole number.", "invalid_type")
        if not low <= value <= high:
            raise _bad(name, f"`{name}`={value} is outside this upstream's documented range [{low}, {high}].", "invalid_value")

    return rule


def choices(*allowed: str) -> Rule:
    """A string field (or `tool_choice`) restricted to some values; a named tool_choice is an
    object and is allowed only when "function" is listed."""

    def rule(ctx: Ctx, name: str, value: Any) -> None:
        key = "function" if isinstance(value, dict) else value
        if key not in allowed:
            shown = "a named function" if key == "function" else repr(value)[:100]
            raise _bad(name, f"`{name}`={shown} is not supported by this upstream (it takes {', '.join(map(repr, allowed))}).", "invalid_value")

    return rule


def stop_words(most: int) -> Rule:
    def rule(ctx: Ctx, name: str, value: Any) -> None:
        if isinstance(value, list) and len(value) > most:
            raise _bad(name, f"`{name}` takes at most {most} stop word(s) on this upstream; {len(value)} given.", "invalid_value")

    return rule


def format_types(*allowed: str) -> Rule:
    def rule(ctx: Ctx, name: str, value: Any) -> None:
        kind = value.get("type") if isinstance(value, dict) else None
        if kind not in allowed:
            raise _bad(name, f"`{name}` type {repr(kind)[:100]} is not supported by this upstream (it takes {', '.join(allowed)}).", "invalid_value")

    return rule


def renamed(target: str, check: Rule = relay) -> Rule:
    """An OpenAI field the vendor documents under another name (`max_completion_tokens` where only
    `max_tokens` exists): checked, then sent under that name, and it wins over a value already
    there, as in OpenAI's API."""

    def rule(ctx: Ctx, name: str, value: Any) -> None:
        check(ctx, name, value)
        ctx.fields[target] = ctx.fields.pop(name)

    return rule


def all_of(*rules: Rule) -> Rule:
    def rule(ctx: Ctx, name: str, value: Any) -> None:
        for r in rules:
            r(ctx, name, value)

    return rule


# OpenAI's bookkeeping fields (no effect on the answer; relayed, the vendor ignores what it does
# not know) and the legacy function-calling fields, which every vendor here refuses: the same
# entry in every table.
BOOKKEEPING: dict[str, Rule] = {
    "user": relay,
    "metadata": relay,
    "store": relay,
    "service_tier": relay,
    "safety_identifier": relay,
    "prompt_cache_key": relay,
    "prompt_cache_options": relay,
    "prompt_cache_retention": relay,
    "moderation": relay,
    "functions": refuse("use `tools`."),
    "function_call": refuse("use `tool_choice`."),
}


# --- history rules ------------------------------------------------------------------------


def keep_history(ctx: Ctx) -> None:
    """Assistant turns go back as the client sent them, `reasoning_content` included."""


def strip_reasoning(ctx: Ctx) -> None:
    """Drop `reasoning_content` from assistant turns (a vendor that never asks for it back)."""
    raw = ctx.fields.get("messages")
    if raw is None or b'"reasoning_content"' not in ctx.call.body:
        return
    messages = decode_messages(raw)
    for m in messages:
        m.pop("reasoning_content", None)
    ctx.fields["messages"] = msgspec.Raw(_encode(messages))


def decode_value(raw: msgspec.Raw | bytes, where: str) -> Any:
    """A client value a rule or hook must read; JSON that msgspec cannot hold (a number out of
    range) is a 400 naming `where`."""
    try:
        return _decode(raw)
    except msgspec.DecodeError:
        raise _bad(where, f"`{where}` holds a value that is not valid JSON (a number out of range?).", "invalid_type") from None


def decode_messages(raw: msgspec.Raw) -> list[dict[str, msgspec.Raw]]:
    try:
        return _raw_list.decode(raw)
    except msgspec.DecodeError:
        raise Error(400, "`messages` must be an array of message objects.", param="messages", code="invalid_type") from None


# --- the vendor description ---------------------------------------------------------------

# Every field of OpenAI's chat request that a vendor's table must place (relay, adapt, refuse).
CHAT_FIELDS = frozenset(oai.CHAT_REQUEST_FIELDS) - {"messages", "model", "stream", "stream_options"}
STANDARD_FINISH = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})


class Vendor(msgspec.Struct, frozen=True, kw_only=True):
    prefix: str
    endpoint: str
    model: str
    params: dict[str, Rule]
    history: Callable[[Ctx], None] = keep_history
    # Vendor code (or error type) → (HTTP status, OpenAI-style code); statuses per the vendor's
    # error documentation, codes the vendor's own when the table gives None.
    errors: dict[str, tuple[int, str | None]] = {}
    # Vendor finish reasons → OpenAI's; None: the stream ends with an error event instead.
    finish: dict[str, str | None] = {}
    # HTTP status → (status, code) where the status itself is the vendor's error meaning.
    statuses: dict[int, tuple[int, str]] = {}
    embeddings: bool = False
    # Whether the vendor's /embeddings documents `encoding_format`; if not, aoa drops it and
    # encodes base64 itself.
    embeddings_base64: bool = False
    models: bool = False
    name: str = ""
    # Optional hooks, for the one vendor that needs each.
    prepare: Callable[[Ctx], None] | None = None
    headers: Callable[[Any, str], dict[str, str]] | None = None
    # An error carried inside a 200 body or stream frame → Error, else None.
    inband: Callable[[bytes], Error | None] | None = None
    # Per-stream state for a vendor that moves text between fields (MiniMax's <think>).
    reasoning: Callable[[], Any] | None = None


class Settings(msgspec.Struct, kw_only=True):
    common: Common


def load_settings(v: Vendor, env: Mapping[str, str]) -> Settings:
    return Settings(common=load_common(env, v.prefix, endpoint=v.endpoint, model=v.model))


def bearer(key: str) -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = f"Bearer {key}"
    return h


def _headers(v: Vendor, s: Any, key: str) -> dict[str, str]:
    return v.headers(s, key) if v.headers else bearer(key)


# --- requests -----------------------------------------------------------------------------


def chat(v: Vendor, s: Any, call: Call) -> Outbound:
    ctx = Ctx(s, call)
    for name, raw in call.fields.items():
        rule = v.params.get(name, relay)
        if rule is relay or bytes(raw) == b"null":
            continue
        try:
            value = _decode(raw)
        except msgspec.DecodeError:
            raise _bad(name, f"`{name}` is not valid JSON.", "invalid_type") from None
        if value is not None:
            rule(ctx, name, value)
    v.history(ctx)
    if v.prepare is not None:
        v.prepare(ctx)
    ctx.fields["model"] = msgspec.Raw(_encode(call.model))
    return Outbound(
        url=f"{s.common.endpoint}/chat/completions",
        headers=_headers(v, s, call.key),
        body=_encode(ctx.fields),
        stream=call.stream,
    )


def embeddings(v: Vendor, s: Any, call: Call) -> list[Outbound]:
    if not v.embeddings:
        raise Error(400, f"{v.name} offers no OpenAI-compatible embeddings endpoint.", code="unsupported_endpoint")
    fields = dict(call.fields)
    if "encoding_format" in fields and decode_value(fields["encoding_format"], "encoding_format") not in ("float", "base64", None):
        raise _bad("encoding_format", "`encoding_format` must be \"float\" or \"base64\".", "invalid_value")
    if not v.embeddings_base64:
        fields.pop("encoding_format", None)
    fields["model"] = msgspec.Raw(_encode(call.model))
    return [Outbound(url=f"{s.common.endpoint}/embeddings", headers=_headers(v, s, call.key), body=_encode(fields))]


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


def models(v: Vendor, s: Any, call: Call, page: str | None) -> Outbound | None:
    if not v.models:
        return None  # the configured model and aliases are the list
    return Outbound(method="GET", url=f"{s.common.endpoint}/models", headers=_headers(v, s, call.key))


def models_result(v: Vendor, s: Any, body: bytes) -> tuple[list[str], str | None]:
    return openai.models_result(s, body)


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


# --- errors -------------------------------------------------------------------------------


class _Detail(msgspec.Struct):
    code: Any = None
    message: Any = None
    type: Any = None
    param: Any = None


class _BaseResp(msgspec.Struct):
    status_code: Any = None
    status_msg: Any = None


class _Envelope(msgspec.Struct):
    error: _Detail | str | None = None
    # MiniMax
    base_resp: _BaseResp | None = None
    # Spark (and DashScope-like bodies)
    code: Any = None
    message: Any = None
    sid: Any = None
    # Qianfan's older API
    error_code: Any = None
    error_msg: Any = None
    request_id: Any = None
    id: Any = None


_envelope = msgspec.json.Decoder(_Envelope)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else _encode(value).decode()


def vendor_error(v: Vendor, status: int, body: bytes) -> Error | None:
    """The vendor's error fields, whichever shape it used, → Error; None if the body has none."""
    try:
        env = _envelope.decode(body)
    except msgspec.DecodeError:
        return None
    code = message = etype = param = None
    if isinstance(env.error, _Detail):
        code, message, etype, param = _text(env.error.code), _text(env.error.message), _text(env.error.type), _text(env.error.param)
    elif isinstance(env.error, str):
        message = env.error
    elif env.base_resp is not None and env.base_resp.status_code not in (None, 0):
        code, message = _text(env.base_resp.status_code), _text(env.base_resp.status_msg)
    elif env.error_code not in (None, 0):
        code, message = _text(env.error_code), _text(env.error_msg)
    elif env.code not in (None, 0, "0", "200", 200) and env.message is not None:
        code, message = _text(env.code), _text(env.message)
    if code is None and message is None:
        return None
    hit = v.errors.get(code or "") or v.errors.get(etype or "")
    if hit is not None and hit[1] is not None:
        status, mapped = hit
    elif status in v.statuses:
        status, mapped = v.statuses[status]
    elif hit is not None:
        status, mapped = hit
    elif status < 400:
        status, mapped = 502, None  # an error inside a 200 the table does not know
    else:
        mapped = None
    if param is None and status == 400:
        param = _named_field(message or "")
    trace = _text(env.sid) or _text(env.request_id)
    text = message or f"{v.name} error {code}"
    if code and code not in text:
        text = f"[{code}] {text}"
    if trace:
        text = f"{text} (id: {trace})"
    return Error(status, text, param=param, code=mapped or code or etype, type=None)


# "invalid temperature: only 1 is allowed for this model" (Moonshot), "temperature 参数非法"
# (Zhipu 1214): the field a vendor's 400 is about, so clients get OpenAI's `param`.
_FIELD_IN_MESSAGE = re.compile(
    r"(?:invalid (?:value for )?[`'\"]?([a-z_]{2,})[`'\"]?\b|\b([a-z_]{2,})[`'\"]? (?:参数|must|should|is invalid))"
)


def _named_field(message: str) -> str | None:
    for m in _FIELD_IN_MESSAGE.finditer(message):
        name = m.group(1) or m.group(2)
        if name in CHAT_FIELDS and name not in ("user", "store", "metadata"):
            return name
    return None


def error(v: Vendor, status: int, body: bytes) -> Error:
    err = vendor_error(v, status, body)
    if err is not None:
        return err
    err = passthrough.error_from_body(status, body)
    if status in v.statuses:
        new, code = v.statuses[status]
        return Error(new, err.message, param=err.param, code=code)
    return err


# --- the provider contract ----------------------------------------------------------------


class Contract(NamedTuple):
    """The names `providers/__init__.py` asks of a provider, bound to one vendor; a vendor module
    unpacks them in this order."""

    chat: Callable[..., Outbound]
    chat_result: Callable[..., bytes]
    ChatStream: type
    embeddings: Callable[..., list[Outbound]]
    embeddings_result: Callable[..., bytes]
    models: Callable[..., Outbound | None]
    models_result: Callable[..., tuple[list[str], str | None]]
    error: Callable[[int, bytes], Error]


def contract(v: Vendor) -> Contract:
    stream = type("ChatStream", (ChatStream,), {"vendor": v, "__doc__": ChatStream.__doc__})
    return Contract(
        chat=partial(chat, v),
        chat_result=partial(chat_result, v),
        ChatStream=stream,
        embeddings=partial(embeddings, v),
        embeddings_result=partial(embeddings_result, v),
        models=partial(models, v),
        models_result=partial(models_result, v),
        error=partial(error, v),
    )
