"""aoa — lets any OpenAI client talk to one other LLM vendor.

This module is the HTTP edge: the routes and their handlers (chat, completions, embeddings,
models, health, metrics), the middleware (auth, CORS, errors, access log, overhead header), the
application and the process start-up. Translation lives in `providers/` (pure, no IO); the IO
side lives in `gateway/`, one module each:

    gateway/state.py          the per-application State and the request keys
    gateway/inbound.py        what the client sent → a `core.Call`
    gateway/exchange.py       the upstream exchange, the SSE relay to the client, error bodies
    gateway/responses_api.py  the Responses API handlers
    gateway/…                 configuration, redaction, SSE decoding, media fetching, logging,
                              retries, key pools and the other policies (gateway/__init__.py)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import ipaddress
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web

from gateway import edge, inbound
from gateway.body import TOO_DEEP, offload, upstream_side
from gateway.config import Config, config_secrets, describe, load_config
from gateway.exchange import error_response, exchange, fetch_json, local_chat, served
from gateway.fetch import open_fetcher
from gateway.google_auth import TokenSource
from gateway.listen import bind
from gateway.logs import Trace, access, flush_access_log, request_id, setup_logging
from gateway.metrics import CONTENT_TYPE as METRICS_TYPE
from gateway.policies import describe as policies_on
from gateway.redact import Redactor, printable
from gateway.responses_api import create_response, delete_response, get_response, response_input_items
from gateway.state import STATE, TICKET, TRACE, State
from gateway.upstream import open_session
from gateway.usage import read_usage
from providers import core, oai

__version__ = "0.2.0"
USER_AGENT = f"aoa/{__version__}"

log = logging.getLogger("aoa")


# --- before the body: `Expect: 100-continue` ----------------------------------------------


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


# --- handlers -----------------------------------------------------------------------------


async def chat_completions(request: web.Request) -> web.StreamResponse:
    st = request.app[STATE]
    call = await inbound.read_call(request, "chatcmpl", required=("messages",))
    p = st.provider
    if st.local:
        serve = lambda: local_chat(request, call, None)  # noqa: E731
    else:
        serve = lambda: exchange(request, call, lambda: p.chat(st.settings, call), p.chat_result, p.ChatStream)  # noqa: E731
    if st.policies.observe:
        return await served(request, call, serve, chat=True)
    return await serve()


async def completions(request: web.Request) -> web.StreamResponse:
    st = request.app[STATE]
    call = await inbound.read_call(request, "cmpl", required=("prompt",))
    if st.policies.observe:
        return await served(request, call, lambda: _completions(request, call), chat=False)
    return await _completions(request, call)


async def _completions(request: web.Request, call: core.Call) -> web.StreamResponse:
    st = request.app[STATE]
    p = st.provider
    if st.native_completions:
        return await exchange(
            request, call, lambda: p.completions(st.settings, call), p.completions_result, p.CompletionStream
        )
    # Chat-only upstreams: the prompt becomes one user turn, the answer a text_completion.
    body = oai.encode(oai.completion_to_chat(oai.decode_completion(call.body)))
    call = msgspec.structs.replace(call, body=body, fields=inbound.fields_decoder.decode(body))
    convert = oai.chat_to_completion
    if st.local:
        return await local_chat(request, call, convert)
    return await exchange(request, call, lambda: p.chat(st.settings, call), p.chat_result, p.ChatStream, convert)


async def embeddings(request: web.Request) -> web.StreamResponse:
    call = await inbound.read_call(request, "emb", required=("input",))
    if request.app[STATE].policies.observe:
        return await served(request, call, lambda: _embeddings(request, call), chat=False)
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
                return await fetch_json(request, call, lambda: batch(i))

        bodies = list(await asyncio.gather(*(one(i) for i in range(len(built[call.key])))))
        size = sum(len(b) for b in bodies)
        body = await offload(size, upstream_side, p.embeddings_result, st.settings, call, bodies)
    return web.Response(body=body, content_type="application/json")


async def _model_ids(request: web.Request) -> list[str]:
    st = request.app[STATE]
    if st.local:
        return st.served
    key = await inbound.upstream_key(request)
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
        body = await fetch_json(request, call, lambda: st.provider.models(st.settings, call, page))
        ids, page = upstream_side(st.provider.models_result, st.settings, body)
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
    given = inbound.bearer(request).encode()
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
        resp = error_response(err, st.redact, inbound.bearer(request), trace.request_id)
    except web.HTTPException as exc:
        resp = error_response(_http_error(exc), st.redact, rid=trace.request_id)
    except RecursionError:
        # Only decoding or encoding client JSON recurses without bound in aoa (upstream answers
        # are caught as 502s where they are read): nesting deeper than the interpreter follows.
        resp = error_response(core.Error(400, TOO_DEEP, code="invalid_json"), st.redact, rid=trace.request_id)
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
