"""The per-application state every handler reads (`request.app[STATE]`), built once at start-up,
and the keys under which a request carries its trace and its policy ticket."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

import providers
from gateway.config import Config, config_secrets
from gateway.fetch import Fetcher
from gateway.google_auth import TokenSource
from gateway.keys import KeyPool, pool_keys
from gateway.logs import Trace
from gateway.metrics import Metrics
from gateway.policies import Policies, Ticket
from gateway.redact import Redactor
from gateway.responses_store import open_store
from gateway.retry import Retrier
from providers import core


class State:
    """Everything a handler needs; one per application, built at start-up."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.provider = providers.load(config.kind)
        self.settings = config.settings
        self.common: core.Common = config.settings.common
        self.local = bool(getattr(self.provider, "LOCAL", False))
        self.native_completions = hasattr(self.provider, "completions")
        self.redact = Redactor(config_secrets(config))
        self.access_keys = [k.encode() for k in config.api_keys]
        self.session: aiohttp.ClientSession | None = None
        self.fetcher: Fetcher | None = None
        # Vertex AI with a service account: access tokens minted and refreshed on this side.
        self.tokens: TokenSource | None = None
        self.models_cache: dict[str, tuple[float, list[str]]] = {}
        self.id_prefix = secrets.token_hex(6)
        self.ids = itertools.count(1)
        self.served = core.served_models(self.common)
        self.policies = Policies(config)
        self.responses_store = open_store(config.responses_store, self.policies.strict)
        relay = getattr(self.provider, "responses_url", None)
        self.responses_relay: Callable[[str], str | None] | None = (
            (lambda suffix: relay(self.settings, suffix)) if relay and relay(self.settings, "") else None
        )
        policy = config.retry
        keys = pool_keys(self.common) if config.credential is None else ()  # a service account mints its own
        pool = KeyPool(keys, cooldown=policy.key_cooldown, auth_cooldown=policy.auth_cooldown) if keys else None
        self.metrics = Metrics(config.kind, pool) if config.metrics else None
        if self.metrics is not None and self.policies.strict is not None:
            self.metrics.shared = self.policies.shared  # Redis failures, read at scrape time
        self.retry = Retrier(policy, pool, getattr(self.provider, "RETRY_CODES", frozenset()), metrics=self.metrics)
        self.otel: Any = None  # gateway/otel.Tracing, opened with the sessions when configured

    def new_id(self, kind: str) -> str:
        return f"{kind}-{self.id_prefix}{next(self.ids):08x}"


STATE = web.AppKey("state", State)

# aiohttp ≥ 3.13 wants typed request keys; older versions take a plain string.
TRACE: Any = web.RequestKey("trace", Trace) if hasattr(web, "RequestKey") else "aoa.trace"
TICKET: Any = web.RequestKey("ticket", Ticket) if hasattr(web, "RequestKey") else "aoa.ticket"
