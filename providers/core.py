"""The host contract between `aoa.py` (all IO) and the provider modules (pure translation).

A provider never opens a socket, never reads `os.environ`, never logs and never sleeps: it gets
its environment as a mapping, every request as a `Call`, and answers with `Outbound` requests for
the IO layer to send, encoded OpenAI bodies, or an `Error`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar
from urllib.parse import urlsplit

import msgspec

__all__ = [
    "Call",
    "Common",
    "ConfigError",
    "Error",
    "Media",
    "NeedMedia",
    "Outbound",
    "ERROR_TYPE",
    "SNIPPET_BYTES",
    "http_status",
    "load_common",
    "model_segment",
    "parse_alias",
    "parse_bool",
    "parse_float",
    "parse_int",
    "parse_url",
    "resolve_model",
    "top_level",
]

# OpenAI's `error.type` per HTTP status; the SDK picks its exception class from the status,
# humans and log scrapers read the type.
ERROR_TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "upstream_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}


# How much of an unreadable upstream error body goes into a message. Generous on purpose: the IO
# layer redacts the whole message before shortening it, so a key echoed by the upstream is never
# cut in half (and left half readable) before it can be recognised.
SNIPPET_BYTES = 16384


def error_type(status: int) -> str:
    return ERROR_TYPE.get(status) or ("invalid_request_error" if status < 500 else "api_error")


def http_status(status: object) -> int:
    """A status a vendor put in a body (or on its status line) → an HTTP error status aoa may send.

    Vendors pick numbers (Gemini's `{"error":{"code":99999}}`, DashScope's codes); only 400–599
    reach the client, anything else is the upstream's fault: 502.
    """
    if isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 599:
        return status
    return 502


class Error(Exception):
    """Anything that ends a request: the IO layer turns it into an OpenAI error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = http_status(status)
        self.message = message
        self.param = param
        self.code = code
        self.type = type or error_type(self.status)
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"Error({self.status}, {self.message!r}, param={self.param!r}, code={self.code!r})"


class ConfigError(Exception):
    """An environment variable holds something aoa cannot use; the message names it."""


class Outbound(msgspec.Struct, kw_only=True):
    """One HTTP request for the IO layer to send upstream."""

    url: str
    headers: dict[str, str]
    body: bytes | None = None
    method: str = "POST"
    # True when the upstream answers with server-sent events.
    stream: bool = False


class Media(msgspec.Struct, frozen=True):
    """A file the IO layer fetched for a provider (an https image to inline, say)."""

    mime: str
    data: bytes


class NeedMedia(Exception):
    """Raised by a provider's `chat` when it needs these http(s) URLs fetched first.

    The IO layer fetches them (size cap, timeout, private-address guard), puts them in
    `call.media` and calls `chat` again.
    """

    def __init__(self, urls: list[str]) -> None:
        super().__init__(f"{len(urls)} URL(s) to fetch")
        self.urls = urls


class Call(msgspec.Struct, kw_only=True):
    """One client request, as the IO layer hands it to a provider."""

    id: str  # e.g. "chatcmpl-…", unique per process and request
    created: int  # unix seconds
    model: str  # upstream model after alias resolution
    client_model: str  # the model name the client sent ("" when none)
    key: str  # upstream credential ("" when there is none)
    stream: bool = False
    include_usage: bool = False
    body: bytes = b""  # the request body exactly as received
    # Top-level JSON fields of the body, undecoded; passthrough providers re-encode these
    # without touching the (possibly huge) values they do not need to read.
    fields: dict[str, msgspec.Raw] = {}
    # Filled by the IO layer after a provider raised NeedMedia: url → Media.
    media: dict[str, Media] = {}


# A model name that ends up in a URL path: one segment of the characters vendors use in model and
# deployment names. Anything else (`../x`, `a?b=c`, `a#b`, `files/x`, control characters) would
# let a client steer the server key to another endpoint.
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]{0,254}")


def model_segment(model: str, *, param: str = "model") -> str:
    """`model` when it is safe as one URL path segment; otherwise a 400 naming `param`."""
    if _SEGMENT.fullmatch(model) and ".." not in model:
        return model
    shown = model[:80].encode("unicode_escape").decode("ascii")
    raise Error(
        400,
        f"Invalid model name {shown!r}: use letters, digits and . _ - : @ + only.",
        param=param,
        code="invalid_model",
    )


T = TypeVar("T", bound=msgspec.Struct)


def top_level(call: Call, decoder: msgspec.json.Decoder, kind: type[T], types: Mapping[str, str] | None = None) -> T:
    """The top-level fields `kind` declares (a provider's extras), decoded alone from the body the
    IO layer split once already, images and all left untouched; a wrong type is a 400 naming the
    field, and saying what it must be when `types` knows."""
    picked = {name: call.fields[name] for name in kind.__struct_fields__ if name in call.fields}
    if not picked:
        return kind()
    try:
        return decoder.decode(msgspec.json.encode(picked))
    except msgspec.ValidationError as exc:
        path = str(exc).rpartition("at `$.")[2].rstrip("`") or "body"
        want = (types or {}).get(path)
        message = f"`{path}` must be {want}." if want else f"Invalid `{path}`: {exc}"
        raise Error(400, message, param=path, code="invalid_type") from None


# --- configuration helpers (pure: they read the mapping they are given) -----------------

_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no"})


def parse_bool(env: Mapping[str, str], var: str, default: bool) -> bool:
    """The seed's rule: `true|1|on|yes` is true, empty is the default; aoa also refuses typos."""
    raw = env.get(var, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{var}={raw!r} is not a boolean (use true/false, 1/0, on/off, yes/no)")


def parse_int(env: Mapping[str, str], var: str, default: int, *, low: int = 0) -> int:
    raw = env.get(var, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a whole number") from None
    if value < low:
        raise ConfigError(f"{var}={raw!r} must be at least {low}")
    return value


def parse_float(env: Mapping[str, str], var: str, default: float, *, low: float = 0.0) -> float:
    raw = env.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a number") from None
    if not value >= low:  # also refuses NaN
        raise ConfigError(f"{var}={raw!r} must be at least {low:g}")
    return value


def parse_url(env: Mapping[str, str], var: str, default: str, *, schemes=("http", "https")) -> str:
    """A base URL without its trailing slash; its path is kept (users mount vendors under paths)."""
    raw = env.get(var, "").strip() or default
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{var}={raw!r} is not a URL ({'/'.join(schemes)}://host[:port][/path])")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"{var}={raw!r} has an invalid port") from None
    if parts.query or parts.fragment:
        raise ConfigError(f"{var}={raw!r} must not carry a query string or fragment")
    return raw.rstrip("/")


def parse_alias(env: Mapping[str, str], var: str) -> dict[str, str]:
    """`from:to,from:to` → {from: to}; `*:to` catches every other name. Malformed → ConfigError."""
    raw = env.get(var, "").strip()
    table: dict[str, str] = {}
    if not raw:
        return table
    for entry in raw.split(","):
        if not entry.strip():
            continue  # tolerate a trailing comma
        name, sep, target = entry.partition(":")
        name, target = name.strip(), target.strip()
        if not sep or not name or not target:
            raise ConfigError(f"{var}: entry {entry.strip()!r} is not 'from:to'")
        if name in table and table[name] != target:
            raise ConfigError(f"{var}: {name!r} is mapped twice ({table[name]!r} and {target!r})")
        table[name] = target
    return table


def _proxy(env: Mapping[str, str], var: str, schemes: tuple[str, ...]) -> str:
    raw = env.get(var, "").strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.hostname:
        # The value may carry a password: name the variable, never echo it.
        raise ConfigError(f"{var} is not a proxy URL ({'|'.join(schemes)}://[user:pass@]host:port)")
    try:
        parts.port  # noqa: B018
    except ValueError:
        raise ConfigError(f"{var} has an invalid port") from None
    return raw


class Common(msgspec.Struct, kw_only=True):
    """What every upstream kind is configured with (`<P>_…`)."""

    prefix: str
    api_key: str = ""  # the first of `api_keys`: what a single-key upstream uses
    # `<P>_API_KEY` may list several keys, comma-separated; the IO layer spreads requests over them.
    api_keys: tuple[str, ...] = ()
    endpoint: str = ""
    model: str = ""
    aliases: dict[str, str] = {}
    http_proxy: str = ""
    socks_proxy: str = ""


def load_common(
    env: Mapping[str, str], prefix: str, *, endpoint: str = "", model: str = ""
) -> Common:
    keys = tuple(dict.fromkeys(k.strip() for k in env.get(f"{prefix}_API_KEY", "").split(",") if k.strip()))
    return Common(
        prefix=prefix,
        api_key=keys[0] if keys else "",
        api_keys=keys,
        endpoint=parse_url(env, f"{prefix}_ENDPOINT", endpoint),
        model=env.get(f"{prefix}_MODEL", "").strip() or model,
        aliases=parse_alias(env, f"{prefix}_MODEL_ALIAS"),
        http_proxy=_proxy(env, f"{prefix}_HTTP_PROXY", ("http", "https")),
        socks_proxy=_proxy(env, f"{prefix}_SOCKS_PROXY", ("socks5", "socks5h", "socks4", "socks4a")),
    )


def resolve_model(common: Common, requested: str) -> str:
    """Alias hit → its target; empty → the configured model; `*` → its target; else as sent."""
    name = requested.strip()
    if name in common.aliases:
        return common.aliases[name]
    if not name:
        return common.model
    return common.aliases.get("*", name)


def served_models(common: Common) -> list[str]:
    """The names this process answers to, in a stable order and without duplicates."""
    names = [common.model] if common.model else []
    names += [a for a in common.aliases if a != "*"]
    names += common.aliases.values()
    return list(dict.fromkeys(n for n in names if n))
