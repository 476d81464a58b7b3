"""Requests: a client's call → the vendor's chat, embeddings or models request."""

from __future__ import annotations

from typing import Any

import msgspec

from .. import openai
from ..core import Call, Error, Outbound
from .rules import Ctx, _bad, decode_value, relay
from .vendor import Vendor, _headers

_encode = msgspec.json.encode
_decode = msgspec.json.decode


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


def models(v: Vendor, s: Any, call: Call, page: str | None) -> Outbound | None:
    if not v.models:
        return None  # the configured model and aliases are the list
    return Outbound(method="GET", url=f"{s.common.endpoint}/models", headers=_headers(v, s, call.key))


def models_result(v: Vendor, s: Any, body: bytes) -> tuple[list[str], str | None]:
    return openai.models_result(s, body)
