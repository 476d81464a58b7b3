"""Shared state for gateway policies: bytes with a time to live, and sliding-window counters.

Two backends behind one small interface, chosen once at start-up:

    Memory   in this process (the default; nothing to install, nothing shared)
    Redis    `AOA_REDIS_URL`: every replica reads and writes the same keys (`pip install
             'aoa[redis]'`, the maintained `redis` asyncio client, imported only then)

Policies (rate limits, the response cache, key-pool cooldowns, the Responses store) never know
which one they hold. When Redis cannot be reached the Redis backend fails open: `get` misses,
`set`/`delete` do nothing and counters admit, with one warning per `WARN_EVERY` seconds in the
log and every failure counted in `failures` — a shared-state outage must never become a 500.

The counter is the sliding-window counter of Cloudflare's and Kong's limiters: two fixed windows,
the previous one weighted by how much of it still overlaps the sliding window. It needs two
integers per key (not one entry per request, as a log would) and is exact for a steady rate.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from typing import Any, Protocol

import msgspec

from providers import core

log = logging.getLogger("aoa.shared")

WARN_EVERY = 30.0  # seconds between two "Redis is down" warnings
RETRY_AFTER_FAILURE = 2.0  # seconds during which Redis is not tried again after a failure
PREFIX = "aoa:"


class Window(msgspec.Struct, frozen=True):
    """The outcome of one counter operation."""

    allowed: bool
    used: float  # the weighted count in the sliding window, this operation included when allowed
    reset: float  # seconds until the count has room again (0 when it has room now)


class Store(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def hit(self, key: str, limit: float, window: float, cost: float = 1, *, dry: bool = False) -> Window: ...

    async def close(self) -> None: ...


def _slide(prev: float, cur: float, now: float, window: float) -> tuple[float, float]:
    """(weighted count, seconds into the current fixed window)."""
    into = now % window
    return prev * (1 - into / window) + cur, into


def _decide(prev: float, cur: float, now: float, window: float, limit: float, cost: float) -> tuple[bool, float, float]:
    """(allowed, weighted count before this operation, seconds until there is room)."""
    used, into = _slide(prev, cur, now, window)
    if limit <= 0 or used + cost <= limit:
        return True, used, 0.0
    # When does the previous window's share shrink enough? Only it decays within this window.
    room = limit - cur - cost
    if prev > 0 and room >= 0:
        wait = window * (1 - room / prev) - into
    else:
        wait = window - into
    return False, used, max(wait, 0.001)


# --- in process ---------------------------------------------------------------------------


class Memory:
    """In-process backend: values in an LRU bounded by bytes, counters in a dict swept lazily."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_counters: int = 100_000) -> None:
        self.max_bytes = max_bytes
        self.max_counters = max_counters
        self.size = 0
        self.values: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self.counters: dict[str, list[float]] = {}  # key → [window index, prev, cur, window]
        self.failures = 0

    async def get(self, key: str) -> bytes | None:
        hit = self.values.get(key)
        if hit is None:
            return None
        expires, value = hit
        if expires <= time.monotonic():
            self._drop(key)
            return None
        self.values.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if len(value) > self.max_bytes:
            return
        self._drop(key)
        self.values[key] = (time.monotonic() + ttl, value)
        self.size += len(value)
        while self.size > self.max_bytes:
            self._drop(next(iter(self.values)))

    async def delete(self, key: str) -> None:
        self._drop(key)

    def _drop(self, key: str) -> None:
        old = self.values.pop(key, None)
        if old is not None:
            self.size -= len(old[1])

    async def hit(self, key: str, limit: float, window: float, cost: float = 1, *, dry: bool = False) -> Window:
        now = time.time()
        index = now // window
        slot = self.counters.get(key)
        if slot is None:
            if len(self.counters) >= self.max_counters:
                self._sweep(now)
            slot = self.counters[key] = [index, 0.0, 0.0, window]
        elif slot[0] != index:
            # One window on: the current count becomes the previous; more: both are history.
            slot[1] = slot[2] if slot[0] == index - 1 else 0.0
            slot[2] = 0.0
            slot[0] = index
        allowed, used, reset = _decide(slot[1], slot[2], now, window, limit, cost)
        if allowed and not dry:
            slot[2] += cost
            used += cost
        return Window(allowed, used, reset)

    def _sweep(self, now: float) -> None:
        # A counter idle for two whole windows holds nothing any more.
        stale = [k for k, s in self.counters.items() if now // s[3] - s[0] >= 2]
        for k in stale:
            del self.counters[k]
        if len(self.counters) >= self.max_counters:
            self.counters.clear()  # a flood of distinct keys: forget rather than grow

    async def close(self) -> None:
        pass


# --- Redis --------------------------------------------------------------------------------

# Atomic on the server: read both windows, decide, add. Time comes from the replica (ARGV) so the
# script stays deterministic; replicas' clocks only need to agree to a fraction of a window.
_HIT = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local weight = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local used = prev * weight + cur
if limit > 0 and used + cost > limit then
  return {0, tostring(prev), tostring(cur)}
end
if ARGV[5] ~= '1' and cost > 0 then
  cur = tonumber(redis.call('INCRBYFLOAT', KEYS[1], cost))
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return {1, tostring(prev), tostring(cur)}
"""


class Redis:
    """Redis backend (`AOA_REDIS_URL`), failing open while the server cannot be reached."""

    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        import redis.asyncio as aioredis  # the optional extra, imported only when configured
        from redis import exceptions

        self.client: Any = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30,
        )
        self.errors = (exceptions.RedisError, OSError, TimeoutError)
        self.script = self.client.register_script(_HIT)
        self.failures = 0
        self.down_until = 0.0
        self.warned = 0.0
        self.url_host = url.split("@")[-1]  # never log the password part

    def _skip(self) -> bool:
        return self.down_until > time.monotonic()

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        now = time.monotonic()
        self.down_until = now + RETRY_AFTER_FAILURE
        if now - self.warned >= WARN_EVERY:
            self.warned = now
            log.warning(
                "Redis at %s is unreachable (%s); failing open: limits admit, cache misses (%d failures so far)",
                self.url_host, type(exc).__name__, self.failures,
            )

    async def get(self, key: str) -> bytes | None:
        if self._skip():
            return None
        try:
            return await self.client.get(PREFIX + key)
        except self.errors as exc:
            self._failed(exc)
            return None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if self._skip():
            return
        try:
            await self.client.set(PREFIX + key, value, px=max(1, int(ttl * 1000)))
        except self.errors as exc:
            self._failed(exc)

    async def delete(self, key: str) -> None:
        if self._skip():
            return
        try:
            await self.client.delete(PREFIX + key)
        except self.errors as exc:
            self._failed(exc)

    async def hit(self, key: str, limit: float, window: float, cost: float = 1, *, dry: bool = False) -> Window:
        if self._skip():
            return Window(True, 0.0, 0.0)
        now = time.time()
        index = int(now // window)
        into = now - index * window
        base = f"{PREFIX}w:{key}:{window:g}:"
        keys = [f"{base}{index}", f"{base}{index - 1}"]
        args = [repr(1 - into / window), repr(float(cost)), repr(float(limit)), str(math.ceil(window * 2000)), "1" if dry else "0"]
        try:
            ok, prev, cur = await self.script(keys=keys, args=args)
        except self.errors as exc:
            self._failed(exc)
            return Window(True, 0.0, 0.0)
        added = cost if ok and not dry else 0.0
        _, used, reset = _decide(float(prev), float(cur) - added, now, window, limit, cost)
        return Window(bool(ok), used + added, reset if not ok else 0.0)

    async def close(self) -> None:
        await self.client.aclose() if hasattr(self.client, "aclose") else await self.client.close()


class Strict:
    """The Redis store for state that must not silently vanish (stored Responses): while Redis
    cannot be reached an operation is a 503 naming it, not a miss."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def _down(self, exc: BaseException) -> core.Error:
        self.redis._failed(exc)
        return core.Error(503, "Shared state (Redis) is unreachable; try again shortly.", code="shared_state_unavailable")

    async def get(self, key: str) -> bytes | None:
        try:
            return await self.redis.client.get(PREFIX + key)
        except self.redis.errors as exc:
            raise self._down(exc) from None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self.redis.client.set(PREFIX + key, value, px=max(1, int(ttl * 1000)))
        except self.redis.errors as exc:
            raise self._down(exc) from None

    async def delete(self, key: str) -> None:
        try:
            await self.redis.client.delete(PREFIX + key)
        except self.redis.errors as exc:
            raise self._down(exc) from None


def open_store(redis_url: str, *, max_bytes: int = 64 * 1024 * 1024) -> Store:
    """The process's shared store: Redis when `AOA_REDIS_URL` is set (the configuration has
    already checked that the client is installed), else in process."""
    return Redis(redis_url) if redis_url else Memory(max_bytes)
