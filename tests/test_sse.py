"""gateway.sse.SSEDecoder against the WHATWG event-stream rules, fed in every possible split."""

from __future__ import annotations

import pytest

from gateway.sse import SSEDecoder
from providers import core

STREAM = (
    b": keep-alive comment\n"
    b"data: {\"a\":1}\n\n"
    b"event: error\ndata: {\"b\":2}\n\n"
    b"data: line one\ndata: line two\n\n"
    b"data:no-space\n\n"
    b"id: 7\nretry: 100\ndata: [DONE]\n\n"
)
EXPECTED = [
    ("message", b'{"a":1}'),
    ("error", b'{"b":2}'),
    ("message", b"line one\nline two"),
    ("message", b"no-space"),
    ("message", b"[DONE]"),
]


def decode(chunks: list[bytes]) -> list[tuple[str, bytes]]:
    d = SSEDecoder()
    out = []
    for c in chunks:
        out += d.feed(c)
    return out + d.close()


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_endings(eol):
    assert decode([STREAM.replace(b"\n", eol)]) == EXPECTED


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_every_split_point(eol):
    data = STREAM.replace(b"\n", eol)
    for i in range(len(data) + 1):
        assert decode([data[:i], data[i:]]) == EXPECTED, (eol, i)


def test_byte_by_byte_crlf():
    data = STREAM.replace(b"\n", b"\r\n")
    assert decode([data[i : i + 1] for i in range(len(data))]) == EXPECTED


def test_three_way_splits_crlf():
    data = STREAM.replace(b"\n", b"\r\n")[:60]
    want = decode([data])
    for i in range(len(data)):
        for j in range(i, len(data)):
            assert decode([data[:i], data[i:j], data[j:]]) == want


def test_mixed_line_endings():
    assert decode([b"data: a\r\n\rdata: b\n\r\ndata: c\r\r"]) == [("message", b"a"), ("message", b"b"), ("message", b"c")]


def test_comments_and_empty_events_yield_nothing():
    assert decode([b": ping\n\n:HTTP_STATUS/200\n\n\n\n"]) == []


def test_event_name_resets_after_dispatch():
    assert decode([b"event: x\ndata: 1\n\ndata: 2\n\n"]) == [("x", b"1"), ("message", b"2")]


def test_event_without_data_is_not_dispatched():
    assert decode([b"event: x\n\ndata: 2\n\n"]) == [("message", b"2")]


def test_long_line_across_reads():
    payload = b"x" * 1_000_000
    chunks = [b"data: "] + [payload[i : i + 4096] for i in range(0, len(payload), 4096)] + [b"\n\n"]
    assert decode(chunks) == [("message", payload)]


def test_over_long_line_is_refused():
    d = SSEDecoder()
    d.MAX_BUFFER = 1000
    with pytest.raises(core.Error) as info:
        d.feed(b"data: " + b"x" * 2000)
    assert info.value.status == 502


@pytest.mark.parametrize("tail", [b"data: last", b"data: last\n", b"data: last\r", b"data: last\r\n"])
def test_no_trailing_blank_line_at_eof(tail):
    assert decode([b"data: first\n\n" + tail]) == [("message", b"first"), ("message", b"last")]


def test_utf8_split_inside_a_character():
    data = "data: héllo 世界\n\n".encode()
    for i in range(len(data)):
        events = decode([data[:i], data[i:]])
        assert events == [("message", "héllo 世界".encode())]
