"""The client's request body: parsed once, checked once, and translated off the event loop when it
is big enough that translation would stall every other request (and /healthz) behind it.

Every client body is hostile: invalid UTF-8, JSON nested a thousand levels deep, or a few MB of
messages must end in a 400, never in a traceback and a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import msgspec

from providers import core

T = TypeVar("T")

# Measured (AMD EPYC, Python 3.11): Gemini/Qwen translate a body of many messages at ≈ 25 ms per
# MB and a 1 MB data: image in ≈ 2 ms; passthrough needs ≈ 0.04 ms per MB; a hop to a worker thread
# costs ≈ 0.05 ms. From 1 MiB on, the hop is noise next to what it keeps off the loop, and small
# bodies (nearly all requests) never pay it. Pure-Python translation still holds the GIL, but the
# interpreter hands it back every 5 ms, so the loop keeps answering.
OFFLOAD_BYTES = 1 << 20

# Few threads: translation is CPU-bound under the GIL, so more would not help, and a pool of its
# own never starves the default executor aiohttp uses for DNS. Created on first use, kept for the
# life of the process (its idle threads cost nothing).
_pool: ThreadPoolExecutor | None = None

_fields_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])

TOO_DEEP = "Request body is nested too deeply to be a chat request."


def parse(body: bytes) -> dict[str, msgspec.Raw]:
    """Body → its top-level fields, undecoded. Everything a provider later decodes from these
    bytes is then valid UTF-8 and nested no deeper than the interpreter can follow."""
    if not body.isascii():  # ASCII (nearly every body) is valid UTF-8; the check is a word scan
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise core.Error(400, f"Request body is not valid UTF-8 (byte {exc.start}).", code="invalid_json") from None
    try:
        return _fields_decoder.decode(body)
    except msgspec.ValidationError:
        raise core.Error(400, "Request body must be a JSON object.", code="invalid_json") from None
    except msgspec.DecodeError as exc:
        raise core.Error(400, f"Request body is not valid JSON: {exc}", code="invalid_json") from None
    except RecursionError:
        raise core.Error(400, TOO_DEEP, code="invalid_json") from None


def upstream_side(fn: Callable[..., T], *args: Any) -> T:
    """Run a translation of an upstream answer: too deep a structure is the upstream's fault."""
    try:
        return fn(*args)
    except RecursionError:
        raise core.Error(502, "The upstream answered with JSON nested too deeply.", code="upstream_invalid_json") from None


async def offload(size: int, fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` here when `size` is small, in a worker thread from OFFLOAD_BYTES on."""
    if size < OFFLOAD_BYTES:
        return fn(*args)
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="aoa-translate")
    return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)

