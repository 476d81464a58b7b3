"""Environment → `Config`: every `AOA_*` variable, validated once at start-up.

A bad value refuses to start with a message naming the variable; provider settings come from the
provider's own `load_settings`.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

import providers
from providers import core

from . import cache, chatlog, google_auth, overrides, ratelimit, responses_store, router
from .edge import default_max_connections
from .redact import Redactor
from .retry import Policy, load_policy

DEFAULTS = {
    "AOA_TYPE": "azure",
    "AOA_HOST": "0.0.0.0",
    "AOA_PORT": 8080,
    "AOA_LOG_LEVEL": "info",
    "AOA_MAX_BODY": 32 * 1024 * 1024,
    "AOA_CONNECT_TIMEOUT": 10.0,
    "AOA_FIRST_BYTE_TIMEOUT": 600.0,
    "AOA_IDLE_TIMEOUT": 120.0,
    "AOA_SHUTDOWN_GRACE": 30.0,
    "AOA_MODELS_TTL": 60.0,
    "AOA_FETCH_MAX_BYTES": 20 * 1024 * 1024,
    "AOA_FETCH_TIMEOUT": 15.0,
    "AOA_FETCH_MAX_TOTAL_BYTES": 64 * 1024 * 1024,
    "AOA_FETCH_MAX_URLS": 16,
    "AOA_HEADER_TIMEOUT": 15.0,
}
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
# RFC 1123 host names; IP literals are checked by `ipaddress`.
_HOSTNAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")


class Config(msgspec.Struct, kw_only=True):
    kind: str
    host: str
    port: int
    log_level: str
    log_format: str = "text"
    api_keys: tuple[str, ...]
    cors_origins: tuple[str, ...]
    max_body: int
    connect_timeout: float
    first_byte_timeout: float
    idle_timeout: float
    shutdown_grace: float
    models_ttl: float
    fetch_private: bool
    fetch_max_bytes: int
    fetch_timeout: float
    fetch_max_total_bytes: int = DEFAULTS["AOA_FETCH_MAX_TOTAL_BYTES"]
    fetch_max_urls: int = DEFAULTS["AOA_FETCH_MAX_URLS"]
    uvloop: bool = False
    header_timeout: float = DEFAULTS["AOA_HEADER_TIMEOUT"]
    max_connections: int = 4096
    # Resilience and observability (gateway/retry.py, gateway/keys.py, gateway/metrics.py).
    retry: Policy = Policy()
    metrics: bool = True
    stream_usage: bool = True
    otel_endpoint: str = ""
    settings: Any  # the provider's Settings
    fallback: bool = False  # True when no upstream was configured and the mock answers
    # Scale-out policies (gateway/policies.py); None = off.
    redis_url: str = ""
    limits: ratelimit.Settings | None = None
    cache: cache.Settings | None = None
    chat_log: chatlog.Settings | None = None
    overrides: overrides.Settings | None = None
    router: router.Settings | None = None
    # A Google service account (Vertex AI on a project): the IO layer mints its tokens.
    credential: google_auth.ServiceAccount | None = None
    responses_store: Any = None  # gateway.responses_store.Settings


def load_config(env: Mapping[str, str]) -> Config:
    kind = env.get("AOA_TYPE", "").strip().lower()
    fallback = False
    if not kind:
        kind = DEFAULTS["AOA_TYPE"]
        if not env.get("AZURE_ENDPOINT", "").strip():
            kind, fallback = "mock", True
    if kind not in providers.KINDS:
        raise core.ConfigError(
            f"AOA_TYPE={kind!r} is not a known upstream; choose one of: {', '.join(sorted(providers.KINDS))}"
        )
    host = _host(env.get("AOA_HOST", "").strip() or DEFAULTS["AOA_HOST"])
    port = core.parse_int(env, "AOA_PORT", DEFAULTS["AOA_PORT"], low=0)
    if port > 65535:
        raise core.ConfigError(f"AOA_PORT={port} is not a TCP port")
    level = env.get("AOA_LOG_LEVEL", "").strip().lower() or DEFAULTS["AOA_LOG_LEVEL"]
    if level not in LOG_LEVELS:
        raise core.ConfigError(f"AOA_LOG_LEVEL={level!r} is not one of {', '.join(LOG_LEVELS)}")
    log_format = env.get("AOA_LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in LOG_FORMATS:
        raise core.ConfigError(f"AOA_LOG_FORMAT={log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    uvloop = core.parse_bool(env, "AOA_UVLOOP", False)
    if uvloop and importlib.util.find_spec("uvloop") is None:
        raise core.ConfigError("AOA_UVLOOP=true but uvloop is not installed (pip install 'aoa[uvloop]', or unset AOA_UVLOOP)")
    keys, _ = ratelimit.parse_api_keys(env.get("AOA_API_KEYS", ""))  # `key:60/minute` entries
    settings = providers.load(kind).load_settings(env)
    origins = tuple(o.strip() for o in env.get("AOA_CORS_ORIGINS", "*").split(",") if o.strip())
    redis_url = _redis_url(env)
    fetch_max_bytes, fetch_max_total_bytes = _fetch_bytes(env)
    return Config(
        responses_store=responses_store.load_settings(env),
        kind=kind,
        host=host,
        port=port,
        log_level=level,
        log_format=log_format,
        api_keys=keys,
        cors_origins=origins,
        max_body=core.parse_int(env, "AOA_MAX_BODY", DEFAULTS["AOA_MAX_BODY"], low=1024),
        connect_timeout=core.parse_float(env, "AOA_CONNECT_TIMEOUT", DEFAULTS["AOA_CONNECT_TIMEOUT"], low=0.001),
        first_byte_timeout=core.parse_float(env, "AOA_FIRST_BYTE_TIMEOUT", DEFAULTS["AOA_FIRST_BYTE_TIMEOUT"], low=0.001),
        idle_timeout=core.parse_float(env, "AOA_IDLE_TIMEOUT", DEFAULTS["AOA_IDLE_TIMEOUT"], low=0.001),
        shutdown_grace=core.parse_float(env, "AOA_SHUTDOWN_GRACE", DEFAULTS["AOA_SHUTDOWN_GRACE"]),
        models_ttl=core.parse_float(env, "AOA_MODELS_TTL", DEFAULTS["AOA_MODELS_TTL"]),
        fetch_private=core.parse_bool(env, "AOA_FETCH_PRIVATE", False),
        fetch_max_bytes=fetch_max_bytes,
        fetch_max_total_bytes=fetch_max_total_bytes,
        fetch_max_urls=core.parse_int(env, "AOA_FETCH_MAX_URLS", DEFAULTS["AOA_FETCH_MAX_URLS"], low=1),
        fetch_timeout=core.parse_float(env, "AOA_FETCH_TIMEOUT", DEFAULTS["AOA_FETCH_TIMEOUT"], low=0.001),
        uvloop=uvloop,
        header_timeout=core.parse_float(env, "AOA_HEADER_TIMEOUT", DEFAULTS["AOA_HEADER_TIMEOUT"], low=0.001),
        max_connections=core.parse_int(env, "AOA_MAX_CONNECTIONS", default_max_connections(), low=1),
        retry=load_policy(env),
        metrics=core.parse_bool(env, "AOA_METRICS", True),
        stream_usage=core.parse_bool(env, "AOA_STREAM_USAGE", True),
        otel_endpoint=_otel(env),
        settings=settings,
        fallback=fallback,
        redis_url=redis_url,
        limits=ratelimit.load(env),
        cache=cache.load(env, redis_url),
        chat_log=chatlog.load(env),
        overrides=overrides.load(env, settings.common.prefix),
        router=router.load(env) if kind == "router" else None,
        credential=google_auth.load(env, settings),
    )


def _host(host: str) -> str:
    """An IP address or a host name (resolving it is the bind's job, at start-up)."""
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(literal))
    except ValueError:
        pass
    if _HOSTNAME.fullmatch(host) and not host.replace(".", "").isdigit():
        return host
    raise core.ConfigError(f"AOA_HOST={host!r} is not an IP address or a host name (no scheme, no port: e.g. 0.0.0.0, ::, 127.0.0.1, localhost)")


def _fetch_bytes(env: Mapping[str, str]) -> tuple[int, int]:
    each = core.parse_int(env, "AOA_FETCH_MAX_BYTES", DEFAULTS["AOA_FETCH_MAX_BYTES"], low=1)
    total = core.parse_int(env, "AOA_FETCH_MAX_TOTAL_BYTES", DEFAULTS["AOA_FETCH_MAX_TOTAL_BYTES"], low=1)
    if total < each:
        raise core.ConfigError(
            f"AOA_FETCH_MAX_TOTAL_BYTES={total} is smaller than AOA_FETCH_MAX_BYTES={each}: the per-request "
            "total must allow at least one file of the per-file size (raise the first or lower the second)"
        )
    return each, total


def _redis_url(env: Mapping[str, str]) -> str:
    url = env.get("AOA_REDIS_URL", "").strip()
    if not url:
        return ""
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise core.ConfigError("AOA_REDIS_URL is not a redis://, rediss:// or unix:// URL")  # may hold a password
    try:
        import redis.asyncio  # noqa: F401  (the optional extra)
    except ImportError:
        raise core.ConfigError("AOA_REDIS_URL is set but the redis client is not installed: pip install 'aoa[redis]'") from None
    return url


def _otel(env: Mapping[str, str]) -> str:
    endpoint = core.parse_url(env, "AOA_OTEL_ENDPOINT", "")
    if endpoint:
        from .otel import check_available

        check_available()
    return endpoint


def config_secrets(config: Config) -> list[str]:
    common = config.settings.common
    found = [*config.api_keys, common.api_key, *common.api_keys]
    for key in (common.api_key, *common.api_keys):
        if ":" in key:
            found += key.split(":")  # Spark's APIKey:APISecret: a vendor may quote either half
    if config.router:
        found += [r.key for r in config.router.routes]
        for url in (u for r in config.router.routes for u in r.targets):
            parts = urlsplit(url)
            found += [parts.password or ""]
    if config.redis_url:
        parts = urlsplit(config.redis_url)
        found += [parts.password or "", parts.username or ""]
    for url in (common.http_proxy, common.socks_proxy):
        if url:
            parts = urlsplit(url)
            found += [parts.password or "", parts.username or ""]
    return [s for s in found if s]


def describe(config: Config) -> dict[str, Any]:
    """The effective configuration, secrets replaced by whether they are set."""
    redact = Redactor(config_secrets(config))
    settings = msgspec.to_builtins(config.settings)
    common = settings.get("common", {})
    common["api_key"] = "(set)" if common.get("api_key") else "(client's bearer token)"
    common["api_keys"] = f"({len(common.get('api_keys') or ())} set)"
    for name in ("http_proxy", "socks_proxy"):
        if common.get(name):
            common[name] = redact(common[name])
    out = msgspec.to_builtins(msgspec.structs.replace(config, credential=None))
    out["credential"] = f"service account {config.credential.email}" if config.credential else None
    out["api_keys"] = f"({len(config.api_keys)} set)" if config.api_keys else "(none: open access)"
    if config.otel_endpoint:
        out["otel_endpoint"] = redact(config.otel_endpoint)
    out["settings"] = settings
    if config.limits and config.limits.per_key:
        out["limits"]["per_key"] = f"({len(config.limits.per_key)} keys with their own limits)"
    if config.router:
        for r in out["router"]["routes"]:
            r["key"] = "(set)" if r["key"] else ""
            r["targets"] = [redact(u) for u in r["targets"]]
    if config.redis_url:
        out["redis_url"] = redact(config.redis_url)
    return out
