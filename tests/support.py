"""Test plumbing: run aiohttp apps (aoa or a fake upstream) on loopback in their own thread, so
both the sync and the async openai SDK clients can talk to them from a test."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Mapping

from aiohttp import web

import aoa
from gateway.redact import RedactingFilter, Redactor


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """An aiohttp application served on 127.0.0.1 from a private event loop."""

    def __init__(self, app: web.Application, *, shutdown_timeout: float = 1.0) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.shutdown_timeout = shutdown_timeout
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.runner: web.AppRunner | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app, handler_cancellation=True, access_log=None, shutdown_timeout=self.shutdown_timeout)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        self.loop.run_until_complete(site.start())
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    def start(self) -> "ServerThread":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("server did not start")
        return self

    def call(self, coro, timeout: float = 10):
        """Run a coroutine on the server's loop (e.g. to inspect app state)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


def aoa_app(env: Mapping[str, str]) -> web.Application:
    # Tests that script one upstream failure expect to see it: retries are on only where a test
    # sets AOA_RETRIES (tests/test_resilience.py).
    return aoa.make_app(aoa.load_config({"AOA_RETRIES": "0", **env}))


class LogCapture(logging.Handler):
    """Collects formatted log lines, passed through aoa's own redacting filter."""

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        config = aoa.load_config(env)
        self.addFilter(RedactingFilter(Redactor(aoa.config_secrets(config))))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)
