"""aoa — lets any OpenAI client talk to one other LLM vendor.

This module is the HTTP edge: the server and its routes, inbound auth and CORS, the one upstream
`ClientSession`, the SSE relay to the client, errors → HTTP. Translation lives in `providers/`
(pure, no IO); the IO-side pieces and gateway policies live in `gateway/`, one module each
(configuration, redaction, SSE decoding, media fetching, logging, …).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import hashlib
import hmac
import ipaddress
import itertools
import logging
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

import providers
from gateway import body as inbound
from gateway import edge
from gateway.config import Config, config_secrets, describe, load_config
from gateway.fetch import Fetcher, open_fetcher
from gateway.keys import KeyPool, pool_keys
from gateway.google_auth import TokenSource
from gateway.listen import bind
from gateway.logs import Trace, access, flush_access_log, request_id, setup_logging
from gateway.policies import Policies, Ticket
from gateway.policies import describe as policies_on
from gateway import cache as response_cache
from gateway.metrics import CONTENT_TYPE as METRICS_TYPE, Metrics
from gateway.redact import Redactor, printable
from gateway.retry import Retrier
from gateway.usage import read_usage, strip_usage
from gateway.responses_store import not_found, open_store
from gateway.sse import DONE, SSE_HEADERS, SSEDecoder
from gateway.upstream import TRANSPORT_ERRORS, body_phase, open_session, transport_error
from providers import core, oai, passthrough, responses

__version__ = "0.1.0"
USER_AGENT = f"aoa/{__version__}"

log = logging.getLogger("aoa")


# --- application state --------------------------------------------------------------------


class State:
    """Everything a handler needs; one per application, built at start-up."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.provider = providers.load(config.kind)
        self.settings = config.settings
        self.common: core.Common = config.settings.common
        self.local = bool(getattr(self.provider, "LOCAL", False))
        self.native_completions = hasattr(self.provider, "completions")
        self.redact = Redactor(config_secrets(config))
        self.access_keys = [k.encode() for k in config.api_keys]
        self.session: aiohttp.ClientSession | None = None
        self.fetcher: Fetcher | None = None
        # Vertex AI with a service account: access tokens minted and refreshed on this side.
        self.tokens: TokenSource | None = None
        self.models_cache: dict[str, tuple[float, list[str]]] = {}
        self.id_prefix = secrets.token_hex(6)
        self.ids = itertools.count(1)
        self.served = core.served_models(self.common)
        self.policies = Policies(config)
        self.responses_store = open_store(config.responses_store, self.policies.strict)
        relay = getattr(self.provider, "responses_url", None)
        self.responses_relay: Callable[[str], str | None] | None = (
            (lambda suffix: relay(self.settings, suffix)) if relay and relay(self.settings, "") else None
        )
        policy = config.retry
        keys = pool_keys(self.common) if config.credential is None else ()  # a service account mints its own
        pool = KeyPool(keys, cooldown=policy.key_cooldown, auth_cooldown=policy.auth_cooldown) if keys else None
        self.metrics = Metrics(config.kind, pool) if config.metrics else None
        if self.metrics is not None and self.policies.strict is not None:
            self.metrics.shared = self.policies.shared  # Redis failures, read at scrape time
        self.retry = Retrier(policy, pool, getattr(self.provider, "RETRY_CODES", frozenset()), metrics=self.metrics)
        self.otel: Any = None  # gateway/otel.Tracing, opened with the sessions when configured

    def new_id(self, kind: str) -> str:
        return f"{kind}-{self.id_prefix}{next(self.ids):08x}"


STATE = web.AppKey("state", State)

# aiohttp ≥ 3.13 wants typed request keys; older versions take a plain string.
TRACE: Any = web.RequestKey("trace", Trace) if hasattr(web, "RequestKey") else "aoa.trace"
TICKET: Any = web.RequestKey("ticket", Ticket) if hasattr(web, "RequestKey") else "aoa.ticket"

_fields_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_model_decoder = msgspec.json.Decoder(str | None)
_stream_decoder = msgspec.json.Decoder(bool | None)
_stream_options_decoder = msgspec.json.Decoder(oai.StreamOptions | None)


def _field(fields: dict[str, msgspec.Raw], name: str, decoder: msgspec.json.Decoder) -> Any:
    raw = fields.get(name)
    if raw is None:
        return None
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise core.Error(400, f"Invalid type for `{name}`: {exc}", param=name, code="invalid_type") from None


def _bearer(request: web.Request) -> str:
    value = request.headers.get("Authorization", "")
    if value[:7].lower() == "bearer ":
        key = value[7:].strip()
    else:
        key = request.headers.get("api-key", "").strip()
    # Header bytes that are not printable ASCII cannot be a key (nor be encoded, compared or sent
    # on): treated as no key at all, so the answer is a 401, not a UnicodeEncodeError.
    return key if key.isascii() and key.isprintable() else ""


async def _read_body(request: web.Request) -> bytes:
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


async def _expect(request: web.Request) -> web.StreamResponse | None:
    """`Expect: 100-continue` with a Content-Length over AOA_MAX_BODY: the 413 comes before any
    `100 Continue`, so the client never uploads a body that would be refused."""
    st = request.app[STATE]
    if request.headers.get("Expect", "").lower() != "100-continue":
        err = core.Error(417, "Only `Expect: 100-continue` is understood.", code="expectation_failed")
    elif request.content_length is not None and request.content_length > st.config.max_body:
        err = core.Error(413, f"Request body is larger than {st.config.max_body} bytes (AOA_MAX_BODY).", code="request_too_large")
    else:
        if request.version >= (1, 1):
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0  # the answer proper has not started
        return None
    resp = error_response(err, st.redact)
    resp.force_close()
    access(request.method, request.path, resp.status, Trace())  # the middleware never sees it
    return resp


async def upstream_key(request: web.Request) -> str:
    """The credential an upstream call carries (`call.key`): a service account's access token,
    the configured key, or the client's own bearer when aoa holds none and checks none."""
    st = request.app[STATE]
    if st.tokens is not None:
        return await st.tokens.token()
    return st.common.api_key or ("" if st.access_keys else _bearer(request))


async def _call(request: web.Request, id_kind: str, *, required: tuple[str, ...] = ()) -> core.Call:
    st = request.app[STATE]
    body = await _read_body(request)
    fields = await inbound.offload(len(body), inbound.parse, body)
    for name in required:
        if name not in fields:
            raise core.Error(400, f"Missing required parameter: `{name}`.", param=name, code="missing_required_parameter")
    client_model = _field(fields, "model", _model_decoder) or ""
    stream = bool(_field(fields, "stream", _stream_decoder))
    options = _field(fields, "stream_options", _stream_options_decoder)
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
            who = _bearer(request) if st.access_keys else ""
            ticket.who = await pol.limits.admit(who, request.remote, ticket.headers)
    return call



# --- errors -------------------------------------------------------------------------------


# Error messages carry vendor text; they are redacted whole, then shortened.
MESSAGE_CHARS = 2000


def error_body(err: core.Error, redact: Redactor, key: str = "", rid: str | None = None) -> bytes:
    body = oai.ErrorBody(
        message=redact.shorten(err.message, MESSAGE_CHARS, key),
        type=err.type,
        param=err.param,
        code=err.code,
        request_id=rid or msgspec.UNSET,
    )
    return oai.encode(oai.ErrorEnvelope(error=body))


def error_response(err: core.Error, redact: Redactor, key: str = "", rid: str | None = None) -> web.Response:
    headers = {"Retry-After": err.retry_after} if err.retry_after else None
    return web.Response(
        status=err.status,
        body=error_body(err, redact, key, rid),
        content_type="application/json",
        headers=headers,
    )


# --- upstream exchange --------------------------------------------------------------------


async def _send(request: web.Request, out: core.Outbound) -> aiohttp.ClientResponse:
    """Send one upstream request; return once its status and headers are in."""
    st = request.app[STATE]
    assert st.session is not None
    t0 = time.perf_counter()
    try:
        if st.policies.router:  # the route's targets in turn, failing over before the first byte
            resp = await st.policies.router.send(st.session, request[TICKET].route, out, st.config.first_byte_timeout)
        else:
            resp = await st.session.request(out.method, out.url, data=out.body, headers=out.headers)
    except TRANSPORT_ERRORS as exc:
        raise transport_error(exc) from None
    finally:
        request[TRACE].upstream_s += time.perf_counter() - t0
    body_phase(resp, st.config.idle_timeout)
    request[TRACE].upstream_status = resp.status
    return resp


async def _read(request: web.Request, resp: aiohttp.ClientResponse) -> bytes:
    t0 = time.perf_counter()
    try:
        return await resp.read()
    except TRANSPORT_ERRORS as exc:
        raise transport_error(exc) from None
    finally:
        request[TRACE].upstream_s += time.perf_counter() - t0


async def _check(request: web.Request, resp: aiohttp.ClientResponse) -> None:
    """An upstream error status → the provider's Error, Retry-After kept."""
    if resp.status < 400:
        return
    if resp.status == 401 and request.app[STATE].tokens is not None:
        request.app[STATE].tokens.invalidate()  # a minted token refused (revoked, clocks apart): the next call mints anew
    body = await _read(request, resp)
    err = inbound.upstream_side(request.app[STATE].provider.error, resp.status, body)
    retry = resp.headers.get("Retry-After")
    if retry and err.status in (429, 503) and not err.retry_after:
        err.retry_after = retry
    raise err


async def _fetch_json(request: web.Request, call: core.Call, build: Callable[[], core.Outbound]) -> bytes:
    """One JSON exchange, retried whole (nothing reaches the client before it is read)."""

    async def make() -> core.Outbound:
        return build()

    async def attempt(out: core.Outbound) -> bytes:
        resp = await _send(request, out)
        try:
            await _check(request, resp)
            return await _read(request, resp)
        finally:
            resp.release()

    return await request.app[STATE].retry.run(request[TRACE], call, make, attempt)


async def _attempts(request: web.Request, call: core.Call, build: Callable[[], core.Outbound]) -> tuple[core.Outbound, aiohttp.ClientResponse]:
    """The upstream attempt loop (gateway/retry.py): each try takes a key from the pool into
    `call.key`, rebuilds the request with it and sends it, up to a status that is not an error.
    Only this part is retried: after it, bytes may reach the client."""

    async def attempt(out: core.Outbound) -> tuple[core.Outbound, aiohttp.ClientResponse]:
        resp = await _send(request, out)
        try:
            await _check(request, resp)
        except BaseException:
            resp.release()
            raise
        return out, resp

    return await request.app[STATE].retry.run(request[TRACE], call, lambda: _with_media(request, build, call), attempt)


def _ask_usage(st: State, call: core.Call) -> bool:
    """Ask every stream for its usage (gateway/usage.py); True when the client asked itself."""
    asked = call.include_usage
    if call.stream and st.config.stream_usage:
        call.include_usage = True
    return asked



class ClientGone(Exception):
    """The client closed its connection while we were writing to it."""


class Downstream:
    """The client's SSE response, opened lazily so that an error before the first chunk can
    still be a proper HTTP error.

    The seam for re-shaping the chat path's output (the Responses API): a subclass overrides
    `frame` (chunk payloads → bytes to write), `ending`, `error_frame` and `whole` (the
    non-stream answer); the exchange itself stays the same for every client API."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.response: web.StreamResponse | None = None
        ticket = request.get(TICKET)
        self.tap = ticket.tap if ticket is not None else None  # the answer, for cache/log/tokens
        # False when aoa asked for stream usage the client did not (gateway/usage.py).
        self.keep_usage = True

    def frame(self, payloads: list[bytes]) -> bytes:
        return b"".join([b"data: " + p + b"\n\n" for p in payloads])

    async def ending(self) -> bytes:
        return DONE

    def error_frame(self, err: core.Error, key: str) -> bytes:
        rid = self.request[TRACE].request_id
        return b"data: " + error_body(err, self.request.app[STATE].redact, key, rid) + b"\n\n"

    async def whole(self, body: bytes) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    async def write(self, payloads: list[bytes]) -> None:
        if self.tap is not None:
            self.tap += payloads
        # Usage tap: one C-speed scan per batch; chunks are only looked at when it hits.
        if b'"usage"' in (payloads[0] if len(payloads) == 1 else b"".join(payloads)):
            payloads = strip_usage(self.request[TRACE], payloads, self.keep_usage)
            if not payloads:
                return
        data = self.frame(payloads)
        if self.response is None:
            await self._open()
        try:
            await self.response.write(data)
        except ConnectionError:
            self.request[TRACE].stream_error = 499
            raise ClientGone from None

    async def _open(self) -> None:
        trace = self.request[TRACE]
        trace.ttft_s = trace.elapsed()
        st = self.request.app[STATE]
        if st.metrics is not None:
            st.metrics.streams += 1
        self.response = web.StreamResponse(headers=SSE_HEADERS)
        await self.response.prepare(self.request)

    async def finish(self) -> web.StreamResponse:
        if self.response is None:
            await self._open()
        try:
            await self.response.write(await self.ending())
            await self.response.write_eof()
        except ConnectionError:
            self.request[TRACE].stream_error = 499
        return self.response

    async def fail(self, err: core.Error, key: str) -> web.StreamResponse:
        """After the first chunk an error can only be an event; the stream then ends."""
        st = self.request.app[STATE]
        # The log filter knows the configured secrets, not this client's own bearer token.
        log.warning("stream ended by error %d: %s", err.status, printable(st.redact.shorten(err.message, MESSAGE_CHARS, key)))
        assert self.response is not None
        self.request[TRACE].stream_error = err.status
        try:
            await self.response.write(self.error_frame(err, key))
            await self.response.write_eof()
        except (ConnectionError, RuntimeError):
            pass
        return self.response


async def _events(request: web.Request, resp: aiohttp.ClientResponse, state: Any):
    """Yield batches of OpenAI chunk payloads as upstream reads arrive."""
    decoder = SSEDecoder()
    trace = request[TRACE]
    waited = time.perf_counter()
    try:
        async for chunk in resp.content.iter_any():
            if not trace.first_chunk:
                trace.first_chunk = True
                trace.upstream_s += time.perf_counter() - waited
            out: list[bytes] = []
            err = _feed(state, decoder.feed(chunk), out)
            if out:
                yield out
            if err is not None:
                raise err
    except TRANSPORT_ERRORS as exc:
        raise transport_error(exc) from None
    out = []
    err = _feed(state, decoder.close(), out)
    if err is None:
        out += state.close()
    if out:
        yield out
    if err is not None:
        raise err


def _feed(state: Any, events: list[tuple[str, bytes]], out: list[bytes]) -> core.Error | None:
    """Feed events to the stream state; chunks made before an error still reach the client
    (an error frame often shares a network read with the frames before it)."""
    try:
        for event, data in events:
            out += state.feed(event, data)
    except core.Error as err:
        return err
    except RecursionError:
        return core.Error(502, "The upstream sent an event nested too deeply.", code="upstream_invalid_json")
    return None


async def _stream_to_client(
    request: web.Request, call: core.Call, resp: aiohttp.ClientResponse, state: Any,
    convert: Callable[[bytes], bytes] | None, down: Downstream | None = None,
) -> web.StreamResponse:
    down = down or Downstream(request)
    try:
        async for batch in _events(request, resp, state):
            await down.write([convert(p) for p in batch] if convert else batch)
    except core.Error as err:
        if down.response is None:
            raise
        return await down.fail(err, call.key)
    except ClientGone:
        resp.close()  # tell the upstream to stop generating
        assert down.response is not None
        return down.response
    return await down.finish()


async def _assemble(
    request: web.Request, resp: aiohttp.ClientResponse, state: Any
) -> bytes:
    assembler = oai.Assembler()
    async for batch in _events(request, resp, state):
        for payload in batch:
            assembler.feed(payload)
    return oai.encode(assembler.result())


async def _with_media(request: web.Request, build: Callable[[], core.Outbound], call: core.Call) -> core.Outbound:
    try:
        return await inbound.offload(len(call.body), build)
    except core.NeedMedia as need:
        st = request.app[STATE]
        assert st.fetcher is not None
        call.media = await st.fetcher.fetch(need.urls)
        return await inbound.offload(len(call.body), build)


async def _exchange(
    request: web.Request,
    call: core.Call,
    build: Callable[[], core.Outbound],
    result: Callable[[Any, core.Call, bytes], bytes],
    stream_state: Callable[[Any, core.Call], Any],
    convert: Callable[[bytes, bool], bytes] | None = None,
    down: Downstream | None = None,
) -> web.StreamResponse:
    st = request.app[STATE]
    down = down or Downstream(request)
    down.keep_usage = _ask_usage(st, call)
    out, resp = await _attempts(request, call, build)
    try:
        if out.stream and resp.content_type == "application/json":
            # Some OpenAI-compatible servers ignore `stream` and answer with one JSON body;
            # relaying that as an empty stream would look like a silent empty answer.
            err = inbound.upstream_side(st.provider.error, 502, await _read(request, resp))
            err.message = f"The upstream answered a streaming request without streaming: {err.message}"
            raise err
        if call.stream:
            if not out.stream:
                raise core.Error(500, "The provider did not ask the upstream for a stream.")
            state = stream_state(st.settings, call)
            conv = (lambda p: convert(p, True)) if convert else None
            return await _stream_to_client(request, call, resp, state, conv, down)
        if out.stream:
            full = msgspec.structs.replace(call, stream=True, include_usage=True)
            body = await _assemble(request, resp, stream_state(st.settings, full))
        else:
            raw = await _read(request, resp)
            body = await inbound.offload(len(raw), inbound.upstream_side, result, st.settings, call, raw)
        if convert:
            body = convert(body, False)
        return await down.whole(body)
    except BaseException:
        # Client gone, error mid-body: drop the upstream connection rather than pool it
        # half-read, so the upstream sees the request cancelled.
        resp.close()
        raise
    finally:
        resp.release()



# --- policies around the upstream call ------------------------------------------------------


async def _served(
    request: web.Request, call: core.Call, serve: Callable[[], Awaitable[web.StreamResponse]], *, chat: bool
) -> web.StreamResponse:
    """Cache lookup before the upstream call; cache store, token count and chat log after it."""
    st = request.app[STATE]
    return await st.policies.around(
        call, request[TICKET], request[TRACE], serve, chat=chat,
        replay=lambda body: _replay(request, call, body),
        request_id=request.headers.get("X-Request-Id", ""),
        limit_key=_bearer(request) if st.access_keys else "",
    )


async def _replay(request: web.Request, call: core.Call, body: bytes) -> web.StreamResponse:
    """A cached chat.completion: as JSON, or as a real stream to a streaming client."""
    if not call.stream:
        return web.Response(body=body, content_type="application/json")
    down = Downstream(request)
    try:
        await down.write(response_cache.replay(body, call.include_usage))
    except ClientGone:
        assert down.response is not None
        return down.response
    return await down.finish()


# --- handlers -----------------------------------------------------------------------------


async def chat_completions(request: web.Request) -> web.StreamResponse:
    st = request.app[STATE]
    call = await _call(request, "chatcmpl", required=("messages",))
    p = st.provider
    if st.local:
        serve = lambda: _local_chat(request, call, None)  # noqa: E731
    else:
        serve = lambda: _exchange(request, call, lambda: p.chat(st.settings, call), p.chat_result, p.ChatStream)  # noqa: E731
    if st.policies.observe:
        return await _served(request, call, serve, chat=True)
    return await serve()


async def completions(request: web.Request) -> web.StreamResponse:
    st = request.app[STATE]
    call = await _call(request, "cmpl", required=("prompt",))
    if st.policies.observe:
        return await _served(request, call, lambda: _completions(request, call), chat=False)
    return await _completions(request, call)


async def _completions(request: web.Request, call: core.Call) -> web.StreamResponse:
    st = request.app[STATE]
    p = st.provider
    if st.native_completions:
        return await _exchange(
            request, call, lambda: p.completions(st.settings, call), p.completions_result, p.CompletionStream
        )
    # Chat-only upstreams: the prompt becomes one user turn, the answer a text_completion.
    body = oai.encode(oai.completion_to_chat(oai.decode_completion(call.body)))
    call = msgspec.structs.replace(call, body=body, fields=_fields_decoder.decode(body))
    convert = oai.chat_to_completion
    if st.local:
        return await _local_chat(request, call, convert)
    return await _exchange(request, call, lambda: p.chat(st.settings, call), p.chat_result, p.ChatStream, convert)


async def _local_chat(
    request: web.Request, call: core.Call, convert: Callable[[bytes, bool], bytes] | None,
    down: Downstream | None = None,
) -> web.StreamResponse:
    st = request.app[STATE]
    p = st.provider
    if not call.stream:
        body = p.local_chat(st.settings, call)
        if down is not None:
            return await down.whole(body)
        return web.Response(body=convert(body, False) if convert else body, content_type="application/json")
    down = down or Downstream(request)
    down.keep_usage = _ask_usage(st, call)
    try:
        for delay, payload in p.local_stream(st.settings, call):
            if delay:
                # The mock's pacing stands in for upstream time, not aoa's own.
                request[TRACE].upstream_s += delay
                await asyncio.sleep(delay)
            await down.write([convert(payload, True) if convert else payload])
    except ClientGone:
        assert down.response is not None
        return down.response
    return await down.finish()


# --- Responses API: translated onto the chat path, or relayed to an upstream that has it ----


class ResponsesDownstream(Downstream):
    """The chat path's chunks (or whole answer) re-shaped into a Responses stream (or object).
    The finished response is stored before its last event is written, so a client that follows
    up with `previous_response_id` at once finds it."""

    def __init__(self, request: web.Request, skel: responses.Response, encrypted: bool, ns: dict[str, str],
                 keep: Callable[[responses.Response], Awaitable[None]]) -> None:
        super().__init__(request)
        self.skel = skel
        self.encrypted = encrypted
        self.ns = ns
        self.keep = keep
        self.shaper = responses.ResponseStream(skel, encrypted=encrypted, ns=ns)

    def frame(self, payloads: list[bytes]) -> bytes:
        return b"".join([e for p in payloads for e in self.shaper.feed(p)])

    async def ending(self) -> bytes:
        events = self.shaper.close(int(time.time()))
        await self.keep(self.shaper.response)
        return b"".join(events)

    def error_frame(self, err: core.Error, key: str) -> bytes:
        st = self.request.app[STATE]
        shown = core.Error(err.status, st.redact(err.message, key), param=err.param, code=err.code, type=err.type)
        return b"".join(self.shaper.fail(shown))

    async def whole(self, body: bytes) -> web.StreamResponse:
        r = responses.from_chat(self.skel, body, encrypted=self.encrypted, completed_at=int(time.time()), ns=self.ns)
        await self.keep(r)
        return web.Response(body=responses.encode(r), content_type="application/json")


class RelayDownstream(Downstream):
    """Relay mode: the upstream's Responses events, already framed with their names."""

    def __init__(self, request: web.Request, events: responses.RelayEvents,
                 claim: Callable[[str], Awaitable[None]] | None) -> None:
        super().__init__(request)
        self.events = events
        self.claim = claim

    async def write(self, payloads: list[bytes]) -> None:
        # Claimed before the client can see the id, so a follow-up at once finds it.
        if self.claim is not None and self.events.id is not None:
            await self.claim(self.events.id)
            self.claim = None
        await super().write(payloads)

    def frame(self, payloads: list[bytes]) -> bytes:
        return b"".join(payloads)

    async def ending(self) -> bytes:
        return b""

    def error_frame(self, err: core.Error, key: str) -> bytes:
        st = self.request.app[STATE]
        event = {"type": "error", "code": err.code or err.type, "message": st.redact(err.message, key), "param": err.param,
                 "sequence_number": self.events.relayed}
        return responses.frame("error", oai.encode(event))


async def _relay_responses(request: web.Request, call: core.Call, suffix: str, method: str = "POST") -> web.StreamResponse:
    st = request.app[STATE]
    assert st.responses_relay is not None
    url = st.responses_relay(suffix)
    assert url is not None
    if request.query_string:
        url += ("&" if "?" in url else "?") + request.query_string
    owner = _bearer(request)
    claim: Callable[[str], Awaitable[None]] | None = None
    if call.key != owner:  # aoa's own upstream key: the upstream cannot tell aoa's clients apart
        claim = functools.partial(st.responses_store.claim, owner)
        rid = call.id if method != "POST" else _field(call.fields, "previous_response_id", _model_decoder)
        if rid:
            await st.responses_store.check_claim(owner, rid, "previous_response_id" if method == "POST" else None)
    body = passthrough.with_model(call, call.model) if method == "POST" else None
    try:
        # Retried like every upstream attempt; headers are rebuilt for each pool key.
        _, resp = await _attempts(request, call, lambda: core.Outbound(
            url=url, headers=st.provider.headers(call.key), body=body, method=method, stream=call.stream))
    except core.Error as err:
        if err.status in (404, 405) and method == "POST":
            err.message += f" (this upstream may have no Responses API: set {st.common.prefix}_RESPONSES=translate)"
        raise
    try:
        if call.stream:
            events = responses.RelayEvents()
            down = RelayDownstream(request, events, claim if method == "POST" else None)
            return await _stream_to_client(request, call, resp, events, None, down)
        body = passthrough.check_json(await _read(request, resp))
        rid = responses.relayed_id(body) if claim is not None and method == "POST" else None
        if rid:
            await claim(rid)  # type: ignore[misc]
        elif claim is not None and method == "DELETE":
            await st.responses_store.unclaim(owner, call.id)
        return web.Response(body=body, content_type="application/json")
    except BaseException:
        resp.close()
        raise
    finally:
        resp.release()


async def create_response(request: web.Request) -> web.StreamResponse:
    call = await _call(request, "resp", required=("input",))
    if request.app[STATE].policies.observe:  # token limits count Responses usage too
        return await _served(request, call, lambda: _create_response(request, call), chat=False)
    return await _create_response(request, call)


async def _create_response(request: web.Request, call: core.Call) -> web.StreamResponse:
    st = request.app[STATE]
    if st.responses_relay is not None:
        return await _relay_responses(request, call, "")
    req = await inbound.offload(len(call.body), responses.decode_request, call.body)
    history: list[oai.Message] = []
    if req.previous_response_id:
        prev = await st.responses_store.load(_bearer(request), req.previous_response_id, "previous_response_id")
        history = responses.decode_messages(prev.messages)

    def translate() -> tuple[list[oai.Message], bytes]:
        turn = history + responses.to_messages(responses.input_items(req))
        return turn, oai.encode(responses.to_chat(req, turn, call.model))

    turn, chat = await inbound.offload(len(call.body), translate)
    rid = f"resp_{secrets.token_hex(20)}"
    skel = responses.skeleton(req, call.fields, rid, call.created, call.client_model or call.model)
    fields = call.fields

    async def keep(r: responses.Response) -> None:
        if req.store is False:
            return
        ids, items = responses.stored_items(req, fields, rid)
        record = responses.Stored(
            response=msgspec.Raw(responses.encode(r)),
            messages=msgspec.Raw(responses.encode_messages(turn + responses.output_messages(r))),
            item_ids=ids, items=items,
        )
        await st.responses_store.save(_bearer(request), rid, record)  # responses belong to their credential

    encrypted = responses.ENCRYPTED in (req.include or ())
    down = ResponsesDownstream(request, skel, encrypted, responses.namespaces(req), keep)
    call = msgspec.structs.replace(
        call, id=st.new_id("chatcmpl"), body=chat, fields=_fields_decoder.decode(chat), include_usage=call.stream
    )
    p = st.provider
    try:
        if st.local:
            return await _local_chat(request, call, None, down)
        return await _exchange(request, call, lambda: p.chat(st.settings, call), p.chat_result, p.ChatStream, down=down)
    except core.Error as err:
        err.param = responses.client_param(err.param)
        raise


async def _lookup_call(request: web.Request) -> core.Call:
    rid = request.match_info["id"]
    if not responses.valid_id(rid):
        raise not_found(rid)
    return core.Call(id=rid, created=int(time.time()), model="", client_model="", key=await upstream_key(request))


async def get_response(request: web.Request) -> web.StreamResponse:
    call = await _lookup_call(request)
    st = request.app[STATE]
    if st.responses_relay is not None:
        call.stream = request.query.get("stream", "").lower() == "true"  # a stored stream replayed
        return await _relay_responses(request, call, f"/{call.id}", "GET")
    if request.query.get("stream", "").lower() == "true":
        raise core.Error(400, "Replaying a stored response as a stream is not supported here.", param="stream", code="unsupported_value")
    stored = await st.responses_store.load(_bearer(request), call.id)
    return web.Response(body=bytes(stored.response), content_type="application/json")


async def delete_response(request: web.Request) -> web.StreamResponse:
    call = await _lookup_call(request)
    st = request.app[STATE]
    if st.responses_relay is not None:
        return await _relay_responses(request, call, f"/{call.id}", "DELETE")
    await st.responses_store.drop(_bearer(request), call.id)
    return web.Response(body=responses.encode(responses.DeletedResponse(id=call.id)), content_type="application/json")


async def response_input_items(request: web.Request) -> web.StreamResponse:
    call = await _lookup_call(request)
    st = request.app[STATE]
    if st.responses_relay is not None:
        return await _relay_responses(request, call, f"/{call.id}/input_items", "GET")
    limit, order, after = responses.page_params(request.query)
    stored = await st.responses_store.load(_bearer(request), call.id)
    body = responses.item_list(stored.items, limit, order, after, stored.item_ids)
    return web.Response(body=body, content_type="application/json")


async def embeddings(request: web.Request) -> web.StreamResponse:
    call = await _call(request, "emb", required=("input",))
    if request.app[STATE].policies.observe:
        return await _served(request, call, lambda: _embeddings(request, call), chat=False)
    return await _embeddings(request, call)


async def _embeddings(request: web.Request, call: core.Call) -> web.StreamResponse:
    st = request.app[STATE]
    p = st.provider
    if st.local:
        body = p.local_embeddings(st.settings, call)
    else:
        built = {call.key: p.embeddings(st.settings, call)}
        limit = asyncio.Semaphore(4)  # batches in flight at once; vendors rate-limit bursts

        def batch(i: int) -> core.Outbound:
            # A retry on another key rebuilds the batches with it (call.key is set per attempt).
            if call.key not in built:
                built[call.key] = p.embeddings(st.settings, call)
            return built[call.key][i]

        async def one(i: int) -> bytes:
            async with limit:
                return await _fetch_json(request, call, lambda: batch(i))

        bodies = list(await asyncio.gather(*(one(i) for i in range(len(built[call.key])))))
        size = sum(len(b) for b in bodies)
        body = await inbound.offload(size, inbound.upstream_side, p.embeddings_result, st.settings, call, bodies)
    return web.Response(body=body, content_type="application/json")


async def _model_ids(request: web.Request) -> list[str]:
    st = request.app[STATE]
    if st.local:
        return st.served
    key = await upstream_key(request)
    # A minted token changes hourly; the list it opens does not.
    cache_key = "service-account" if st.tokens is not None else secrets_hash(key)
    hit = st.models_cache.get(cache_key)
    now = time.monotonic()
    if hit and now - hit[0] < st.config.models_ttl:
        return hit[1]
    call = core.Call(id="models", created=int(time.time()), model=st.common.model, client_model="", key=key)
    upstream: list[str] = []
    page: str | None = None
    if st.policies.router:  # every target's list, merged; a target that is down is left out
        parse = lambda body: st.provider.models_result(st.settings, body)[0]  # noqa: E731
        upstream = await st.policies.router.model_ids(st.session, key, parse, st.config.connect_timeout)
    for _ in range(0 if st.policies.router else 100):  # a bound on pagination, whatever the upstream says
        if st.provider.models(st.settings, call, page) is None:
            break
        body = await _fetch_json(request, call, lambda: st.provider.models(st.settings, call, page))
        ids, page = inbound.upstream_side(st.provider.models_result, st.settings, body)
        upstream += ids
        if not page:
            break
    merged = list(dict.fromkeys([*st.served, *upstream]))
    if len(st.models_cache) > 64:
        st.models_cache.clear()
    st.models_cache[cache_key] = (now, merged)
    return merged


def secrets_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def list_models(request: web.Request) -> web.Response:
    ids = await _model_ids(request)
    owner = getattr(request.app[STATE].provider, "OWNED_BY", "aoa")
    body = oai.ModelList(data=[oai.Model(id=i, owned_by=owner) for i in ids])
    return web.Response(body=oai.encode(body), content_type="application/json")


async def get_model(request: web.Request) -> web.Response:
    name = request.match_info["id"]
    p = request.app[STATE].provider
    # A provider that answers to any name (the mock) finds every model.
    if not getattr(p, "ANY_MODEL", False) and name not in await _model_ids(request):
        raise core.Error(404, f"The model `{name}` does not exist or is not served here.", param="model", code="model_not_found")
    return web.Response(body=oai.encode(oai.Model(id=name, owned_by=getattr(p, "OWNED_BY", "aoa"))), content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; behind AOA_API_KEYS like the model routes (README: Production)."""
    m = request.app[STATE].metrics
    assert m is not None
    return web.Response(body=m.render(), headers={"Content-Type": METRICS_TYPE})


# --- middleware: auth, CORS, errors, access log, overhead header --------------------------

OPEN_PATHS = frozenset({"/", "/health", "/healthz", "/ping"})
OVERHEAD_HEADER = "X-AOA-Overhead-Ms"
REQUEST_ID_HEADER = "X-Request-Id"
# Browsers hide response headers from scripts unless they are exposed.
EXPOSE_HEADERS = f"{OVERHEAD_HEADER}, {REQUEST_ID_HEADER}, Retry-After"


def _authorized(st: State, request: web.Request) -> bool:
    if not st.access_keys:
        return True
    given = _bearer(request).encode()
    ok = False
    for key in st.access_keys:  # compare against every key: no early exit to time
        ok |= hmac.compare_digest(given, key)
    return ok


def _cors_origin(st: State, request: web.Request) -> str | None:
    origin = request.headers.get("Origin")
    if not origin:
        return None
    if "*" in st.config.cors_origins:
        return "*"
    return origin if origin in st.config.cors_origins else None


@web.middleware
async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    st = request.app[STATE]
    trace = request[TRACE] = Trace(request_id(request.headers.get("X-Request-Id")))
    if st.metrics is not None:
        st.metrics.in_flight += 1
    try:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            resp: web.StreamResponse = _preflight(st, request)
        elif request.path not in OPEN_PATHS and not _authorized(st, request):
            raise core.Error(401, "Invalid or missing API key (Authorization: Bearer <key>).", code="invalid_api_key")
        else:
            resp = await handler(request)
    except core.Error as err:
        resp = error_response(err, st.redact, _bearer(request), trace.request_id)
    except web.HTTPException as exc:
        resp = error_response(_http_error(exc), st.redact, rid=trace.request_id)
    except RecursionError:
        # Only decoding or encoding client JSON recurses without bound in aoa (upstream answers
        # are caught as 502s where they are read): nesting deeper than the interpreter follows.
        resp = error_response(core.Error(400, inbound.TOO_DEEP, code="invalid_json"), st.redact, rid=trace.request_id)
    except asyncio.CancelledError:
        _finished(st, request, 499, None)
        raise
    except Exception:
        log.exception("unhandled error on %s %s (request %s)", printable(request.method), printable(request.path), trace.request_id)
        resp = error_response(core.Error(500, "Internal error in aoa; see its log.", code="internal_error"), st.redact, rid=trace.request_id)
    _finished(st, request, resp.status, resp)
    return resp


def _finished(st: State, request: web.Request, status: int, resp: web.StreamResponse | None) -> None:
    """The end of every request: usage of a JSON answer, metrics, the access-log line."""
    trace = request[TRACE]
    if status == 200 and type(resp) is web.Response and trace.model != "-":
        read_usage(trace, resp.body)  # type: ignore[arg-type]
    m = st.metrics
    if m is not None:
        m.in_flight -= 1
        if trace.ttft_s is not None:
            m.streams -= 1
        if trace.overhead_s is None:
            trace.overhead_s = max(trace.elapsed() - trace.upstream_s, 0.0)
    if m is not None or st.otel is not None:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "other"
        if m is not None:
            m.finish(route, status, trace)
        if st.otel is not None:
            st.otel.record(request.method, route, status, trace, request.headers)
    access(request.method, request.path, status, trace)


def _http_error(exc: web.HTTPException) -> core.Error:
    if exc.status == 404:
        return core.Error(404, "Unknown URL; aoa serves /v1/chat/completions, /v1/responses, /v1/completions, /v1/embeddings and /v1/models.", code="unknown_url")
    if exc.status == 405:
        return core.Error(405, "Method not allowed on this URL.", code="method_not_allowed")
    if exc.status == 413:
        return core.Error(413, "Request body is too large (AOA_MAX_BODY).", code="request_too_large")
    return core.Error(exc.status, exc.reason or "HTTP error")


def _preflight(st: State, request: web.Request) -> web.Response:
    origin = _cors_origin(st, request)
    if origin is None:
        return web.Response(status=403, text="CORS origin not allowed")
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers", "*"),
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        },
    )


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    st = request.app[STATE]
    origin = _cors_origin(st, request)
    if origin and "Access-Control-Allow-Origin" not in response.headers:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        response.headers["Vary"] = "Origin"
    ticket = request.get(TICKET)
    if ticket is not None and ticket.headers:  # rate-limit and cache headers, errors included
        response.headers.update(ticket.headers)
    trace = request.get(TRACE)
    if trace is not None:
        response.headers[REQUEST_ID_HEADER] = trace.request_id
        own = max(time.perf_counter() - trace.t0 - trace.upstream_s, 0.0)
        if trace.overhead_s is None:
            trace.overhead_s = own
        response.headers[OVERHEAD_HEADER] = f"{own * 1000:.3f}"



# --- application --------------------------------------------------------------------------



async def _sessions(app: web.Application):
    st = app[STATE]
    st.session = open_session(st.common, st.config, USER_AGENT)
    st.fetcher = await open_fetcher(st.common, st.config, USER_AGENT)
    if st.config.credential is not None:
        st.tokens = TokenSource(st.config.credential, st.session)
    st.policies.start(st.retry.pool)
    if st.config.otel_endpoint:
        from gateway.otel import Tracing

        st.otel = Tracing(st.config.otel_endpoint, st.config.kind, __version__)
    yield
    await st.session.close()
    await st.fetcher.close()
    await st.policies.close()
    if st.otel is not None:
        await asyncio.to_thread(st.otel.close)  # flushes the last spans; may wait on the network


async def _flush_logs(app: web.Application) -> None:
    flush_access_log()


def make_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[middleware], client_max_size=config.max_body)
    app[STATE] = State(config)
    app.cleanup_ctx.append(_sessions)
    app.on_response_prepare.append(_on_prepare)
    app.on_cleanup.append(_flush_logs)
    for prefix in ("/v1", ""):
        app.router.add_post(f"{prefix}/chat/completions", chat_completions, expect_handler=_expect)
        app.router.add_post(f"{prefix}/completions", completions, expect_handler=_expect)
        app.router.add_post(f"{prefix}/embeddings", embeddings, expect_handler=_expect)
        app.router.add_get(f"{prefix}/models", list_models)
        app.router.add_get(f"{prefix}/models/{{id:.+}}", get_model)
        app.router.add_post(f"{prefix}/responses", create_response, expect_handler=_expect)
        app.router.add_get(f"{prefix}/responses/{{id}}", get_response)
        app.router.add_delete(f"{prefix}/responses/{{id}}", delete_response)
        app.router.add_get(f"{prefix}/responses/{{id}}/input_items", response_input_items)
    for path in OPEN_PATHS:
        app.router.add_get(path, health)
    if config.metrics:
        app.router.add_get("/metrics", metrics)
    return app


# --- process ------------------------------------------------------------------------------



def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def banner(config: Config, port: int | None = None) -> None:
    common = config.settings.common
    where = common.endpoint or "in-process"
    host = f"[{config.host}]" if ":" in config.host else config.host
    log.info("aoa %s serving AOA_TYPE=%s (%s, model %s) on http://%s:%d", __version__, config.kind, where, common.model or "-", host, port or config.port)
    on = policies_on(config)
    if on:
        log.info("policies: %s", ", ".join(on))
    if config.fallback:
        log.warning("No upstream configured (AOA_TYPE unset, no AZURE_ENDPOINT): answering with the built-in mock upstream. Set AOA_TYPE and the vendor's variables to use a real one.")
    if (common.api_key or config.credential) and not config.api_keys and not _loopback(config.host):
        log.warning(
            "%s_API_KEY (or a service account) is set but AOA_API_KEYS is not, and aoa listens on %s: anyone who reaches this port spends your key. Set AOA_API_KEYS or bind AOA_HOST=127.0.0.1.",
            common.prefix, config.host,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aoa", description="OpenAI-compatible translator for one LLM upstream, configured by environment variables.")
    parser.add_argument("--check", action="store_true", help="validate the configuration, print it with secrets redacted, and exit")
    parser.add_argument("--version", action="version", version=f"aoa {__version__}")
    args = parser.parse_args(argv)
    try:
        config = load_config(os.environ)
    except core.ConfigError as exc:
        print(f"aoa: invalid configuration: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(msgspec.json.format(msgspec.json.encode(describe(config))).decode())
        return 0
    try:
        sockets = bind(config.host, config.port)
    except core.ConfigError as exc:
        print(f"aoa: cannot start: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log_level, config_secrets(config), config.log_format)
    banner(config, sockets[0].getsockname()[1])
    # Opt-in only: measured side by side (bench/README.md) uvloop lowered throughput under load.
    # (load_config made sure it is importable.)
    if config.uvloop:
        import uvloop

        runner_loop = uvloop.new_event_loop()
    else:
        runner_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(runner_loop)
    app = make_app(config)
    # Everything built so far lives as long as the process: move it out of the collector's
    # sight, so that full collections no longer walk tens of thousands of start-up objects.
    gc.collect()
    gc.freeze()
    edge.run(
        app,
        sockets=sockets,
        edge=edge.Edge(config.header_timeout, config.max_connections, Redactor(config_secrets(config))),
        shutdown_timeout=config.shutdown_grace,
        loop=runner_loop,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
