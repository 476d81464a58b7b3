"""Secrets never leave the process: configured keys and anything shaped like a credential are
scrubbed from every log line and error body."""

from __future__ import annotations

import logging
import re

# A credential value never holds brackets: "Bearer <key>" in aoa's own help text is not one.
_SECRET_PATTERNS = re.compile(
    r"(?i)(key=)[^&\s\"'<>()]+|(bearer\s+)[^\s\"',<>()\[\]{}]+|(api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',}<>()]+"
    r"|(x-goog-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+|(://[^/\s:@]+:)[^@/\s]+(@)"
)


# Secrets that exist only at run time (a service account's private key and the access tokens it
# mints), for every Redactor of the process: error bodies and the log filter alike. Tuples,
# replaced whole, so a log line redacted on another thread never sees one half-changed.
_pinned: tuple[str, ...] = ()
_rotating: tuple[str, ...] = ()
ROTATING_LIMIT = 16  # tokens rotate hourly; the newest few are enough


def register(secret: str, *, pinned: bool = False) -> None:
    """Scrub `secret` from every log line and error body from now on. Unpinned secrets (tokens
    that rotate) drop out oldest first past ROTATING_LIMIT; pinned ones stay."""
    global _pinned, _rotating
    if len(secret) < 8 or secret in _pinned or secret in _rotating:
        return
    if pinned:
        _pinned = (*_pinned, secret)
    else:
        _rotating = (*_rotating, secret)[-ROTATING_LIMIT:]


class Redactor:
    """Scrubs configured secrets and anything shaped like a credential from text."""

    def __init__(self, secrets_: list[str]) -> None:
        # Longest first so a key that contains another is removed whole.
        self.secrets = sorted({s for s in secrets_ if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str, extra: str = "") -> str:
        for s in (*self.secrets, extra) if len(extra) >= 4 else self.secrets:
            if s in text:
                text = text.replace(s, "[redacted]")
        for s in (*_pinned, *_rotating) if _pinned or _rotating else ():
            if s in text:
                text = text.replace(s, "[redacted]")
        return _SECRET_PATTERNS.sub(_mask, text)

    def shorten(self, text: str, limit: int, extra: str = "") -> str:
        """Redact, then cut: a secret straddling the cut is removed whole before the cut can
        leave half of it readable."""
        text = self(text, extra)
        return text if len(text) <= limit else text[:limit] + "…"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """Control characters escaped (`\\r`, `\\n`, `\\x1b` …), so a client or upstream value
    written into a log line cannot start a forged line or drive a terminal."""
    if text.isprintable():
        return text
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _mask(m: re.Match) -> str:
    groups = [g for g in m.groups() if g is not None]
    if len(groups) == 2:  # user:password@ in a URL
        return f"{groups[0]}[redacted]{groups[1]}"
    return f"{groups[0]}[redacted]"


class RedactingFilter(logging.Filter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True

