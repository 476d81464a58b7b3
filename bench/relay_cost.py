"""aoa's own work to relay a stream, per chunk, without sockets: a 500-chunk burst from the fake
upstream's own bytes (two reads, as aiohttp delivers it) through the SSE decoder, the provider's
stream state and the downstream framing (`gateway/exchange.py`), for passthrough and Gemini.

The minimum of repeated runs in one process is steady on a
shared machine where end-to-end ratios swing by ±20 %. Compare two trees side by side:

    bench/.venv/bin/python bench/relay_cost.py                # this tree
    bench/.venv/bin/python bench/relay_cost.py /path/to/other # another checkout (before/after)
"""

from __future__ import annotations

import asyncio
import sys
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import fake_upstream  # noqa: E402
from gateway import exchange  # noqa: E402
from gateway.logs import Trace  # noqa: E402
from gateway.state import TICKET, TRACE  # noqa: E402
from providers import core, passthrough  # noqa: E402
from providers.gemini import stream as gemini_stream  # noqa: E402

CHUNKS = 500


class _Reads:
    def __init__(self, reads: list[bytes]) -> None:
        self.content = self
        self.reads = reads

    async def iter_any(self):
        for r in self.reads:
            yield r


class _Sink:
    async def write(self, data: bytes) -> None:
        pass


class _Down(exchange.Downstream):
    """The real Downstream up to the socket."""

    def __init__(self, request) -> None:
        super().__init__(request)
        self.response = _Sink()
        self.keep_usage = False  # aoa asked for usage; the client did not


def _burst(kind: str) -> list[bytes]:
    _, opening, chunk, last = fake_upstream.STREAMS[kind]
    body = opening + chunk * (CHUNKS - 1) + last
    return [body[:65536], body[65536:]]


async def _relay(reads: list[bytes], state) -> None:
    request = {TRACE: Trace(), TICKET: None}
    down = _Down(request)
    framed = getattr(down, "plain", None)  # absent in trees without the bulk relay
    kwargs = {"framed": True} if framed else {}
    async for batch in exchange._events(request, _Reads(reads), state, **kwargs):
        if type(batch) is bytes:
            await down.write_framed(batch)
        else:
            await down.write(batch)


def main() -> None:
    call = core.Call(id="chatcmpl-bench", created=1, model="bench", client_model="bench", key="", stream=True, include_usage=True)
    loop = asyncio.new_event_loop()
    for kind, state in (("openai", lambda: passthrough.RelayStream()), ("gemini", lambda: gemini_stream.ChatStream(None, call))):
        reads = _burst(kind)
        best = min(timeit.repeat(lambda: loop.run_until_complete(_relay(reads, state())), number=20, repeat=9))
        print(f"{kind:8s} {best / 20 / CHUNKS * 1e6:6.3f} µs per chunk   ({ROOT})")


if __name__ == "__main__":
    main()
