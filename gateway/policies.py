"""The scale-out policies of one process, built once at start-up from `Config`, and the small
per-request record they share (`Ticket`).

Order in the request path (gateway/inbound.py, gateway/exchange.py):
    1. overrides  — `read_call`, before anything reads the body's fields
    2. router     — `read_call` picks the route (404 for an unknown model); `_send` uses it
    3. limits     — `read_call`, before the upstream call (429)
    4. cache      — `served`, before the upstream call (a hit answers instead)
    5. on the finished response (`served`): cache store, tokens counted, chat log line
Each is None when its variables are unset, so an unused policy costs one `if`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from providers import core, oai

from . import cache as response_cache
from .cache import Cache
from .chatlog import ChatLog
from .overrides import Overrides
from .ratelimit import Limiter
from .router import Pick, Router
from .shared import Redis, Store, Strict, open_store


log = logging.getLogger("aoa.policies")
COOLDOWN_SYNC = 1.0  # seconds between two reads of the other replicas' key cooldowns


class SharedCooldowns:
    """Key-pool cooldowns shared through Redis: a key one replica puts aside (429, refusal) is put
    aside by every replica within `COOLDOWN_SYNC` seconds. The pool stays synchronous: cooldowns
    are published by a task and read back by one background loop, never on the request path.
    Keys are named by a digest; the value is the wall-clock time the cooldown ends."""

    def __init__(self, pool: Any, store: Store) -> None:
        self.pool = pool
        self.store = store
        self.names = ["kc:" + hashlib.sha256(k.encode()).hexdigest()[:32] for k in pool.keys]
        self.tasks: set[asyncio.Task] = set()
        pool.on_cool = self.publish

    def publish(self, i: int, seconds: float) -> None:
        task = asyncio.get_running_loop().create_task(
            self.store.set(self.names[i], repr(time.time() + seconds).encode(), seconds)
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def sync(self) -> None:
        for i, name in enumerate(self.names):
            raw = await self.store.get(name)
            try:
                left = float(raw) - time.time() if raw else 0.0
            except ValueError:
                continue  # not ours to trust
            if left > 0:
                self.pool.until[i] = max(self.pool.until[i], self.pool.clock() + min(left, 3600.0))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(COOLDOWN_SYNC)
            try:
                await self.sync()
            except Exception:  # the loop must outlive any one bad round
                log.exception("key cooldown sync failed")


class Ticket:
    """What the policies learn about one request on its way in and need on its way out."""

    __slots__ = ("headers", "who", "tap", "route")

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}  # added to the response, error or not
        self.who = ""  # the rate-limit identity (a digest, never a key)
        self.tap: list[bytes] | None = None  # stream payloads, when a policy wants the answer
        self.route: Pick | None = None


class Policies:
    def __init__(self, config: Any) -> None:
        self.shared: Store = open_store(config.redis_url)
        # State that must not silently vanish (the Responses store): None = keep it in process.
        self.strict = Strict(self.shared) if isinstance(self.shared, Redis) else None
        self.limits = Limiter(config.limits, self.shared) if config.limits else None
        scope = f"{config.kind}\0{config.settings.common.endpoint}"
        self.cache = Cache(config.cache, self.shared, scope) if config.cache else None
        self.chat_log_settings = config.chat_log
        self.chat_log: ChatLog | None = None  # its writer thread starts with the app
        self.overrides = Overrides(config.overrides) if config.overrides else None
        self.router = Router(config.router) if config.router else None
        self.cooldowns: SharedCooldowns | None = None
        self.cooldown_task: asyncio.Task | None = None
        # Whether `read_call` needs a ticket, and whether the answer must be looked at afterwards.
        self.active = bool(self.limits or self.cache or config.chat_log or self.router)
        counts_tokens = bool(config.limits and (config.limits.tokens or any(t for _, t in config.limits.per_key.values())))
        self.observe = bool(counts_tokens or self.cache or config.chat_log)

    def start(self, pool: Any = None) -> None:
        """With the app: the chat-log writer, and with Redis and a key pool of several keys the
        loop that shares their cooldowns."""
        if self.chat_log_settings and self.chat_log is None:
            self.chat_log = ChatLog(self.chat_log_settings)
        if self.strict is not None and pool is not None and len(pool.keys) > 1:
            self.cooldowns = SharedCooldowns(pool, self.shared)
            self.cooldown_task = asyncio.get_running_loop().create_task(self.cooldowns.run())

    async def around(
        self, call: core.Call, ticket: Ticket, trace: Any, serve: Callable[[], Awaitable[web.StreamResponse]], *,
        chat: bool, replay: Callable[[bytes], Awaitable[web.StreamResponse]], request_id: str, limit_key: str,
    ) -> web.StreamResponse:
        """A cache hit answers instead of `serve`; otherwise the answer (a stream is tapped and
        assembled) is stored in the cache, its tokens counted and its chat-log line queued."""
        key = self.cache.key(call) if chat and self.cache else None
        if key:
            hit = await self.cache.get(key)
            if hit is not None and response_cache.complete(hit) is None:
                hit = None  # shared state is input like any other: garbage in Redis is a miss
            ticket.headers[response_cache.HEADER] = "miss" if hit is None else "hit"
            if hit is not None:
                resp = await replay(hit)
                if self.chat_log:
                    self.chat_log.record(call=call, request_id=request_id, status=200, reply=hit, cache="hit")
                return resp
        if call.stream:
            ticket.tap = []
        try:
            resp = await serve()
        except core.Error as err:
            if chat and self.chat_log:
                self.chat_log.record(call=call, request_id=request_id, status=err.status, reply=None)
            raise
        status = trace.stream_error or resp.status
        if ticket.tap is not None:
            reply = _assembled(ticket.tap) if chat else None
            tokens = _stream_tokens(call, ticket.tap, reply)
        else:
            reply = resp.body if isinstance(resp, web.Response) and isinstance(resp.body, bytes) else None
            tokens = _tokens(reply)
        if self.limits and tokens:
            await self.limits.spend(limit_key, ticket.who, tokens)
        if key and status == 200 and reply is not None and response_cache.complete(reply) is not None:
            await self.cache.put(key, reply)
        if chat and self.chat_log:
            self.chat_log.record(call=call, request_id=request_id, status=status, reply=reply)
        return resp

    async def close(self) -> None:
        if self.cooldown_task is not None:
            self.cooldown_task.cancel()
        if self.chat_log is not None:
            self.chat_log.close()
        await self.shared.close()


def describe(config: Any) -> list[str]:
    """The policies that are on, for the start-up banner."""
    on = []
    if config.router:
        on.append(f"router ({len(config.router.routes)} routes)")
    if config.limits:
        on.append("rate limits")
    if config.cache:
        on.append(f"cache ({config.cache.mode})")
    if config.chat_log:
        on.append(f"chat log ({config.chat_log.path})")
    if config.overrides:
        on.append("parameter overrides")
    if on:
        on.append("shared state in " + ("Redis" if config.redis_url else "this process"))
    return on


class _WithUsage(msgspec.Struct):
    usage: dict[str, Any] | None = None


_usage_decoder = msgspec.json.Decoder(_WithUsage)


def _assembled(payloads: list[bytes]) -> bytes | None:
    assembler = oai.Assembler()
    try:
        for p in payloads:
            assembler.feed(p)
    except msgspec.DecodeError:
        return None
    return oai.encode(assembler.result())


def _tokens(body: bytes | None) -> int:
    if not body:
        return 0
    try:
        usage = _usage_decoder.decode(body).usage
    except msgspec.DecodeError:
        return 0
    total = usage.get("total_tokens") if usage else None
    return total if isinstance(total, int) and total > 0 else 0


def _stream_tokens(call: core.Call, payloads: list[bytes], reply: bytes | None) -> int:
    """The stream's usage when it carried one; else a rough estimate at ~4 bytes a token."""
    for p in reversed(payloads[-3:]):
        if n := _tokens(p):
            return n
    return (len(call.body) + (len(reply) if reply else sum(len(p) for p in payloads))) // 4
