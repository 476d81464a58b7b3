"""Retries and key rotation around one upstream attempt — IO-side policy, one loop for every route.

An attempt is: take a key from the pool, let the provider build the request with it (an error
there is the request's own and ends it), send it and read the status (and, for plain JSON
answers, the body). Nothing has reached the client yet, so
a failure that is worth another try is retried:

- transport failures before the answer started (connect errors, resets, a first-byte timeout);
- statuses 408, 409, 429, 500, 502, 503, 504, 529, and any other status whose vendor error code
  the provider lists in its optional `RETRY_CODES` (an "overloaded" code, say) — except 400,
  401, 403, 404, 413 and 422, which are the request's own fault and never retried;
- with several keys: 429 puts the key aside (gateway/keys.py) and moves on to the next key at
  once; so do 401/403 and `insufficient_quota`, which are otherwise never retried.

Waits grow exponentially from `AOA_RETRY_BACKOFF` with jitter, stretch to the upstream's
`Retry-After`, and never start a retry later than `AOA_RETRY_MAX_WAIT` seconds after the
request arrived (the client's patience); past that the last upstream error is relayed as is.
Once a stream's first byte went to the client nothing is retried: the caller only wraps the part
before that.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec

from providers import core

from .keys import KeyPool

__all__ = ["Policy", "Retrier", "load_policy", "parse_retry_after", "RETRY_STATUS", "NEVER_STATUS"]

T = TypeVar("T")
O = TypeVar("O")

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
NEVER_STATUS = frozenset({400, 401, 403, 404, 413, 422})
# The IO layer's own codes for a failed exchange (gateway/upstream.transport_error).
TRANSPORT_CODES = frozenset({"upstream_unreachable", "upstream_timeout"})
# A key that works but cannot pay: as useless as a revoked one until someone tops it up.
KEY_DEAD_CODES = frozenset({"insufficient_quota"})


class Policy(msgspec.Struct, kw_only=True, frozen=True):
    retries: int = 2  # AOA_RETRIES: attempts after the first
    backoff: float = 0.5  # AOA_RETRY_BACKOFF: the first wait, doubled per retry, jittered
    max_wait: float = 20.0  # AOA_RETRY_MAX_WAIT: no retry starts later than this after arrival
    key_cooldown: float = 5.0  # AOA_KEY_COOLDOWN: a 429 without Retry-After puts its key aside this long
    auth_cooldown: float = 300.0  # AOA_KEY_AUTH_COOLDOWN: a refused key is put aside this long


def load_policy(env: Mapping[str, str]) -> Policy:
    return Policy(
        retries=core.parse_int(env, "AOA_RETRIES", 2),
        backoff=core.parse_float(env, "AOA_RETRY_BACKOFF", 0.5),
        max_wait=core.parse_float(env, "AOA_RETRY_MAX_WAIT", 20.0),
        key_cooldown=core.parse_float(env, "AOA_KEY_COOLDOWN", 5.0),
        auth_cooldown=core.parse_float(env, "AOA_KEY_AUTH_COOLDOWN", 300.0),
    )


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After: 7` or an HTTP date → seconds from now; anything else → None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds or seconds < 0:  # NaN, or a date in the past
        return 0.0
    return min(seconds, 86400.0)


def reason(err: core.Error) -> str:
    """A short, bounded label for metrics: the transport code or the HTTP status."""
    return err.code if err.code in TRANSPORT_CODES else str(err.status)


class Retrier:
    """The attempt loop. One per application; `pool` is None when the key is the client's own."""

    def __init__(
        self,
        policy: Policy,
        pool: KeyPool | None,
        retry_codes: frozenset[str] = frozenset(),
        *,
        metrics: Any = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.pool = pool
        self.retry_codes = retry_codes
        self.metrics = metrics
        self.sleep = sleep
        self.jitter = jitter

    async def run(
        self, trace: Any, call: core.Call, build: Callable[[], Awaitable[O]], send: Callable[[O], Awaitable[T]]
    ) -> T:
        """`send(await build())` until it succeeds or the policy gives up. Each try first sets
        `call.key`, so `build` makes the upstream request afresh from `call`; an error from
        `build` is the request's own (a 400) and ends it at once."""
        pool = self.pool
        metrics = self.metrics
        tries = 0
        while True:
            index = -1
            if pool is not None:
                index = pool.pick()  # every key cooling → 429, before any upstream call
                call.key = pool.keys[index]
                if len(pool.keys) > 1:
                    trace.key_index = index
            out = await build()
            trace.attempts += 1
            if metrics is not None:
                metrics.attempts += 1
            try:
                return await send(out)
            except core.Error as err:
                label = reason(err)
                if metrics is not None:
                    metrics.upstream_error(label)
                delay = self._next(err, index, tries, trace)
                if delay is None:
                    raise
                if metrics is not None:
                    metrics.retry(label)
            tries += 1
            if delay > 0:
                # Waiting on the upstream's behalf: not aoa's own time (X-AOA-Overhead-Ms).
                trace.upstream_s += delay
                await self.sleep(delay)

    def _next(self, err: core.Error, index: int, tries: int, trace: Any) -> float | None:
        """Seconds to wait before the next try, or None to give up and relay `err`."""
        policy, pool = self.policy, self.pool
        status = err.status
        retry_after = parse_retry_after(err.retry_after)
        switch = False  # the failure belongs to the key: another key may go at once
        if pool is not None and index >= 0:
            if status in (401, 403) or err.code in KEY_DEAD_CODES:
                if not pool.refused(index, err):
                    return None
                switch = True
            elif status == 429:
                switch = pool.throttled(index, retry_after)
        if tries >= policy.retries:
            return None
        if not switch:
            if status in NEVER_STATUS:
                return None
            if not (status in RETRY_STATUS or err.code in TRANSPORT_CODES or err.code in self.retry_codes):
                return None
        if switch:
            delay = pool.wait() if pool is not None else 0.0
        else:
            base = policy.backoff * (2**tries)
            delay = base / 2 + self.jitter() * base / 2
            if retry_after is not None:
                delay = max(delay, retry_after)
        elapsed = time.perf_counter() - trace.t0
        if elapsed + delay > policy.max_wait:
            return None
        return delay
