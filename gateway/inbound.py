"""What the client sent → a `core.Call`: its body read and parsed once, the fields aoa itself
looks at decoded and type-checked, the credentials it carries, and the gateway policies that decide
before the upstream call (overrides, routing, rate limits)."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from gateway.body import offload, parse
from gateway.policies import Ticket
from gateway.state import STATE, TICKET, TRACE
from providers import core, oai

fields_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
model_decoder = msgspec.json.Decoder(str | None)
_stream_decoder = msgspec.json.Decoder(bool | None)
_stream_options_decoder = msgspec.json.Decoder(oai.StreamOptions | None)


def field(fields: dict[str, msgspec.Raw], name: str, decoder: msgspec.json.Decoder) -> Any:
    raw = fields.get(name)
    if raw is None:
        return None
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise core.Error(400, f"Invalid type for `{name}`: {exc}", param=name, code="invalid_type") from None


def bearer(request: web.Request) -> str:
    value = request.headers.get("Authorization", "")
    if value[:7].lower() == "bearer ":
        key = value[7:].strip()
    else:
        key = request.headers.get("api-key", "").strip()
    # Header bytes that are not printable ASCII cannot be a key (nor be encoded, compared or sent
    # on): treated as no key at all, so the answer is a 401, not a UnicodeEncodeError.
    return key if key.isascii() and key.isprintable() else ""


async def read_body(request: web.Request) -> bytes:
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise core.Error(
            413,
            f"Request body is larger than {request.app[STATE].config.max_body} bytes (AOA_MAX_BODY).",
            code="request_too_large",
        ) from None
    except (HttpProcessingError, RequestPayloadError):  # e.g. a body that is not what its Content-Encoding says
        raise core.Error(400, "Cannot read the request body; does it match its Content-Encoding?", code="invalid_body") from None
    if not body:
        raise core.Error(400, "Request body is empty; send a JSON object.", code="invalid_json")
    return body


async def upstream_key(request: web.Request) -> str:
    """The credential an upstream call carries (`call.key`): a service account's access token,
    the configured key, or the client's own bearer when aoa holds none and checks none."""
    st = request.app[STATE]
    if st.tokens is not None:
        return await st.tokens.token()
    return st.common.api_key or ("" if st.access_keys else bearer(request))


async def read_call(request: web.Request, id_kind: str, *, required: tuple[str, ...] = ()) -> core.Call:
    st = request.app[STATE]
    body = await read_body(request)
    fields = await offload(len(body), parse, body)
    for name in required:
        if name not in fields:
            raise core.Error(400, f"Missing required parameter: `{name}`.", param=name, code="missing_required_parameter")
    client_model = field(fields, "model", model_decoder) or ""
    stream = bool(field(fields, "stream", _stream_decoder))
    options = field(fields, "stream_options", _stream_options_decoder)
    model = core.resolve_model(st.common, client_model)
    trace = request[TRACE]
    trace.model = model
    trace.stream = stream
    if not model:
        raise core.Error(400, "No model given and none configured.", param="model", code="model_not_found")
    key = await upstream_key(request)
    call = core.Call(
        id=st.new_id(id_kind),
        created=int(time.time()),
        model=model,
        client_model=client_model,
        key=key,
        stream=stream,
        include_usage=bool(stream and options and options.include_usage),
        body=body,
        fields=fields,
    )
    pol = st.policies
    if pol.overrides:  # <P>_PARAMS, <P>_MODEL_PARAMS: the server's values win
        pol.overrides.apply(call)
    if pol.active:
        ticket = request[TICKET] = Ticket()
        if pol.router:
            ticket.route = pol.router.pick(model)
        if pol.limits:
            who = bearer(request) if st.access_keys else ""
            ticket.who = await pol.limits.admit(who, request.remote, ticket.headers)
    return call
