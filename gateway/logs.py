"""Logging: the redacting handler set up at start-up, the request id, and the access log.

The access log is one line per request, on by default (`AOA_LOG_LEVEL=info`), so it is built for
speed: no `logging` record, no redaction regex (its fields are aoa's own numbers or short client
values escaped here), and lines are buffered and written at most every `FLUSH_S` seconds (or
once `FLUSH_BYTES` are waiting) instead of one write and flush per request. `AOA_LOG_FORMAT=json`
turns every log line, access or not, into one JSON object.

Log forging: every client-supplied value (path, model, request id) has its control characters
escaped (`\\x0d`, `\\u2028`, …) before it reaches a text line; JSON escapes them by itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import sys
import time
from itertools import count
from typing import IO, Any

import msgspec

from .redact import RedactingFilter, Redactor

__all__ = ["FORMATS", "Trace", "access", "close_access_log", "flush_access_log", "request_id", "setup_access_log", "setup_logging"]

FORMATS = ("text", "json")
FLUSH_S = 0.1
FLUSH_BYTES = 32 * 1024


class Trace:
    """Per-request facts for the access log, the overhead header and the request id.

    The access log renders, in this order (text `name=value`; JSON keys of the same names):
      request_id       `X-Request-Id`: the client's when valid, else generated (see `request_id`)
      method, path     as received (path escaped)
      status           the HTTP status sent to the client (499 when the client went away)
      upstream_status  the upstream's HTTP status, "-" when no upstream was called
      model            the model after alias resolution, "-" before it is known
      stream           whether the client asked for a stream
      ms               total time in aoa, upstream included
      stream_error     the status of an error sent as an event after a stream had started
    and, only when they say something (so a policy that is off adds nothing to the line):
      attempts         upstream attempts, when more than one (gateway/retry.py)
      key_index        which of several `<P>_API_KEY` keys answered (gateway/keys.py)
      tokens           prompt/completion tokens as the upstream reported them, with `cached`
                       and `reasoning` when non-zero (JSON: tokens_in, tokens_out, …)
    `overhead_s` and `ttft_s` feed gateway/metrics.py and are not logged. A new fact is a slot
    here, a default that means "nothing to say", and one line in `_facts`.
    """

    __slots__ = (
        "t0", "request_id", "upstream_s", "upstream_status", "model", "stream", "stream_error", "first_chunk",
        # Upstream attempts and key pool (gateway/retry.py, gateway/keys.py); tokens as the
        # upstream reported them (gateway/usage.py); timings for gateway/metrics.py.
        "attempts", "key_index", "tokens_in", "tokens_out", "tokens_cached", "tokens_reasoning",
        "overhead_s", "ttft_s",
    )

    def __init__(self, request_id: str = "-") -> None:
        self.t0 = time.perf_counter()
        self.request_id = request_id
        self.upstream_s = 0.0
        self.upstream_status: int | str = "-"
        self.model = "-"
        self.stream = False
        self.stream_error: int | None = None
        self.first_chunk = False
        self.attempts = 0
        self.key_index = -1  # position in <P>_API_KEY when it lists several keys, else -1
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.tokens_cached: int | None = None
        self.tokens_reasoning: int | None = None
        self.overhead_s: float | None = None  # aoa's own time until the answer's headers
        self.ttft_s: float | None = None  # streams: arrival → first chunk written

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


# --- request ids ------------------------------------------------------------------------

# What a client may choose as its own id: UUIDs, OpenAI's `req_…`, base64, W3C trace ids.
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,128}")
_ID_PREFIX = "req_" + secrets.token_hex(6)  # per process: ids stay unique across replicas
_ids = count(1)


def request_id(given: str | None) -> str:
    """The client's `X-Request-Id` when it is safe to echo and log; otherwise a fresh one (a
    counter behind a random per-process prefix: no system call per request)."""
    if given and _CLIENT_ID.fullmatch(given):
        return given
    return f"{_ID_PREFIX}{next(_ids):08x}"


# --- escaping -----------------------------------------------------------------------------


def escape(value: str) -> str:
    """Control and other non-printable characters as `\\xNN` / `\\uNNNN`: a client value can
    never start a new log line or rewrite the terminal."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") for c in value)


# --- the access log -----------------------------------------------------------------------


class _AccessLog:
    """Buffers access lines and writes them in batches."""

    def __init__(self, stream: IO[str], fmt: str, secrets_: list[str]) -> None:
        self.stream = stream
        self.json = fmt == "json"
        self.secrets = [s for s in secrets_ if len(s) >= 4]
        self.lines: list[str] = []
        self.size = 0
        self.timer: asyncio.TimerHandle | None = None
        self._second = -1
        self._stamp = ""

    def _time(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:  # strftime once per second, not per line
            self._second = second
            # JSON lines carry UTC (log pipelines compare across hosts); text matches the other lines.
            self._stamp = (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) if self.json
                else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
            )
        ms = int((now - second) * 1000)
        return f"{self._stamp}.{ms:03d}Z" if self.json else f"{self._stamp},{ms:03d}"

    def _scrub(self, value: str) -> str:
        # A client could put a configured secret into a path or model name; plain substring
        # checks, no regex: these values are short.
        for s in self.secrets:
            if s in value:
                value = value.replace(s, "[redacted]")
        return value

    def line(self, method: str, path: str, status: int, trace: Trace) -> str:
        ms = (time.perf_counter() - trace.t0) * 1000
        path = self._scrub(path)
        model = self._scrub(trace.model)
        if self.json:
            record: dict[str, Any] = {
                "time": self._time(), "level": "info", "logger": "aoa.access", "request_id": trace.request_id,
                "method": method, "path": path, "status": status, "upstream_status": trace.upstream_status,
                "model": model, "stream": trace.stream, "ms": round(ms, 1),
            }
            if trace.stream_error:
                record["stream_error"] = trace.stream_error
            record.update(_facts(trace))
            return _encode(record).decode()
        return f"{self._time()} INFO aoa.access: {_message(method, path, status, trace, model, ms)}"

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.size += len(line) + 1
        if self.size >= FLUSH_BYTES:
            self.flush()
        elif self.timer is None:
            try:
                self.timer = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)
            except RuntimeError:  # no loop (a direct call): write at once
                self.flush()

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.lines:
            return
        text = "\n".join(self.lines) + "\n"
        self.lines.clear()
        self.size = 0
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed stderr must not fail requests
            pass


def _message(method: str, path: str, status: int, trace: Trace, model: str, ms: float) -> str:
    extra = f" stream_error={trace.stream_error}" if trace.stream_error else ""
    extra += _resilience(trace)
    return (
        f"{escape(method)} {escape(path)} {status} upstream={trace.upstream_status} "
        f"model={escape(model)} stream={'yes' if trace.stream else 'no'} {ms:.1f}ms{extra} rid={escape(trace.request_id)}"
    )


def _facts(trace: Trace) -> dict[str, int]:
    """The policy facts that say something (see `Trace`), as JSON keys."""
    out: dict[str, int] = {}
    if trace.attempts > 1:
        out["attempts"] = trace.attempts
    if trace.key_index >= 0:
        out["key_index"] = trace.key_index
    for name in ("tokens_in", "tokens_out", "tokens_cached", "tokens_reasoning"):
        value = getattr(trace, name)
        if value is not None:
            out[name] = value
    return out


# Attempts, key and tokens (gateway/retry.py, gateway/keys.py, gateway/usage.py): only what
# differs from the plain case, so a one-key, one-attempt request without usage adds nothing.
def _resilience(trace: Trace) -> str:
    parts = ""
    if trace.attempts > 1:
        parts += f" attempts={trace.attempts}"
    if trace.key_index >= 0:
        parts += f" key_index={trace.key_index}"  # not `key=`: the redactor masks that
    if trace.tokens_in is not None or trace.tokens_out is not None:
        parts += f" tokens={trace.tokens_in if trace.tokens_in is not None else '-'}/{trace.tokens_out if trace.tokens_out is not None else '-'}"
        if trace.tokens_cached:
            parts += f" cached={trace.tokens_cached}"
        if trace.tokens_reasoning:
            parts += f" reasoning={trace.tokens_reasoning}"
    return parts


_encode = msgspec.json.Encoder().encode
_access: _AccessLog | None = None


def setup_access_log(stream: IO[str] | None, fmt: str = "text", secrets_: list[str] | None = None) -> None:
    """Turn the access log on (writing to `stream`) or off (None)."""
    global _access
    if _access is not None:
        _access.flush()
    _access = _AccessLog(stream, fmt, secrets_ or []) if stream is not None else None


def flush_access_log() -> None:
    if _access is not None:
        _access.flush()


def close_access_log() -> None:
    setup_access_log(None)


access_log = logging.getLogger("aoa.access")


def access(method: str, path: str, status: int, trace: Trace) -> None:
    if _access is not None:
        _access.add(_access.line(method, path, status, trace))
    elif access_log.isEnabledFor(logging.INFO):
        # Embedded without setup_logging (an app built in a test, say): through `logging`, so
        # the host's handlers see the same line.
        ms = (time.perf_counter() - trace.t0) * 1000
        access_log.info("%s", _message(method, path, status, trace, trace.model, ms))


# --- process logging ----------------------------------------------------------------------


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            out["traceback"] = record.exc_text
        return _encode(out).decode()


def setup_logging(level: str, secrets_: list[str], fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(Redactor(secrets_)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").disabled = True
    on = logging.getLevelName(level.upper()) <= logging.INFO
    setup_access_log(sys.stderr if on else None, fmt, secrets_)
