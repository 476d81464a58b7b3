"""Server-sent events: the upstream decoder and the downstream framing constants."""

from __future__ import annotations

from itertools import repeat

from providers import core

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
DONE = b"data: [DONE]\n\n"
FAST = True  # the bulk path for plain `data:` events; tests compare it with the line parser


class SSEDecoder:
    """Server-sent events per the WHATWG spec: `\\n`, `\\r\\n` or `\\r` line ends, `event:`,
    multi-line `data:`, `:` comments, events split across reads at any byte."""

    MAX_BUFFER = 16 * 1024 * 1024

    def __init__(self) -> None:
        self.buf = b""
        self.event = ""
        self.data: list[bytes] = []
        self.cr_ended = False  # the last read ended in a CR already taken as a line end

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        if not chunk:
            return []
        buf = self._join(chunk)
        events: list[tuple[str, bytes]] = []
        if FAST and not self.data and not self.event:
            # The common shape — complete plain `data:` events — taken in bulk.
            cut = buf.rfind(b"\n\n")
            if cut > 0 and (parts := plain_events(buf[:cut])) is not None:
                events = [("message", part[6:]) for part in parts]
                buf = buf[cut + 2:]
        self._lines(buf, events)
        return events

    def feed_framed(self, chunk: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
        """`feed` for a relay that checks events in bulk: every complete event of this read
        comes back unparsed, as one block (line ends normalised to LF) that ends where an event
        ends; the events after it come back parsed. The block is *not* known to hold only plain
        `data:` events: a relay proves what it needs by byte counts and writes the block as it
        is, or parses it with `SSEDecoder().feed(block)` (the block starts and ends where the
        parser is between events, so a fresh parser gives exactly its events)."""
        if not chunk:
            return b"", []
        buf = self._join(chunk)
        block = b""
        if FAST and not self.data and not self.event:
            at = buf.rfind(b"\n\n")  # a blank line ends there: the parser is between events
            if at >= 0:
                block, buf = buf[:at + 2], buf[at + 2:]
        events: list[tuple[str, bytes]] = []
        self._lines(buf, events)
        return block, events

    def _join(self, chunk: bytes) -> bytes:
        """What is buffered and this read, line ends normalised to LF."""
        if self.cr_ended and chunk[:1] == b"\n":
            chunk = chunk[1:]  # the LF of a CRLF split across reads: not another line
        self.cr_ended = False
        buf = self.buf + chunk if self.buf else chunk
        if b"\r" in buf:
            # A trailing CR may be the first half of a CRLF split across reads.
            hold = buf.endswith(b"\r")
            if hold:
                buf = buf[:-1]
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if hold:
                buf += b"\r"
        return buf

    def _lines(self, buf: bytes, events: list[tuple[str, bytes]]) -> None:
        *lines, self.buf = buf.split(b"\n")
        if len(self.buf) > self.MAX_BUFFER:
            raise core.Error(502, "The upstream sent an over-long SSE line.", code="upstream_invalid_sse")
        if self.buf.endswith(b"\r"):
            lines.append(self.buf[:-1])
            self.buf = b""
            self.cr_ended = True
        for line in lines:
            self._line(line, events)

    def _line(self, line: bytes, events: list[tuple[str, bytes]]) -> None:
        if not line:
            if self.data:
                events.append((self.event or "message", b"\n".join(self.data)))
                self.data = []
            self.event = ""
            return
        if line[0] == 58:  # ':' comment, e.g. keep-alives and DashScope's `:HTTP_STATUS/200`
            return
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self.data.append(value)
        elif name == b"event":
            self.event = value.decode("utf-8", "replace")

    def close(self) -> list[tuple[str, bytes]]:
        """At EOF: be lenient and deliver a last event that lacked its blank line."""
        events: list[tuple[str, bytes]] = []
        if self.buf:
            self._line(self.buf.rstrip(b"\r"), events)
            self.buf = b""
        self._line(b"", events)
        return events


def plain_events(head: bytes) -> list[bytes] | None:
    """The `data: <one line>` lines of `head` (the text before a blank line) when it holds only
    such events, one blank line apart (no comments, `event:`, multi-line data or stray blank
    lines); else None. A split, a count and one C-level pass over the parts: no Python per event."""
    parts = head.split(b"\n\n")
    if head.count(b"\n") == 2 * len(parts) - 2 and all(map(bytes.startswith, parts, repeat(b"data: "))):
        return parts
    return None


def split_block(block: bytes) -> list[tuple[str, bytes]]:
    """A block from `feed_framed` as events."""
    return [("message", part[6:]) for part in block[:-2].split(b"\n\n")]
