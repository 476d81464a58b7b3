"""A cache of chat completions (`AOA_CACHE=memory|redis|off`, off by default).

    AOA_CACHE_TTL        seconds an answer is kept (default 3600)
    AOA_CACHE_MAX_BYTES  memory held by `memory` (default 64 MiB, least recently used first out)
    AOA_CACHE_ALL        cache every chat request, not only the deterministic-enough ones

Only answers a second call would likely repeat are cached unless `AOA_CACHE_ALL` is on: requests
with `temperature: 0` or a `seed`, and `n` unset or 1. The key is a SHA-256 of the upstream
(kind and endpoint), the model after aliases and overrides, and every other top-level field
in canonical JSON (no whitespace, sorted keys) except `stream` and `stream_options` — so a streamed and a plain request share one entry. What is
stored is the finished chat.completion (a stream is assembled first); a hit is replayed as that
JSON or, to a streaming client, as a real stream of chunks. `X-AOA-Cache: hit|miss` marks both.
Only complete answers (HTTP 200, every choice finished) are stored. Cached answers are shared by
every client of the process (or of every replica, with Redis).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import msgspec

from providers import core, oai

from .shared import Memory, Store

MODES = ("off", "memory", "redis")
HEADER = "X-AOA-Cache"
_IGNORED = frozenset({"stream", "stream_options"})
_number = msgspec.json.Decoder(float | None)
_integer = msgspec.json.Decoder(int | None)
_completion = msgspec.json.Decoder(oai.ChatCompletion)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    mode: str
    ttl: float = 3600.0
    max_bytes: int = 64 * 1024 * 1024
    all: bool = False


def load(env: Mapping[str, str], redis_url: str) -> Settings | None:
    mode = env.get("AOA_CACHE", "").strip().lower() or "off"
    if mode not in MODES:
        raise core.ConfigError(f"AOA_CACHE={mode!r} is not one of {', '.join(MODES)}")
    if mode == "off":
        return None
    if mode == "redis" and not redis_url:
        raise core.ConfigError("AOA_CACHE=redis needs AOA_REDIS_URL")
    return Settings(
        mode=mode,
        ttl=core.parse_float(env, "AOA_CACHE_TTL", 3600.0, low=0.001),
        max_bytes=core.parse_int(env, "AOA_CACHE_MAX_BYTES", 64 * 1024 * 1024, low=1024),
        all=core.parse_bool(env, "AOA_CACHE_ALL", False),
    )


def _decoded(raw: msgspec.Raw | None, decoder: msgspec.json.Decoder) -> object:
    if raw is None:
        return None
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError:
        return None  # a wrong type is the provider's 400 to give, not the cache's


_any = msgspec.json.Decoder()


def _canonical(raw: msgspec.Raw) -> bytes:
    """One spelling per JSON value (no whitespace, sorted keys): clients that format the same
    request differently share its entry."""
    try:
        return msgspec.json.encode(_any.decode(raw), order="sorted")
    except msgspec.DecodeError:
        return bytes(raw)


class Cache:
    def __init__(self, settings: Settings, shared: Store, scope: str) -> None:
        self.settings = settings
        # `memory` keeps its own bounded store even when Redis backs the rest.
        self.store = shared if settings.mode == "redis" else Memory(settings.max_bytes)
        self.scope = scope.encode()

    def key(self, call: core.Call) -> str | None:
        """The cache key of a chat call, or None when it is not to be cached."""
        f = call.fields
        if not self.settings.all:
            n = _decoded(f.get("n"), _integer)
            if n not in (None, 1):
                return None
            seeded = _decoded(f.get("seed"), _integer) is not None
            if not seeded and _decoded(f.get("temperature"), _number) != 0:
                return None
        h = hashlib.sha256(self.scope)
        h.update(b"\0" + call.model.encode())
        for name in sorted(f):
            if name in _IGNORED or name == "model":
                continue
            h.update(b"\0" + name.encode() + b"\0" + _canonical(f[name]))
        return "c:" + h.hexdigest()

    async def get(self, key: str) -> bytes | None:
        return await self.store.get(key)

    async def put(self, key: str, body: bytes) -> None:
        await self.store.set(key, body, self.settings.ttl)


def complete(body: bytes) -> oai.ChatCompletion | None:
    """The answer when it is worth storing: valid, with every choice finished."""
    try:
        answer = _completion.decode(body)
    except msgspec.DecodeError:
        return None
    if not answer.choices or any(c.finish_reason is None for c in answer.choices):
        return None
    return answer


def replay(body: bytes, include_usage: bool) -> list[bytes]:
    """A stored chat.completion as the chunk payloads a streaming call would have received."""
    answer = _completion.decode(body)

    def chunk(choices: list[oai.ChunkChoice], usage: object = msgspec.UNSET) -> bytes:
        c = oai.ChatCompletionChunk(id=answer.id, choices=choices, created=answer.created, model=answer.model,
                                    usage=None if include_usage else msgspec.UNSET)
        if usage is not msgspec.UNSET:
            c.usage = usage  # type: ignore[assignment]
        if answer.system_fingerprint is not msgspec.UNSET:
            c.system_fingerprint = answer.system_fingerprint
        return oai.encode(c)

    out = [chunk([oai.ChunkChoice(index=c.index, delta=oai.Delta(role="assistant", content="")) for c in answer.choices])]
    for c in answer.choices:
        m = c.message
        if m.reasoning_content is not msgspec.UNSET and m.reasoning_content:
            out.append(chunk([oai.ChunkChoice(index=c.index, delta=oai.Delta(reasoning_content=m.reasoning_content))]))
        if m.content:
            out.append(chunk([oai.ChunkChoice(index=c.index, delta=oai.Delta(content=m.content))]))
        if m.refusal:
            out.append(chunk([oai.ChunkChoice(index=c.index, delta=oai.Delta(refusal=m.refusal))]))
        if m.tool_calls is not msgspec.UNSET and m.tool_calls:
            deltas = [
                oai.ToolCallDelta(index=i, id=t.id, type=t.type,
                                  function={"name": t.function.name, "arguments": t.function.arguments})
                for i, t in enumerate(m.tool_calls)
            ]
            out.append(chunk([oai.ChunkChoice(index=c.index, delta=oai.Delta(tool_calls=deltas))]))
        out.append(chunk([oai.ChunkChoice(index=c.index, delta=oai.Delta(), finish_reason=c.finish_reason)]))
    if include_usage and answer.usage is not msgspec.UNSET:
        out.append(chunk([], answer.usage))
    return out
