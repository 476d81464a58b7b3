"""Fetching client-named media (images, files) for providers that must inline them.

The client chooses the URL, so every request is treated as hostile: only http(s), a size cap and
a time limit, and — unless AOA_FETCH_PRIVATE — never an address inside the network aoa sits in.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver

from providers import core

from .upstream import TRANSPORT_ERRORS, connector, timeout

def _public(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast


class GuardedResolver(AbstractResolver):
    """Resolves like the default resolver but never to private, loopback or link-local
    addresses, so a client cannot make aoa fetch from the network it sits in."""

    def __init__(self) -> None:
        self.inner = aiohttp.DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        hosts = [h for h in await self.inner.resolve(host, port, family) if _public(h["host"])]
        if not hosts:
            raise OSError(f"{host} resolves only to private or local addresses")
        return hosts

    async def close(self) -> None:
        await self.inner.close()


async def fetch_media(fetcher: aiohttp.ClientSession, cfg, urls: list[str]) -> dict[str, core.Media]:
    """url → Media for each distinct URL; any failure is a 400 naming `messages`."""
    found: dict[str, core.Media] = {}
    for url in dict.fromkeys(urls):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise core.Error(400, f"Cannot fetch {url[:100]!r}: only http(s) URLs.", param="messages", code="invalid_image_url")
        if not cfg.fetch_private:
            try:
                literal = _public(parts.hostname.strip("[]"))
            except ValueError:
                literal = True  # a name; the guarded resolver decides
            if not literal:
                raise core.Error(400, f"Refusing to fetch {parts.hostname}: private or local address (AOA_FETCH_PRIVATE).", param="messages", code="invalid_image_url")
        try:
            async with timeout(cfg.fetch_timeout):
                async with fetcher.get(url, allow_redirects=True, max_redirects=5) as resp:
                    if resp.status != 200:
                        raise core.Error(400, f"Fetching {url[:100]} gave HTTP {resp.status}.", param="messages", code="invalid_image_url")
                    if (resp.content_length or 0) > cfg.fetch_max_bytes:
                        raise core.Error(400, f"{url[:100]} is larger than {cfg.fetch_max_bytes} bytes (AOA_FETCH_MAX_BYTES).", param="messages", code="image_too_large")
                    data = bytearray()
                    async for piece in resp.content.iter_chunked(65536):
                        data += piece
                        if len(data) > cfg.fetch_max_bytes:
                            raise core.Error(400, f"{url[:100]} is larger than {cfg.fetch_max_bytes} bytes (AOA_FETCH_MAX_BYTES).", param="messages", code="image_too_large")
                    mime = resp.content_type or "application/octet-stream"
        except core.Error:
            raise
        except TRANSPORT_ERRORS as exc:
            msg = "timed out" if isinstance(exc, asyncio.TimeoutError) else f"{type(exc).__name__}: {exc}"
            raise core.Error(400, f"Cannot fetch {url[:100]}: {msg}.", param="messages", code="invalid_image_url") from None
        found[url] = core.Media(mime=mime, data=bytes(data))
    return found


async def open_fetcher(common: core.Common, cfg, user_agent: str) -> aiohttp.ClientSession:
    """A session for media fetches, separate from the upstream's: its own resolver guard."""
    conn, proxy, trust_env = connector(common)
    if not cfg.fetch_private and isinstance(conn, aiohttp.TCPConnector):
        await conn.close()
        conn = aiohttp.TCPConnector(limit=0, resolver=GuardedResolver())
    return aiohttp.ClientSession(
        connector=conn, timeout=aiohttp.ClientTimeout(total=None, sock_connect=cfg.fetch_timeout),
        proxy=proxy, trust_env=trust_env, headers={"User-Agent": user_agent},
    )
