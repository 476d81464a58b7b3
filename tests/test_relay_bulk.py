"""The bulk relay of passthrough streams (gateway/sse.py `feed_framed`, RelayStream.feed_framed,
Downstream.write_framed) gives the client exactly what checking and framing every event one by
one gives: the same bytes, the same error after the same chunks, the same verdict at the end,
and the same usage read — for any mix of event shapes and any split of the stream into reads."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from gateway import exchange
from gateway.logs import Trace
from gateway.sse import SSEDecoder, plain_events, split_block
from gateway.state import TICKET, TRACE
from providers import core
from providers.passthrough import RelayStream


def chunk(text: str, finish: str | None = None, usage: str = "") -> bytes:
    # The shape OpenAI streams (https://platform.openai.com/docs/api-reference/chat-streaming),
    # with `"usage":null` on every chunk once stream_options.include_usage is set.
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
    raw = json.dumps(body, separators=(",", ":"))
    if usage == "null":
        raw = raw[:-1] + ',"usage":null}'
    elif usage == "object":
        raw = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}'
    return b"data: " + raw.encode() + b"\n\n"


PIECES = [
    chunk("a"), chunk("b"), chunk('quote " and data: {'), chunk("x", usage="null"), chunk("y", usage="null"),
    chunk("", "stop"), chunk("", "length", usage="null"), chunk("", usage="object"),
    b'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason": null}]}\n\n',  # spaced null
    b"data: [DONE]\n\n", b"data: [DONE]\r\n\r\n", chunk("crlf").replace(b"\n", b"\r\n"),
    b": keep-alive\n\n", b"event: error\ndata: {\"error\":{\"message\":\"boom\"}}\n\n",
    b'data: {"error":{"message":"quota"}}\n\n', b"data: not json\n\n", b"data: [1,2]\n\n", b"data: \n\n",
    b'data: {"id":"c","choices":[{"delta":{"content":"x"\n\n', b"\n", b'data: {"a":1}\ndata: {"b":2}\n\n',
    b'data: {"choices":[{"finish_reason":"stop"}]\n\n',  # broken, but with a finish_reason
]


class Collect(exchange.Downstream):
    """The real Downstream up to the socket: what it would write is kept."""

    def __init__(self, request, keep_usage: bool) -> None:
        super().__init__(request)
        self.keep_usage = keep_usage
        self.sent: list[bytes] = []

    async def _send(self, data: bytes) -> None:
        self.sent.append(data)


class Resp:
    def __init__(self, reads: list[bytes]) -> None:
        self.content = self
        self.reads = reads

    async def iter_any(self):
        for r in self.reads:
            yield r


async def relay(reads: list[bytes], framed: bool, keep_usage: bool, state=RelayStream) -> tuple[bytes, object, int, int]:
    request = {TRACE: Trace(0.0), TICKET: None}
    down = Collect(request, keep_usage)
    # The reference takes every path one by one: events fed singly, usage stripped chunk by
    # chunk (gateway/usage.py strip_usage), never a block or a bulk replace.
    down.plain = framed
    err: object = None
    try:
        async for batch in exchange._events(request, Resp(reads), state(), framed=framed):
            if type(batch) is bytes:
                await down.write_framed(batch)
            else:
                await down.write(batch)
    except core.Error as e:
        err = (e.status, e.code, e.message)
    trace = request[TRACE]
    return b"".join(down.sent), err, trace.tokens_in, trace.tokens_out


def splits(rng: random.Random, stream: bytes) -> list[bytes]:
    if len(stream) < 2:
        return [stream]
    cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(0, 4))))
    return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]


# Azure's stream normalisation (providers/azure.py) on its own chunk shapes: the first chunk
# carries prompt_filter_results and no choices; a choice may come without a delta.
AZURE = [
    b'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\n\n',
    b'data: {"choices":[{"index":0,"finish_reason":null,"content_filter_results":{}}],"id":"c","object":"chat.completion.chunk"}\n\n',
]


def azure_stream():
    from providers import azure

    return azure.ChatStream(azure.load_settings({"AZURE_ENDPOINT": "https://x.openai.azure.com", "AZURE_API_KEY": "k"}), None)


@pytest.mark.parametrize("kind", ["relay", "azure"])
@pytest.mark.parametrize("seed", range(3))
def test_bulk_relay_matches_one_by_one(seed, kind):
    rng = random.Random(seed)
    common = PIECES[:8]  # weighted towards the shapes real streams have
    state = RelayStream
    if kind == "azure":
        common, state = common + AZURE, azure_stream
        assert state().normalize and state().feed_framed is not None

    async def main() -> None:
        for _ in range(400):
            n = rng.randint(1, 12)
            stream = b"".join(rng.choice(common if rng.random() < 0.7 else PIECES) for _ in range(n))
            reads = splits(rng, stream) if rng.random() < 0.7 else [stream]
            for keep in (True, False):
                one = await relay(reads, framed=False, keep_usage=keep, state=state)
                bulk = await relay(reads, framed=True, keep_usage=keep, state=state)
                assert bulk == one, (stream, reads, keep)

    asyncio.run(main())


def test_a_plain_burst_is_one_block_written_as_it_came():
    body = b"".join(chunk(str(i)) for i in range(50)) + chunk("", "stop") + b"data: [DONE]\n\n"

    async def main() -> None:
        request = {TRACE: Trace(0.0), TICKET: None}
        batches = [b async for b in exchange._events(request, Resp([body]), RelayStream(), framed=True)]
        assert batches == [body[:-14]]  # one block, [DONE] left to aoa's own ending

    asyncio.run(main())


def test_plain_events_takes_only_whole_plain_events():
    assert plain_events(b"data: a\n\ndata: b") == [b"data: a", b"data: b"]
    for head in (b"data: a\n\n\n\ndata: b", b"data: a\ndata: b", b": hi\n\ndata: a", b"data: a\n\nevent: e\ndata: b",
                 b"data: a\n\n\ndata: b", b"data:a", b"\n\ndata: a", b"id: 1\ndata: a"):
        assert plain_events(head) is None, head
    block = b"data: 1\n\ndata: {}\n\n"
    assert split_block(block) == [("message", b"1"), ("message", b"{}")]


def test_usage_nulls_dropped_in_bulk_only_when_the_client_did_not_ask():
    body = chunk("a", usage="null") + chunk("", "stop", usage="null")

    async def main() -> None:
        for keep, want in ((True, body), (False, body.replace(b',"usage":null', b""))):
            got, err, _, _ = await relay([body], framed=True, keep_usage=keep)
            assert (got, err) == (want, None)

    asyncio.run(main())


def test_decoder_blocks_and_events_together_are_feed():
    rng = random.Random(11)
    for _ in range(300):
        stream = b"".join(rng.choice(PIECES) for _ in range(rng.randint(1, 20)))
        reads = splits(rng, stream)
        a, b = SSEDecoder(), SSEDecoder()
        whole = [e for r in reads for e in a.feed(r)] + a.close()
        parts = []
        for r in reads:
            block, events = b.feed_framed(r)
            parts += SSEDecoder().feed(block)  # a block starts and ends between events
            parts += events
        assert parts + b.close() == whole
