"""Logging: the redacting handler set up at start-up, and the one access-log line per request."""

from __future__ import annotations

import logging
import sys
import time

from .redact import RedactingFilter, Redactor

access_log = logging.getLogger("aoa.access")


class Trace:
    """Per-request facts for the access log and the overhead header."""

    __slots__ = ("t0", "upstream_s", "upstream_status", "model", "stream", "stream_error", "first_chunk")

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.upstream_s = 0.0
        self.upstream_status: int | str = "-"
        self.model = "-"
        self.stream = False
        self.stream_error: int | None = None
        self.first_chunk = False


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
        "%s %s %d upstream=%s model=%s stream=%s %.1fms%s",
        method,
        path,
        status,
        trace.upstream_status,
        trace.model,
        "yes" if trace.stream else "no",
        (time.perf_counter() - trace.t0) * 1000,
        f" stream_error={trace.stream_error}" if trace.stream_error else "",
    )
