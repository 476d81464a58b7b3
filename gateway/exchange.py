"""The upstream exchange and the SSE relay to the client: one upstream call (sent, retried,
checked, read), its answer translated back and written out — as one JSON body or as a real stream,
chunk by chunk — and errors → OpenAI-shaped bodies. `Downstream` is the seam the Responses API
uses to re-shape the chat path's output (gateway/responses_api.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from gateway import cache as response_cache
from gateway import inbound
from gateway.body import offload, upstream_side
from gateway.redact import Redactor, printable
from gateway.sse import DONE, SSE_HEADERS, SSEDecoder, split_block
from gateway.state import STATE, TICKET, TRACE, State
from gateway.upstream import TRANSPORT_ERRORS, body_phase, transport_error
from gateway.usage import strip_usage
from providers import core, oai

# The edge's own logger: stream errors are logged as they always were, under "aoa".
log = logging.getLogger("aoa")


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


async def read(request: web.Request, resp: aiohttp.ClientResponse) -> bytes:
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
    body = await read(request, resp)
    err = upstream_side(request.app[STATE].provider.error, resp.status, body)
    retry = resp.headers.get("Retry-After")
    if retry and err.status in (429, 503) and not err.retry_after:
        err.retry_after = retry
    raise err


async def fetch_json(request: web.Request, call: core.Call, build: Callable[[], core.Outbound]) -> bytes:
    """One JSON exchange, retried whole (nothing reaches the client before it is read)."""

    async def make() -> core.Outbound:
        return build()

    async def attempt(out: core.Outbound) -> bytes:
        resp = await _send(request, out)
        try:
            await _check(request, resp)
            return await read(request, resp)
        finally:
            resp.release()

    return await request.app[STATE].retry.run(request[TRACE], call, make, attempt)


async def attempts(request: web.Request, call: core.Call, build: Callable[[], core.Outbound]) -> tuple[core.Outbound, aiohttp.ClientResponse]:
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
        # Blocks of upstream frames can go out as they came only with this class's own framing.
        self.plain = type(self).frame is Downstream.frame

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
        if self.plain:
            data = self.frame(payloads)
            if b'"usage"' in data:
                data = self._usage_in_bulk(data)
            if data:
                await self._send(data)
                return
        # Usage tap: one C-speed scan per batch; chunks are only looked at when it hits.
        if b'"usage"' in (payloads[0] if len(payloads) == 1 else b"".join(payloads)):
            payloads = strip_usage(self.request[TRACE], payloads, self.keep_usage)
            if not payloads:
                return
        await self._send(self.frame(payloads))

    async def write_framed(self, block: bytes) -> None:
        """A block of plain `data: {…}\n\n` events, already checked (RelayStream.feed_framed):
        written as it came unless something must look at its chunks one by one (the cache or
        chat log tap, a usage object, a subclass's own framing)."""
        if self.tap is None and self.plain:
            data = self._usage_in_bulk(block) if b'"usage"' in block else block
            if data:
                await self._send(data)
                return
        await self.write([p for _, p in split_block(block)])

    def _usage_in_bulk(self, data: bytes) -> bytes:
        """Framed chunks that mention usage, as `strip_usage` would leave them, when that can be
        done in bulk: with usage asked for, every chunk but the last says `"usage":null`, which
        goes when the client did not ask for it. b"" when a chunk must be looked at (a usage
        object to read, another spelling)."""
        if b'"usage":{' in data or b'"usage": {' in data:
            return b""
        if self.keep_usage:
            return data
        if data.count(b'"usage"') != data.count(b',"usage":null'):
            return b""
        return data.replace(b',"usage":null', b"")

    async def _send(self, data: bytes) -> None:
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
            # One send for the ending and the end of the chunked body.
            await self.response.write_eof(await self.ending())
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
            await self.response.write_eof(self.error_frame(err, key))
        except (ConnectionError, RuntimeError):
            pass
        return self.response


async def _events(request: web.Request, resp: aiohttp.ClientResponse, state: Any, framed: bool = False):
    """Yield batches of OpenAI chunk payloads as upstream reads arrive. With `framed`, a state
    that can check a block of plain events in bulk (`feed_framed`) gets them so, and a block it
    passes is yielded as bytes, framed as it came, instead of a list of payloads."""
    decoder = SSEDecoder()
    trace = request[TRACE]
    bulk = getattr(state, "feed_framed", None) if framed else None
    waited = time.perf_counter()
    try:
        async for chunk in resp.content.iter_any():
            if not trace.first_chunk:
                trace.first_chunk = True
                trace.upstream_s += time.perf_counter() - waited
            if bulk is None:
                events = decoder.feed(chunk)
            else:
                block, events = decoder.feed_framed(chunk)
                if block:
                    checked = bulk(block)
                    if checked is None:
                        events[:0] = SSEDecoder().feed(block)
                    elif checked:
                        yield checked
            out: list[bytes] = []
            err = _feed(state, events, out)
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
    (an error frame often shares a network read with the frames before it). A state with
    `feed_many(events, out)` takes a read's events in one call."""
    try:
        if (many := getattr(state, "feed_many", None)) is not None:
            many(events, out)
        else:
            for event, data in events:
                out += state.feed(event, data)
    except core.Error as err:
        return err
    except RecursionError:
        return core.Error(502, "The upstream sent an event nested too deeply.", code="upstream_invalid_json")
    return None


async def stream_to_client(
    request: web.Request, call: core.Call, resp: aiohttp.ClientResponse, state: Any,
    convert: Callable[[bytes], bytes] | None, down: Downstream | None = None,
) -> web.StreamResponse:
    down = down or Downstream(request)
    try:
        async for batch in _events(request, resp, state, framed=convert is None and down.plain):
            if type(batch) is bytes:
                await down.write_framed(batch)
            else:
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
        return await offload(len(call.body), build)
    except core.NeedMedia as need:
        st = request.app[STATE]
        assert st.fetcher is not None
        call.media = await st.fetcher.fetch(need.urls)
        return await offload(len(call.body), build)


async def exchange(
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
    out, resp = await attempts(request, call, build)
    try:
        if out.stream and resp.content_type == "application/json":
            # Some OpenAI-compatible servers ignore `stream` and answer with one JSON body;
            # relaying that as an empty stream would look like a silent empty answer.
            err = upstream_side(st.provider.error, 502, await read(request, resp))
            err.message = f"The upstream answered a streaming request without streaming: {err.message}"
            raise err
        if call.stream:
            if not out.stream:
                raise core.Error(500, "The provider did not ask the upstream for a stream.")
            state = stream_state(st.settings, call)
            conv = (lambda p: convert(p, True)) if convert else None
            return await stream_to_client(request, call, resp, state, conv, down)
        if out.stream:
            full = msgspec.structs.replace(call, stream=True, include_usage=True)
            body = await _assemble(request, resp, stream_state(st.settings, full))
        else:
            raw = await read(request, resp)
            body = await offload(len(raw), upstream_side, result, st.settings, call, raw)
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


async def served(
    request: web.Request, call: core.Call, serve: Callable[[], Awaitable[web.StreamResponse]], *, chat: bool
) -> web.StreamResponse:
    """Cache lookup before the upstream call; cache store, token count and chat log after it."""
    st = request.app[STATE]
    return await st.policies.around(
        call, request[TICKET], request[TRACE], serve, chat=chat,
        replay=lambda body: _replay(request, call, body),
        request_id=request.headers.get("X-Request-Id", ""),
        limit_key=inbound.bearer(request) if st.access_keys else "",
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


async def local_chat(
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
