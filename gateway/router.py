"""The model router (`AOA_TYPE=router`): one front door sending each request to the backend that
serves its model — other aoa sidecars or any OpenAI-compatible server.

    ROUTER_ROUTES="gpt-4o:http://azure:8080,gemini-*:http://gemini:8080,qwen*:http://qwen:8080|http://qwen-b:8080"
    ROUTER_KEYS="gemini-*:key-for-gemini,qwen*:key-for-qwen"      (optional, per route)
    ROUTER_COOLDOWN=5                                              (seconds; optional)

A route is a model name or a glob (`*`, `?`, `[…]`) and one or more base URLs separated by `|`.
An exact name beats any glob; among globs the one with the most literal characters wins; `*`
alone is the default. A model no route matches is a 404 listing the routes.

Several URLs are balanced round-robin. Before the first byte of an answer a target that cannot be
reached or answers 5xx is skipped for the next one and cooled down (`ROUTER_COOLDOWN` seconds,
doubling with each failure in a row up to `MAX_COOLDOWN`); a cooled-down target is tried only
when every target of the route is cooling down. Once a target has answered (status < 500) its
bytes are relayed untouched by `providers/router.py`.

The key sent upstream is the route's `ROUTER_KEYS` entry when there is one, else `ROUTER_API_KEY`,
else the client's own bearer token (as for `AOA_TYPE=openai`).
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import re
import time
from collections.abc import Mapping

import aiohttp
import msgspec

from providers import core

from .upstream import TRANSPORT_ERRORS, timeout

log = logging.getLogger("aoa.router")
MAX_COOLDOWN = 60.0
_ENTRY = re.compile(r"\s*([^\s]+?)\s*:\s*(https?://\S+)\s*")


class Route(msgspec.Struct, frozen=True):
    pattern: str
    targets: tuple[str, ...]
    key: str = ""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    routes: tuple[Route, ...]
    cooldown: float = 5.0


def _split(raw: str, var: str) -> list[tuple[str, str]]:
    out = []
    for entry in raw.split(","):
        if not entry.strip():
            continue
        m = _ENTRY.fullmatch(entry)
        if not m:
            raise core.ConfigError(f"{var}: entry {entry.strip()[:80]!r} is not 'model-or-glob:http(s)://host[:port][/path]'")
        out.append((m.group(1), m.group(2)))
    return out


def load(env: Mapping[str, str]) -> Settings:
    raw = env.get("ROUTER_ROUTES", "").strip()
    if not raw:
        raise core.ConfigError("AOA_TYPE=router needs ROUTER_ROUTES, e.g. 'gpt-4o:http://azure:8080,*:http://default:8080'")
    keys: dict[str, str] = {}
    for entry in env.get("ROUTER_KEYS", "").split(","):
        if entry.strip():
            pattern, sep, key = entry.partition(":")
            if not sep or not pattern.strip() or not key.strip():
                raise core.ConfigError("ROUTER_KEYS: an entry is not 'model-or-glob:key'")  # never echo a key
            keys[pattern.strip()] = key.strip()
    routes: list[Route] = []
    seen: set[str] = set()
    for pattern, urls in _split(raw, "ROUTER_ROUTES"):
        if pattern in seen:
            raise core.ConfigError(f"ROUTER_ROUTES: {pattern!r} is routed twice")
        seen.add(pattern)
        targets = []
        for i, url in enumerate(urls.split("|")):
            try:
                targets.append(core.parse_url({"url": url}, "url", "") if url.strip() else "")
            except core.ConfigError:
                targets.append("")
            if not targets[-1]:
                raise core.ConfigError(
                    f"ROUTER_ROUTES: route {pattern!r} target {i + 1} is not a base URL (http(s)://host[:port][/path], no query)"
                )
        routes.append(Route(pattern, tuple(targets), keys.pop(pattern, "")))
    if keys:
        raise core.ConfigError(f"ROUTER_KEYS names routes that ROUTER_ROUTES does not have: {', '.join(sorted(keys))}")
    return Settings(routes=tuple(routes), cooldown=core.parse_float(env, "ROUTER_COOLDOWN", 5.0, low=0.0))


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _specificity(pattern: str) -> int:
    return len(pattern) - sum(pattern.count(c) for c in "*?")


class Target:
    __slots__ = ("url", "down_until", "failures")

    def __init__(self, url: str) -> None:
        self.url = url
        self.down_until = 0.0
        self.failures = 0


class Pick:
    """The route chosen for one request."""

    __slots__ = ("route", "targets", "next")

    def __init__(self, route: Route, targets: list[Target], start: int) -> None:
        self.route = route
        self.targets = targets
        self.next = start


class Router:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.exact = {r.pattern: r for r in settings.routes if not _is_glob(r.pattern)}
        self.globs = sorted((r for r in settings.routes if _is_glob(r.pattern)), key=lambda r: -_specificity(r.pattern))
        # One health record per URL: two routes sharing a backend share what is known of it.
        self.targets = {u: Target(u) for r in settings.routes for u in r.targets}
        self.turn = {r.pattern: 0 for r in settings.routes}
        self.memo: dict[str, Route | None] = {}

    def route(self, model: str) -> Route | None:
        try:
            return self.memo[model]
        except KeyError:
            pass
        found = self.exact.get(model)
        if found is None:
            found = next((r for r in self.globs if fnmatch.fnmatchcase(model, r.pattern)), None)
        if len(self.memo) > 4096:
            self.memo.clear()  # client-chosen names: keep the memo bounded
        self.memo[model] = found
        return found

    def pick(self, model: str) -> Pick:
        route = self.route(model)
        if route is None:
            served = ", ".join(r.pattern for r in self.settings.routes)
            raise core.Error(404, f"The model `{model}` is not routed here; routes: {served}.", param="model", code="model_not_found")
        turn = self.turn[route.pattern]
        self.turn[route.pattern] = turn + 1
        return Pick(route, [self.targets[u] for u in route.targets], turn)

    def _order(self, pick: Pick) -> list[Target]:
        n = len(pick.targets)
        ring = [pick.targets[(pick.next + i) % n] for i in range(n)]
        now = time.monotonic()
        ready = [t for t in ring if t.down_until <= now]
        cooling = sorted((t for t in ring if t.down_until > now), key=lambda t: t.down_until)
        return ready + cooling

    def _failed(self, target: Target, why: str) -> None:
        target.failures += 1
        cool = min(self.settings.cooldown * 2 ** (target.failures - 1), MAX_COOLDOWN)
        target.down_until = time.monotonic() + cool
        log.warning("router: %s failed (%s); cooling down %.0fs", target.url, why, cool)

    async def send(
        self, session: aiohttp.ClientSession, pick: Pick, out: core.Outbound, first_byte: float
    ) -> aiohttp.ClientResponse:
        """Send `out` (its url a path such as `/chat/completions`) to the first target that
        answers below 500; the last target's answer or failure otherwise."""
        headers = out.headers
        if pick.route.key:
            headers = {**headers, "Authorization": f"Bearer {pick.route.key}"}
        order = self._order(pick)
        for i, target in enumerate(order):
            last = i == len(order) - 1
            try:
                async with timeout(first_byte):
                    resp = await session.request(out.method, target.url + out.url, data=out.body, headers=headers)
            except TRANSPORT_ERRORS as exc:
                self._failed(target, type(exc).__name__)
                if last:
                    raise
                continue
            if resp.status >= 500:
                self._failed(target, f"HTTP {resp.status}")
                if not last:
                    resp.release()
                    continue
            else:
                target.failures = 0
                target.down_until = 0.0
            return resp
        raise AssertionError("a route has at least one target")

    async def model_ids(self, session: aiohttp.ClientSession, key: str, parse, wait: float) -> list[str]:
        """Every target's model list, merged; a target that is down is left out."""
        jobs = []
        for route in self.settings.routes:
            for url in route.targets:
                jobs.append((url, route.key or key))
        jobs = list(dict.fromkeys(jobs))

        async def one(url: str, k: str) -> list[str]:
            h = {"Authorization": f"Bearer {k}"} if k else {}
            try:
                async with timeout(wait):
                    async with session.get(url + "/models", headers=h) as resp:
                        if resp.status != 200:
                            return []
                        return parse(await resp.read())
            except (*TRANSPORT_ERRORS, core.Error) as exc:
                log.info("router: model list of %s unavailable (%s)", url, type(exc).__name__)
                return []

        lists = await asyncio.gather(*(one(u, k) for u, k in jobs))
        exact = [r.pattern for r in self.settings.routes if not _is_glob(r.pattern)]
        merged = dict.fromkeys(exact)
        for ids in lists:
            merged.update(dict.fromkeys(i for i in ids if self.route(i) is not None))
        return list(merged)
