"""Logging: the redacting handler set up at start-up, and the one access-log line per request."""

from __future__ import annotations

import logging
import sys
import time

from .redact import RedactingFilter, Redactor

access_log = logging.getLogger("aoa.access")


class Trace:
    """Per-request facts for the access log and the overhead header."""

    __slots__ = (
        "t0", "upstream_s", "upstream_status", "model", "stream", "stream_error", "first_chunk",
        # Upstream attempts and key pool (gateway/retry.py, gateway/keys.py); tokens as the
        # upstream reported them (gateway/usage.py); timings for gateway/metrics.py.
        "attempts", "key_index", "tokens_in", "tokens_out", "tokens_cached", "tokens_reasoning",
        "overhead_s", "ttft_s",
    )

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
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


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").disabled = True


def access(method: str, path: str, status: int, trace: Trace) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    access_log.info(
        "%s %s %d upstream=%s model=%s stream=%s %.1fms%s%s",
        method,
        path,
        status,
        trace.upstream_status,
        trace.model,
        "yes" if trace.stream else "no",
        (time.perf_counter() - trace.t0) * 1000,
        f" stream_error={trace.stream_error}" if trace.stream_error else "",
        _resilience(trace),
    )


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
