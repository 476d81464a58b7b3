"""The upstream side of the wire: connectors (HTTP/SOCKS proxies), the session factory, and
transport failures → `core.Error`."""

from __future__ import annotations

import asyncio
import sys

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from aiohttp_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError
from yarl import URL

from providers import core

if sys.version_info >= (3, 11):
    from asyncio import timeout
else:  # aiohttp depends on async-timeout before 3.11
    from async_timeout import timeout

__all__ = ["TRANSPORT_ERRORS", "body_phase", "connector", "env_proxy", "open_session", "timeout", "transport_error"]

# aiohttp-socks raises its own exception types, not aiohttp.ClientError.
TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError, ProxyError, ProxyConnectionError, ProxyTimeoutError)


def transport_error(exc: BaseException, what: str = "upstream") -> core.Error:
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError, ProxyTimeoutError)):
        return core.Error(504, f"The {what} did not answer in time.", code="upstream_timeout")
    detail = type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorError):
        detail = f"cannot connect to {exc.host}:{exc.port} ({exc.os_error.strerror or exc.os_error})"
    elif isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        detail = "the connection was closed before the answer was complete"
    elif str(exc):
        detail = f"{detail}: {exc}"
    return core.Error(502, f"The {what} could not be reached: {detail}.", code="upstream_unreachable")


def connector(common: core.Common) -> tuple[aiohttp.BaseConnector, str | None, bool]:
    """(connector, http proxy, trust_env): SOCKS wins over HTTP; with neither, the standard
    HTTPS_PROXY/NO_PROXY variables apply."""
    if common.socks_proxy:
        from aiohttp_socks import ProxyConnector

        url = common.socks_proxy
        rdns = url.startswith(("socks5h://", "socks4a://"))
        url = url.replace("socks5h://", "socks5://", 1).replace("socks4a://", "socks4://", 1)
        return ProxyConnector.from_url(url, rdns=rdns, limit=0), None, False
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
    if common.http_proxy:
        return connector, common.http_proxy, False
    return connector, None, True


def env_proxy(endpoint: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
    """The HTTPS_PROXY/HTTP_PROXY/NO_PROXY answer for the one upstream, looked up once: with
    `trust_env` aiohttp repeats it (and a ~/.netrc read) in worker threads on every request."""
    if not endpoint:
        return None, None
    try:
        proxy, auth = get_env_proxy_for_url(URL(endpoint))
    except LookupError:
        return None, None
    return str(proxy), auth


def open_session(common: core.Common, cfg, user_agent: str) -> aiohttp.ClientSession:
    """The one upstream session of the process (its connection pool is shared by every request).

    Timeouts, each from its own variable and none armed per request by aoa itself: connecting
    (AOA_CONNECT_TIMEOUT), then the wait for the response headers once the request is sent
    (AOA_FIRST_BYTE_TIMEOUT, as aiohttp's read timeout), then every silence while the body or
    stream arrives (AOA_IDLE_TIMEOUT, switched in by `body_phase`). No total: a long stream that
    keeps talking is never cut.
    """
    conn, proxy, trust_env = connector(common)
    proxy_auth = None
    if trust_env:
        proxy, proxy_auth = env_proxy(common.endpoint)
    client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=cfg.connect_timeout, sock_read=cfg.first_byte_timeout)
    return aiohttp.ClientSession(
        connector=conn, timeout=client_timeout, proxy=proxy, proxy_auth=proxy_auth,
        headers={"User-Agent": user_agent},
    )


def body_phase(resp: aiohttp.ClientResponse, idle: float) -> None:
    """The headers are in: from now on each silence of the upstream may last `idle` seconds.

    aiohttp re-arms its read timer on every read, and sets it back from the session's value for
    the next request on this connection; a body already complete has no timer to change.
    """
    conn = resp.connection
    proto = conn.protocol if conn is not None else None
    if proto is not None and not resp.content.is_eof():
        proto.read_timeout = idle
        proto.start_timeout()
