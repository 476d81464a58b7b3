"""The listening edge: what aoa does before a request reaches its routes.

- A client must finish sending a request's headers within AOA_HEADER_TIMEOUT of its first byte
  (or of connecting); one that trickles them byte by byte is answered 408 and closed.
- At most AOA_MAX_CONNECTIONS client connections at once; beyond that a connection gets a 503
  in OpenAI's shape and is closed, so file descriptors (and /healthz) never run out.
- Requests aiohttp refuses while parsing (headers over 8 KB or over 128 of them, a URL over 8 KB,
  an unknown Content-Encoding, bytes that are not HTTP) get an OpenAI-shaped 400 and one log line
  at info (debug for non-HTTP bytes), without a traceback.
- Repeated asyncio errors (`socket.accept() out of system resource` under a flood) are logged
  once per 10 s with a count, not thousands of tracebacks.

`run` replaces `web.run_app`, whose runner offers no seam for the protocol.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import time
from contextlib import suppress
from typing import Any

import msgspec
from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestHandler

from .redact import Redactor, printable

# aiohttp names an unknown method apart only in later 3.11 releases; before, it is a bad status line.
BadHttpMethod = getattr(http_exceptions, "BadHttpMethod", http_exceptions.BadStatusLine)

log = logging.getLogger("aoa.edge")

# The header deadline reads three attributes of aiohttp's handler (slots, stable since 3.9); on an
# aiohttp without them it stays off rather than break every connection.
_WATCHES_HEADS = all(hasattr(RequestHandler, a) for a in ("_request_count", "_waiter", "_messages"))


def default_max_connections() -> int:
    """Two descriptors per busy connection (client side and upstream side) plus headroom, within
    the process's open-file limit; 4,096 when the limit is generous."""
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return 4096
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(16, min(4096, (soft - 64) // 2))


def _error(status: int, reason: str, message: str, code: str, extra: str = "") -> bytes:
    body = msgspec.json.encode({"error": {"message": message, "type": "invalid_request_error" if status < 500 else "service_unavailable_error", "param": None, "code": code}})
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{extra}\r\n"
    ).encode() + body


class Edge:
    """Per-server limits and the count of open client connections."""

    def __init__(self, header_timeout: float, max_connections: int, redact: Redactor | None = None) -> None:
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self.redact = redact or Redactor([])
        self.active = 0
        self.busy = _error(503, "Service Unavailable", f"aoa is at its connection limit ({max_connections}, AOA_MAX_CONNECTIONS); retry shortly.", "too_many_connections", "Retry-After: 1\r\n")
        self.slow = _error(408, "Request Timeout", f"The request headers did not arrive within {header_timeout:g} s (AOA_HEADER_TIMEOUT).", "request_timeout")


class _Busy(asyncio.Protocol):
    """A connection beyond the cap: the 503 is written and our side shut for writing; the socket
    is closed as soon as the client's first bytes have been read (closing with unread bytes
    would send a reset, which can wipe the answer out at the client) or after a quarter second,
    so refused connections never pile up descriptors."""

    def __init__(self, edge: Edge) -> None:
        self.edge = edge
        self.transport: Any = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.edge.busy)
        if transport.can_write_eof():
            transport.write_eof()
        self.timer = asyncio.get_running_loop().call_later(0.25, transport.close)

    def data_received(self, data: bytes) -> None:
        self.transport.close()

    def eof_received(self) -> bool:
        self.transport.close()
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


class EdgeHandler(RequestHandler):
    """aiohttp's request handler with a header deadline, a connection count and OpenAI-shaped
    answers to the requests aiohttp refuses itself."""

    __slots__ = ("_edge", "_head_timer")

    def __init__(self, manager: Any, edge: Edge, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._edge = edge
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        self._edge.active += 1
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._edge.active -= 1
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not _WATCHES_HEADS:
            super().data_received(data)
            return
        # Bytes arriving while the handler waits for its next request (`_waiter` set) start a
        # request head; once the parser has a whole head the deadline is gone. A head that
        # arrives in one read never arms a timer; body bytes never do.
        idle = self._waiter is not None and not self._messages
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:
            self._disarm()
        elif idle and self._head_timer is None:
            self._arm()

    def _arm(self) -> None:
        if _WATCHES_HEADS and self._edge.header_timeout > 0 and self.transport is not None:
            self._head_timer = self._loop.call_later(self._edge.header_timeout, self._head_late)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        transport = self.transport
        if transport is None or self._waiter is None or self._messages:
            return  # a request is being served after all
        log.debug("closed a connection whose request headers took longer than %g s", self._edge.header_timeout)
        transport.write(self._edge.slow)
        self.force_close()
        transport.close()

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            return super().handle_error(request, status, exc, message)  # a real fault: keep its traceback
        detail = printable(self._edge.redact.shorten(str(message or exc or "malformed request"), 300))
        level = logging.DEBUG if isinstance(exc, BadHttpMethod) and self._request_count == 1 else logging.INFO
        log.log(level, "refused a malformed request from %s: %s", request.remote, detail)
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        body = msgspec.json.encode({"error": {"message": f"Malformed HTTP request: {detail}", "type": "invalid_request_error", "param": None, "code": "bad_request"}})
        resp = web.Response(status=status, body=body, content_type="application/json")
        resp.force_close()
        return resp


class _Factory:
    """The protocol factory handed to the listening socket."""

    def __init__(self, server: web.Server, edge: Edge) -> None:
        self.server = server
        self.edge = edge

    def __call__(self) -> asyncio.Protocol:
        if self.edge.active >= self.edge.max_connections:
            return _Busy(self.edge)
        return EdgeHandler(self.server, self.edge, loop=self.server._loop, **self.server._kwargs)


class EdgeRunner(web.AppRunner):
    """An AppRunner whose sites accept connections through `EdgeHandler`."""

    def __init__(self, app: web.Application, edge: Edge, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.edge = edge
        self._factory: _Factory | None = None

    @property
    def server(self) -> Any:
        inner = super().server
        if inner is None:
            return None
        if self._factory is None or self._factory.server is not inner:
            self._factory = _Factory(inner, self.edge)
        return self._factory


class OncePer(logging.Filter):
    """Lets one record per message through every `period` seconds; the next one says how many
    were held back. For loggers that can repeat the same error thousands of times a second."""

    def __init__(self, period: float = 10.0) -> None:
        super().__init__()
        self.period = period
        self.seen: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)
        now = time.monotonic()
        last, held = self.seen.get(key, (0.0, 0))
        if last and now - last < self.period:
            self.seen[key] = (last, held + 1)
            return False
        if len(self.seen) > 256:
            self.seen.clear()
        self.seen[key] = (now, 0)
        if held:
            record.msg = f"{record.getMessage()} (and {held} more like it in the last {self.period:g} s)"
            record.args = ()
        if record.exc_info and key.startswith("socket.accept()"):
            record.exc_info = None  # the errno is in the message; the traceback says nothing more
        return True


_asyncio_filter = OncePer()


def run(app: web.Application, *, sockets: list[socket.socket], edge: Edge, shutdown_timeout: float, loop: asyncio.AbstractEventLoop) -> None:
    """Serve `app` on the already bound `sockets` until SIGINT/SIGTERM, then drain for
    `shutdown_timeout` (as `web.run_app`)."""
    asyncio_log = logging.getLogger("asyncio")
    if _asyncio_filter not in asyncio_log.filters:
        asyncio_log.addFilter(_asyncio_filter)

    async def serve() -> None:
        runner = EdgeRunner(app, edge, handle_signals=True, access_log=None, shutdown_timeout=shutdown_timeout, handler_cancellation=True)
        await runner.setup()
        try:
            for sock in sockets:
                await web.SockSite(runner, sock).start()
            while True:
                await asyncio.sleep(3600)
        finally:
            await runner.cleanup()

    asyncio.set_event_loop(loop)
    main_task = loop.create_task(serve())
    try:
        loop.run_until_complete(main_task)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            if not main_task.done():
                main_task.cancel()
                with suppress(asyncio.CancelledError):
                    loop.run_until_complete(main_task)
        finally:
            rest = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in rest:
                task.cancel()
            if rest:
                loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
