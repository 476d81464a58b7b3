"""Fetching client-named media (images, files) for providers that must inline them.

The client chooses the URL, so every request is treated as hostile: only http(s), a size cap and
a time limit per URL, at most AOA_FETCH_MAX_URLS distinct URLs and AOA_FETCH_MAX_TOTAL_BYTES in
all per request (so one request cannot hold hundreds of files in memory), and — unless
AOA_FETCH_PRIVATE — never an address inside the network aoa sits in.
The guard holds on every hop: redirects are followed here, one at a time (at most
MAX_REDIRECTS), each new URL checked again; a host name goes through a resolver that drops every
non-public address it resolves to, and an IP literal (which aiohttp never hands to a resolver)
is checked before any connection is made.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from providers import core

from .upstream import TRANSPORT_ERRORS, connector, timeout

MAX_REDIRECTS = 5
# URLs of one request fetched at once: hides per-URL latency without letting one request open
# many connections; the byte budget is shared, so the total stays exact.
PARALLEL = 4
REDIRECTS = frozenset({301, 302, 303, 307, 308})

# IPv6 forms that carry an IPv4 address a host may end up reaching: IPv4-compatible (::a.b.c.d),
# NAT64 (RFC 6052 and RFC 8215 local-use prefixes) and 6to4.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_COMPAT = ipaddress.ip_network("::/96")
_6TO4 = ipaddress.ip_network("2002::/16")


def public(ip: str) -> bool:
    """True only for a globally routable unicast address. Refused: loopback, private, link-local,
    unspecified (0.0.0.0, ::), unique-local, CGNAT (100.64/10), multicast, reserved and
    documentation ranges, and IPv6 forms wrapping any of those IPv4 addresses."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        elif addr in _COMPAT or any(addr in n for n in _NAT64):
            addr = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        elif addr in _6TO4:
            addr = ipaddress.IPv4Address((int(addr) >> 80) & 0xFFFFFFFF)
    return addr.is_global and not (addr.is_multicast or addr.is_reserved or addr.is_unspecified)


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class GuardedResolver(AbstractResolver):
    """Resolves like `inner` (the default resolver) but keeps only the addresses `allowed`
    accepts, so a name cannot lead aoa into the network it sits in."""

    def __init__(self, inner: AbstractResolver | None = None, allowed: Callable[[str], bool] = public) -> None:
        self.inner = inner or aiohttp.DefaultResolver()
        self.allowed = allowed

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        hosts = [h for h in await self.inner.resolve(host, port, family) if self.allowed(h["host"])]
        if not hosts:
            raise OSError(f"{host} resolves only to private or local addresses")
        return hosts

    async def close(self) -> None:
        await self.inner.close()


def _refuse(url: str, why: str, code: str = "invalid_image_url") -> core.Error:
    return core.Error(400, f"Cannot fetch {url[:200]}: {why}.", param="messages", code=code)


class _Budget:
    """Bytes one request may still fetch over all its URLs (bodies as received; redirects are free)."""

    __slots__ = ("left", "total")

    def __init__(self, total: int) -> None:
        self.total = self.left = total

    def _over(self, url: str) -> core.Error:
        return _refuse(url, f"this request's media exceed {self.total} bytes in all (AOA_FETCH_MAX_TOTAL_BYTES)", "media_too_large")

    def check(self, url: str, declared: int) -> None:
        # A declared Content-Length that cannot fit is refused before its body is read.
        if declared > self.left:
            raise self._over(url)

    def spend(self, url: str, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise self._over(url)


class Fetcher:
    """The media session (separate from the upstream's) and the guard it enforces."""

    def __init__(self, session: aiohttp.ClientSession, cfg, allowed: Callable[[str], bool] | None) -> None:
        self.session = session
        self.cfg = cfg
        self.allowed = allowed  # None: AOA_FETCH_PRIVATE, every address allowed

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _refuse(url, "only http(s) URLs")
        host = parts.hostname
        if self.allowed is not None and _literal(host) and not self.allowed(host):
            raise _refuse(url, f"{host} is a private or local address (AOA_FETCH_PRIVATE)")

    async def fetch(self, urls: list[str]) -> dict[str, core.Media]:
        """url → Media for each distinct URL; any failure is a 400 naming `messages`."""
        distinct = list(dict.fromkeys(urls))
        most = self.cfg.fetch_max_urls
        if len(distinct) > most:
            raise core.Error(
                400, f"This request names {len(distinct)} distinct media URLs to fetch; at most {most} are "
                f"fetched per request (AOA_FETCH_MAX_URLS).", param="messages", code="too_many_media_urls",
            )
        budget = _Budget(self.cfg.fetch_max_total_bytes)
        found: dict[str, core.Media] = {}
        todo = iter(distinct)  # shared by the workers: each URL is taken once

        async def worker() -> None:
            for url in todo:
                found[url] = await self._timed(url, budget)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(PARALLEL, len(distinct)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            # The first refusal answers the request; nothing else is fetched for it.
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        return {url: found[url] for url in distinct}

    async def _timed(self, url: str, budget: _Budget) -> core.Media:
        try:
            async with timeout(self.cfg.fetch_timeout):
                return await self._one(url, budget)
        except core.Error:
            raise
        except TRANSPORT_ERRORS as exc:
            msg = "timed out" if isinstance(exc, asyncio.TimeoutError) else f"{type(exc).__name__}: {exc}"
            raise _refuse(url, msg) from None

    async def _one(self, url: str, budget: _Budget) -> core.Media:
        cap = self.cfg.fetch_max_bytes
        at = url
        for _ in range(MAX_REDIRECTS + 1):
            self.check(at)
            async with self.session.get(at, allow_redirects=False) as resp:
                if resp.status in REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        raise _refuse(url, f"HTTP {resp.status} without a Location")
                    try:
                        at = str(resp.url.join(URL(location)))
                    except ValueError:
                        raise _refuse(url, "a redirect to an invalid URL") from None
                    continue
                if resp.status != 200:
                    raise _refuse(url, f"HTTP {resp.status}")
                declared = resp.content_length or 0
                if declared > cap:
                    raise _refuse(url, f"larger than {cap} bytes (AOA_FETCH_MAX_BYTES)", "image_too_large")
                budget.check(url, declared)
                data = bytearray()
                async for piece in resp.content.iter_chunked(65536):
                    data += piece
                    if len(data) > cap:
                        raise _refuse(url, f"larger than {cap} bytes (AOA_FETCH_MAX_BYTES)", "image_too_large")
                    budget.spend(url, len(piece))
                return core.Media(mime=resp.content_type or "application/octet-stream", data=bytes(data))
        raise _refuse(url, f"more than {MAX_REDIRECTS} redirects")

    async def close(self) -> None:
        await self.session.close()


async def open_fetcher(
    common: core.Common, cfg, user_agent: str, *,
    resolver: AbstractResolver | None = None, allowed: Callable[[str], bool] = public,
) -> Fetcher:
    """`resolver` and `allowed` are seams for tests (a name mapped to a loopback server standing
    in for a public host); aoa itself uses the system resolver and `public`."""
    conn, proxy, trust_env = connector(common)
    guard: Callable[[str], bool] | None = None
    if not cfg.fetch_private:
        guard = allowed
        if isinstance(conn, aiohttp.TCPConnector):
            await conn.close()
            conn = aiohttp.TCPConnector(limit=0, resolver=GuardedResolver(resolver, allowed))
        # Behind a proxy the proxy resolves names; literals are still checked on every hop.
    session = aiohttp.ClientSession(
        connector=conn, timeout=aiohttp.ClientTimeout(total=None, sock_connect=cfg.fetch_timeout),
        proxy=proxy, trust_env=trust_env, headers={"User-Agent": user_agent},
    )
    return Fetcher(session, cfg, guard)
