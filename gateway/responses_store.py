"""The Responses store: what `previous_response_id`, `GET /v1/responses/{id}`, `DELETE` and
`input_items` read back.

In process by default, bounded three ways so a busy gateway cannot grow without limit:
`AOA_RESPONSES_STORE_COUNT` records (default 10,000), `AOA_RESPONSES_STORE_BYTES` bytes in total
(default 256 MiB) and `AOA_RESPONSES_STORE_TTL` seconds each (default 86,400; OpenAI keeps
responses 30 days). Past a bound the oldest records go first; a restart forgets everything.
A record larger than the byte bound is not kept (its id then answers 404).

The interface is the shared-state contract (`get`, `set`, `delete` on bytes, async), so a
Redis-backed store shared by replicas can replace this one without the handlers noticing.
Keys are scoped by a hash of the client's credential: one client cannot read another's responses.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Protocol

import msgspec

from providers import core, responses
from providers.core import parse_float, parse_int

DEFAULT_COUNT = 10_000
DEFAULT_BYTES = 256 * 1024 * 1024
DEFAULT_TTL = 86_400.0


class MemoryStore:
    """A bounded LRU-by-insertion map of bytes with a per-record expiry."""

    def __init__(
        self, *, max_count: int = DEFAULT_COUNT, max_bytes: int = DEFAULT_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.clock = clock
        self.bytes = 0
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    async def get(self, key: str) -> bytes | None:
        hit = self._data.get(key)
        if hit is None:
            return None
        if hit[0] <= self.clock():
            self._drop(key)
            return None
        return hit[1]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._drop(key)
        if len(value) > self.max_bytes or self.max_count == 0 or ttl <= 0:
            return
        self._data[key] = (self.clock() + ttl, value)
        self.bytes += len(value)
        self._evict()

    async def delete(self, key: str) -> bool:
        return self._drop(key)

    def _drop(self, key: str) -> bool:
        hit = self._data.pop(key, None)
        if hit is None:
            return False
        self.bytes -= len(hit[1])
        return True

    def _evict(self) -> None:
        now = self.clock()
        # Records are in insertion order and share one TTL policy: expired ones sit in front.
        while self._data:
            key, (expires, _) = next(iter(self._data.items()))
            if expires > now and len(self._data) <= self.max_count and self.bytes <= self.max_bytes:
                break
            self._drop(key)


class Backend(Protocol):
    """The shared-state contract (in process here; Redis when replicas share state)."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def delete(self, key: str) -> object: ...


class ResponsesStore:
    """Stored responses keyed by their owner's credential and id."""

    def __init__(self, backend: Backend, ttl: float) -> None:
        self.backend = backend
        self.ttl = ttl

    @staticmethod
    def _key(owner: str, rid: str, kind: str = "resp") -> str:
        return f"{kind}:{hashlib.sha256(owner.encode()).hexdigest()[:32]}:{rid}"

    async def save(self, owner: str, rid: str, record: responses.Stored) -> None:
        await self.backend.set(self._key(owner, rid), responses.encode(record), self.ttl)

    async def load(self, owner: str, rid: str, param: str | None = None) -> responses.Stored:
        """The record, or OpenAI's 404 for an id this owner does not have."""
        body = await self.backend.get(self._key(owner, rid))
        if body is None:
            raise not_found(rid, param)
        return responses.decode_stored(body)

    async def drop(self, owner: str, rid: str) -> None:
        key = self._key(owner, rid)
        if await self.backend.get(key) is None:
            raise not_found(rid)
        await self.backend.delete(key)


    # Relay mode with aoa's own upstream key: the upstream sees one client, so aoa remembers
    # which credential created each relayed response and hides it from the others.

    async def claim(self, owner: str, rid: str) -> None:
        await self.backend.set(self._key(owner, rid, "relay"), b"1", self.ttl)

    async def check_claim(self, owner: str, rid: str, param: str | None = None) -> None:
        if await self.backend.get(self._key(owner, rid, "relay")) is None:
            raise not_found(rid, param)

    async def unclaim(self, owner: str, rid: str) -> None:
        await self.backend.delete(self._key(owner, rid, "relay"))


def not_found(rid: str, param: str | None = None) -> core.Error:
    return core.Error(404, f"Response with id '{rid[:80]}' not found.", param=param, type="invalid_request_error")


class Settings(msgspec.Struct, kw_only=True):
    count: int = DEFAULT_COUNT
    bytes: int = DEFAULT_BYTES
    ttl: float = DEFAULT_TTL


def load_settings(env: Mapping[str, str]) -> Settings:
    return Settings(
        count=parse_int(env, "AOA_RESPONSES_STORE_COUNT", DEFAULT_COUNT),
        bytes=parse_int(env, "AOA_RESPONSES_STORE_BYTES", DEFAULT_BYTES),
        ttl=parse_float(env, "AOA_RESPONSES_STORE_TTL", DEFAULT_TTL),
    )


def open_store(s: Settings | None, shared: Backend | None = None) -> ResponsesStore:
    """The in-process store (defaults when `s` is None), or `shared` (Redis, `AOA_REDIS_URL`)
    when given: every replica then answers for every stored response."""
    s = s or Settings()
    if shared is not None:
        return ResponsesStore(shared, s.ttl)
    return ResponsesStore(MemoryStore(max_count=s.count, max_bytes=s.bytes), s.ttl)
