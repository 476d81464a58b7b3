from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest
from aiohttp import web

from tests.support import ServerThread, aoa_app


@pytest.fixture
def serve() -> Iterator[Callable[[web.Application], ServerThread]]:
    """serve(app) → a started ServerThread on loopback, stopped after the test."""
    started: list[ServerThread] = []

    def start(app: web.Application) -> ServerThread:
        server = ServerThread(app).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def aoa_server(serve) -> Callable[[Mapping[str, str]], ServerThread]:
    """aoa_server(env) → aoa configured by `env` (and nothing else), on loopback."""

    def start(env: Mapping[str, str]) -> ServerThread:
        return serve(aoa_app(env))

    return start
