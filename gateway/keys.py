"""Key pools: `<P>_API_KEY=k1,k2,k3` spreads requests over several upstream keys.

Round robin over the keys, skipping the ones put aside: a key answered with 429 cools down for
the upstream's `Retry-After` (or `AOA_KEY_COOLDOWN`); a key refused with 401/403 (or out of quota)
cools down for `AOA_KEY_AUTH_COOLDOWN` and is logged once, named only by its position and last
four characters. A pool of one key is never put aside: there is no other key to try, a 429 may
concern one large request only, and the vendor's own answer (and its `Retry-After`, which the
retry loop honours) tells the client more than aoa's 429 would.

State is in process (one sidecar, one pool); every method is synchronous and O(keys). With
`AOA_REDIS_URL` replicas share cooldowns through `on_cool` and a background loop
(gateway/policies.py `SharedCooldowns`), off the request path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from providers import core

from .redact import printable

log = logging.getLogger("aoa.keys")

__all__ = ["KeyPool", "pool_keys", "tail"]


def pool_keys(common: core.Common) -> tuple[str, ...]:
    """The keys to rotate: `<P>_API_KEY`'s list, unless the provider derived its credential from
    it (Spark joins key and secret into `api_key`), in which case that one credential."""
    if common.api_keys and common.api_keys[0] == common.api_key:
        return common.api_keys
    return (common.api_key,) if common.api_key else ()


def tail(key: str) -> str:
    """What a log line may show of a key: its last four characters, and only when the key is
    long enough that four characters do not give most of it away."""
    return f"…{key[-4:]}" if len(key) >= 16 else "…"


class KeyPool:
    def __init__(self, keys: tuple[str, ...], *, cooldown: float, auth_cooldown: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.keys = keys
        self.cooldown = cooldown
        self.auth_cooldown = auth_cooldown
        self.clock = clock
        self.until = [0.0] * len(keys)  # monotonic time each key is usable again
        self.failures = [0] * len(keys)
        self.cooldowns = [0] * len(keys)
        self.logged: set[int] = set()
        self.next = 0
        # Told of every cooldown (key index, seconds): shares it with other replicas (gateway/policies.py).
        self.on_cool: Callable[[int, float], None] | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def pick(self) -> int:
        """The index of the next usable key; all cooling → a 429 with the shortest wait."""
        n = len(self.keys)
        if n == 1 and self.until[0] == 0.0:
            return 0  # the common case: one key, never throttled
        now = self.clock()
        for step in range(n):
            i = (self.next + step) % n
            if self.until[i] <= now:
                self.until[i] = 0.0
                self.next = i + 1
                return i
        wait = min(self.until) - now
        raise core.Error(
            429,
            f"Every upstream key is cooling down after rate limits or refusals; retry in {_seconds(wait)} s.",
            code="upstream_keys_cooling",
            retry_after=_seconds(wait),
        )

    def wait(self) -> float:
        """Seconds until some key is usable (0 when one is now)."""
        now = self.clock()
        return max(min(self.until) - now, 0.0) if self.until else 0.0

    def throttled(self, i: int, retry_after: float | None) -> bool:
        """429 on key `i`: put it aside for the upstream's `Retry-After` or the default. False
        when the pool has no other key (the caller then backs off on the same one)."""
        self.failures[i] += 1
        if len(self.keys) == 1:
            return False
        self._cool(i, retry_after if retry_after is not None else self.cooldown)
        return True

    def refused(self, i: int, err: core.Error) -> bool:
        """401/403/no quota on key `i`: put it aside for long and say so once. False when the
        pool has no other key, so the caller relays the refusal instead of retrying."""
        self.failures[i] += 1
        if i not in self.logged:
            self.logged.add(i)
            log.warning(
                "upstream key #%d (%s) refused with %d %s; %s",
                i, tail(self.keys[i]), err.status, printable(err.code or ""),  # the vendor's words
                f"put aside for {self.auth_cooldown:g} s" if len(self.keys) > 1 else "it is the only key",
            )
        if len(self.keys) == 1:
            return False
        self._cool(i, self.auth_cooldown)
        return True

    def _cool(self, i: int, seconds: float) -> None:
        if seconds <= 0:
            return
        self.until[i] = max(self.until[i], self.clock() + seconds)
        self.cooldowns[i] += 1
        if self.on_cool is not None:
            self.on_cool(i, seconds)

    def cooling(self) -> list[bool]:
        now = self.clock()
        return [u > now for u in self.until]


def _seconds(wait: float) -> str:
    return str(max(1, int(wait + 0.999)))
