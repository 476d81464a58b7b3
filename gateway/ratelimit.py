"""Request and token rate limits per access key (or per client address when access is open).

    AOA_RATE_LIMIT="60/minute"       requests per sliding window
    AOA_TOKEN_LIMIT="100000/minute"  tokens (prompt + completion, from the answer's usage)
    AOA_API_KEYS="k1:120/minute:500000/hour,k2"   per-key requests[:tokens]; `-` keeps the default

A request over either limit is refused before the upstream is called: 429 in OpenAI's shape with
`Retry-After` and OpenAI's `x-ratelimit-*` headers (also sent on admitted requests). Tokens are
only known once the answer is in, so a request is admitted while the token window has room and
its usage is counted afterwards (a stream without usage counts its text at ~4 bytes a token).
Counters live in the shared store (`gateway/shared.py`): per process, or in Redis for every replica.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping

import msgspec

from providers import core

from .shared import Store

UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}
_RATE = re.compile(r"\s*(\d+)\s*/\s*([a-z]+)\s*")


class Rate(msgspec.Struct, frozen=True):
    limit: int
    window: float  # seconds


def parse_rate(text: str, var: str) -> Rate:
    m = _RATE.fullmatch(text.lower())
    if not m or m.group(2) not in UNITS or int(m.group(1)) < 1:
        raise core.ConfigError(f"{var}: {text.strip()!r} is not a rate like '60/minute' (units: second, minute, hour, day)")
    return Rate(int(m.group(1)), float(UNITS[m.group(2)]))


def parse_api_keys(raw: str) -> tuple[tuple[str, ...], dict[str, tuple[Rate | None, Rate | None]]]:
    """`AOA_API_KEYS` → (keys, per-key (requests, tokens) overrides).

    An entry is `key`, `key:<requests rate>` or `key:<requests rate>:<tokens rate>`; a rate of `-`
    keeps the default. A key that itself holds `:` stays whole unless what follows is a rate."""
    keys: list[str] = []
    limits: dict[str, tuple[Rate | None, Rate | None]] = {}
    for entry in raw.split(","):
        entry = entry.strip()
        if not entry:
            continue
        parts = entry.split(":")
        rates: list[str] = []
        while len(parts) > 1 and len(rates) < 2 and (parts[-1].strip() == "-" or _RATE.fullmatch(parts[-1].lower())):
            rates.insert(0, parts.pop())
        key = ":".join(parts).strip()
        if not key:
            raise core.ConfigError("AOA_API_KEYS: an entry has limits but no key")
        keys.append(key)
        if rates:
            req = None if rates[0].strip() == "-" else parse_rate(rates[0], "AOA_API_KEYS")
            tok = None if len(rates) < 2 or rates[1].strip() == "-" else parse_rate(rates[1], "AOA_API_KEYS")
            limits[key] = (req, tok)
    return tuple(keys), limits


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    requests: Rate | None = None
    tokens: Rate | None = None
    per_key: dict[str, tuple[Rate | None, Rate | None]] = {}


def load(env: Mapping[str, str]) -> Settings | None:
    """None when no limit of any kind is set: the policy is then off."""
    req = env.get("AOA_RATE_LIMIT", "").strip()
    tok = env.get("AOA_TOKEN_LIMIT", "").strip()
    _, per_key = parse_api_keys(env.get("AOA_API_KEYS", ""))
    if not (req or tok or per_key):
        return None
    return Settings(
        requests=parse_rate(req, "AOA_RATE_LIMIT") if req else None,
        tokens=parse_rate(tok, "AOA_TOKEN_LIMIT") if tok else None,
        per_key=per_key,
    )


def _duration(seconds: float) -> str:
    """OpenAI's reset format: `1s`, `6m0s`, `1h2m3s`, `20ms`."""
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    s = math.ceil(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


class Limiter:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    def _rates(self, key: str) -> tuple[Rate | None, Rate | None]:
        req, tok = self.settings.requests, self.settings.tokens
        own = self.settings.per_key.get(key)
        if own:
            req, tok = own[0] or req, own[1] or tok
        return req, tok

    @staticmethod
    def who(key: str, remote: str | None) -> str:
        # Counters are named by a digest: a key never reaches the store (or Redis).
        if key:
            return "k:" + hashlib.sha256(key.encode()).hexdigest()[:32]
        return "ip:" + (remote or "-")

    async def admit(self, key: str, remote: str | None, headers: dict[str, str]) -> str:
        """Count one request and fill `headers`; the counter identity when admitted, a 429 otherwise."""
        who = self.who(key, remote)
        req, tok = self._rates(key)
        if tok:
            w = await self.store.hit(who + ":t", tok.limit, tok.window, 1, dry=True)
            headers |= {
                "x-ratelimit-limit-tokens": str(tok.limit),
                "x-ratelimit-remaining-tokens": str(max(0, int(tok.limit - w.used))),
                "x-ratelimit-reset-tokens": _duration(w.reset),
            }
            if not w.allowed:
                raise self._refuse(f"Rate limit reached for tokens: limit {tok.limit} per {_duration(tok.window)}.", w.reset, "tokens")
        if req:
            w = await self.store.hit(who + ":r", req.limit, req.window, 1)
            headers |= {
                "x-ratelimit-limit-requests": str(req.limit),
                "x-ratelimit-remaining-requests": str(max(0, int(req.limit - w.used))),
                "x-ratelimit-reset-requests": _duration(w.reset),
            }
            if not w.allowed:
                raise self._refuse(f"Rate limit reached for requests: limit {req.limit} per {_duration(req.window)}.", w.reset, "requests")
        return who

    async def spend(self, key: str, who: str, tokens: int) -> None:
        tok = self._rates(key)[1]
        if tok and tokens > 0:
            await self.store.hit(who + ":t", 0, tok.window, tokens)

    def counts_tokens(self, key: str) -> bool:
        return self._rates(key)[1] is not None

    @staticmethod
    def _refuse(message: str, reset: float, what: str) -> core.Error:
        # OpenAI's own 429s name what ran out in `type` ("requests" / "tokens").
        return core.Error(429, message + " Try again later.", code="rate_limit_exceeded", type=what,
                          retry_after=str(max(1, math.ceil(reset))))
