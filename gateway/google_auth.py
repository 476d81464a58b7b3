"""Google service-account credentials for Vertex AI: a signed JWT exchanged for an OAuth2 access
token, cached and refreshed before it expires.

Only used when `GEMINI_VERTEX=true` names a project and no API key: the key file comes from
`GEMINI_VERTEX_CREDENTIALS`, else `GOOGLE_APPLICATION_CREDENTIALS`. The flow is Google's
"JWT bearer" grant (https://developers.google.com/identity/protocols/oauth2/service-account#httprest):
an RS256-signed assertion {iss, scope, aud, iat, exp} posted to the key file's
`token_uri`, answered with `{access_token, expires_in}`.

RS256 needs an RSA signer, which the standard library lacks: `cryptography` (the `aoa[vertex]`
extra) is imported only here, and only when a service account is configured; without it aoa
refuses to start with one line naming the extra.

Hook: the IO layer asks `TokenSource.token()` for the credential of each upstream call
(`call.key`); the provider sends it as `Authorization: Bearer`.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import msgspec

from providers import core

from . import redact
from .upstream import timeout

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
# The assertion's audience is this URL whatever host serves the exchange (google-auth does the same).
AUDIENCE = "https://oauth2.googleapis.com/token"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600  # seconds; Google's maximum
MAX_TOKEN_LIFETIME = 3600  # seconds; tokens from the JWT-bearer grant last one hour
REFRESH_MARGIN = 300  # a token this close to expiry is replaced before use
EXTRA_HINT = "pip install 'aoa[vertex]'"
# Google's answer is a few hundred bytes; more is not a token answer, and is not read whole.
MAX_ANSWER_BYTES = 65536
# RFC 6750's b64token: what may follow "Bearer " in a header (no spaces, no CR/LF).
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class ServiceAccount:
    """The parts of a service-account key file aoa uses; the private key never leaves here."""

    __slots__ = ("email", "key_id", "token_uri", "project_id", "_key")

    def __init__(self, email: str, key_id: str, token_uri: str, project_id: str, key: Any) -> None:
        self.email = email
        self.key_id = key_id
        self.token_uri = token_uri
        self.project_id = project_id
        self._key = key

    def __repr__(self) -> str:
        return f"ServiceAccount({self.email!r})"

    def sign(self, message: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(account: ServiceAccount, now: int) -> str:
    """The signed JWT the token endpoint exchanges for an access token."""
    header = {"alg": "RS256", "typ": "JWT", "kid": account.key_id}
    claims = {"iss": account.email, "scope": SCOPE, "aud": AUDIENCE, "iat": now, "exp": now + ASSERTION_LIFETIME}
    signing_input = f"{_b64(msgspec.json.encode(header))}.{_b64(msgspec.json.encode(claims))}"
    return f"{signing_input}.{_b64(account.sign(signing_input.encode()))}"


def load(env: Mapping[str, str], settings: Any) -> ServiceAccount | None:
    """The service account the Gemini provider's settings ask for, or None (not Vertex on a
    project, or an API key configured). A missing, unreadable or wrong file, or a missing crypto
    library, is a ConfigError: aoa refuses to start rather than fail on the first request."""
    if not getattr(settings, "vertex", False) or settings.common.api_key:
        return None
    var = "GEMINI_VERTEX_CREDENTIALS" if settings.credentials else "GOOGLE_APPLICATION_CREDENTIALS"
    path = settings.credentials or env.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
    if not path:
        if settings.project:
            raise core.ConfigError("GEMINI_VERTEX_PROJECT needs a service-account key: set GEMINI_VERTEX_CREDENTIALS or GOOGLE_APPLICATION_CREDENTIALS (or use GEMINI_API_KEY for express mode without a project)")
        return None  # express mode with the client's key
    try:
        with open(path, "rb") as f:
            info = json.loads(f.read())
    except OSError as exc:
        raise core.ConfigError(f"{var}: cannot read {path!r} ({exc.strerror or exc})") from None
    except ValueError:
        raise core.ConfigError(f"{var}: {path!r} is not a JSON key file") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        kind = info.get("type") if isinstance(info, dict) else None
        raise core.ConfigError(f"{var}: {path!r} is not a service-account key (type {kind!r}); download a JSON key for a service account")
    missing = [k for k in ("client_email", "private_key") if not isinstance(info.get(k), str) or not info.get(k)]
    if missing:
        raise core.ConfigError(f"{var}: {path!r} lacks {', '.join(missing)}")
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:
        raise core.ConfigError(f"{var}: signing a service-account token needs the cryptography package: {EXTRA_HINT}") from None
    try:
        key = load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        raise core.ConfigError(f"{var}: {path!r} holds a private key aoa cannot read") from None
    _register_key(info["private_key"])
    token_uri = info.get("token_uri") or DEFAULT_TOKEN_URI
    if not _token_uri_ok(token_uri):
        raise core.ConfigError(f"{var}: token_uri must be an https URL (or http on loopback)")
    account = ServiceAccount(info["client_email"], str(info.get("private_key_id") or ""), token_uri, str(info.get("project_id") or ""), key)
    if not settings.project:
        if not account.project_id:
            raise core.ConfigError(f"{var}: the key names no project_id; set GEMINI_VERTEX_PROJECT")
        settings.project = account.project_id
    return account


def _register_key(pem: str) -> None:
    """The private key as it may be printed: as in the file, JSON-escaped, and its base64 body
    on one line."""
    redact.register(pem.strip(), pinned=True)
    redact.register(json.dumps(pem.strip())[1:-1], pinned=True)
    body = "".join(line.strip() for line in pem.splitlines() if line.strip() and not line.startswith("-----"))
    redact.register(body, pinned=True)


def _token_uri_ok(uri: object) -> bool:
    if not isinstance(uri, str):
        return False
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return True
    try:
        return parts.scheme == "http" and ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


class _TokenAnswer(msgspec.Struct):
    access_token: str
    expires_in: float = ASSERTION_LIFETIME


class TokenSource:
    """One cached access token per process. A refresh is one exchange shared by every request
    that needs it, its outcome too: a burst at expiry makes one exchange, and when the token
    endpoint is down or slow the burst fails together after one timeout, not one after another."""

    def __init__(self, account: ServiceAccount, session: aiohttp.ClientSession, *, timeout: float = 30.0, clock=time.time) -> None:
        self.account = account
        self.session = session
        self.timeout = timeout
        self.clock = clock
        self._token = ""
        self._expiry = 0.0
        self._inflight: asyncio.Future[str] | None = None
        self.exchanges = 0

    def _fresh(self) -> bool:
        return bool(self._token) and self.clock() < self._expiry - REFRESH_MARGIN

    def invalidate(self) -> None:
        """The upstream refused the token: forget it, so the next request makes a new exchange
        instead of every request being refused until the token's own expiry (google-auth's
        sessions refresh on a 401 the same way)."""
        self._token, self._expiry = "", 0.0

    async def token(self) -> str:
        if self._fresh():
            return self._token
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._refresh())
            # Read even if every waiter is gone (client disconnects): no "never retrieved" noise.
            self._inflight.add_done_callback(lambda f: f.cancelled() or f.exception())
        # Shielded: one client giving up does not cancel the exchange the others wait for.
        return await asyncio.shield(self._inflight)

    async def _refresh(self) -> str:
        try:
            token, expiry = await self._exchange()
        finally:
            self._inflight = None
        redact.register(token)
        self._token, self._expiry = token, expiry
        return token

    async def _exchange(self) -> tuple[str, float]:
        now = self.clock()
        jwt = assertion(self.account, int(now))
        redact.register(jwt.rpartition(".")[2])  # the signature: whoever holds it can mint tokens for an hour
        form = {"grant_type": GRANT_TYPE, "assertion": jwt}
        self.exchanges += 1
        try:
            async with timeout(self.timeout):
                async with self.session.post(self.account.token_uri, data=form) as resp:
                    body = await _read_capped(resp)
                    status = resp.status
        except asyncio.TimeoutError:
            raise core.Error(504, f"Google's token endpoint did not answer within {self.timeout:g} s.", code="upstream_auth_failed") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise core.Error(502, f"Google's token endpoint could not be reached ({type(exc).__name__}).", code="upstream_auth_failed") from None
        if len(body) > MAX_ANSWER_BYTES:
            raise core.Error(502, f"Google's token endpoint answered HTTP {status} with a body larger than {MAX_ANSWER_BYTES} bytes.", code="upstream_auth_failed")
        if status != 200:
            raise core.Error(502, f"Google refused the service account's token request (HTTP {status}{_reason(body)}).", code="upstream_auth_failed")
        try:
            answer = msgspec.json.decode(body, type=_TokenAnswer)
        except (msgspec.DecodeError, RecursionError):
            raise core.Error(502, "Google's token endpoint answered with an unexpected body.", code="upstream_auth_failed") from None
        if not _B64TOKEN.fullmatch(answer.access_token):
            raise core.Error(502, "Google's token endpoint answered without a usable token.", code="upstream_auth_failed")
        if not answer.expires_in > 0:
            raise core.Error(502, f"Google's token endpoint answered with a token that has already expired (expires_in {answer.expires_in:g}).", code="upstream_auth_failed")
        # Trusted no further than Google's own limit: a token kept past its real life would
        # turn every request into a 401 until aoa restarts.
        return answer.access_token, now + min(answer.expires_in, MAX_TOKEN_LIFETIME)


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    """The body, or its first MAX_ANSWER_BYTES + 1 bytes when it is longer (the rest unread)."""
    body = bytearray()
    while len(body) <= MAX_ANSWER_BYTES:
        chunk = await resp.content.read(MAX_ANSWER_BYTES + 1 - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def _reason(body: bytes) -> str:
    """OAuth's `{"error", "error_description"}`, short and without anything secret in it."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(doc, dict):
        return ""
    parts = [str(doc[k])[:200] for k in ("error", "error_description") if isinstance(doc.get(k), str)]
    return f": {' — '.join(parts)}" if parts else ""

