"""Server-sent events: the upstream decoder and the downstream framing constants."""

from __future__ import annotations

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
        events: list[tuple[str, bytes]] = []
        if FAST and not self.data and not self.event:
            buf = self._whole_data_events(buf, events)
        *lines, self.buf = buf.split(b"\n")
        if len(self.buf) > self.MAX_BUFFER:
            raise core.Error(502, "The upstream sent an over-long SSE line.", code="upstream_invalid_sse")
        if self.buf.endswith(b"\r"):
            lines.append(self.buf[:-1])
            self.buf = b""
            self.cr_ended = True
        for line in lines:
            self._line(line, events)
        return events

    @staticmethod
    def _whole_data_events(buf: bytes, events: list[tuple[str, bytes]]) -> bytes:
        """The common shape — complete `data: <one line>` events, nothing else — taken in bulk
        (a burst of 500 chunks is one split instead of a thousand `_line` calls); anything else
        (comments, `event:`, multi-line data, stray blank lines) is left to the line parser.
        Returns what is left to parse."""
        cut = buf.rfind(b"\n\n")
        if cut <= 0:
            return buf
        head = buf[:cut]
        parts = head.split(b"\n\n")
        if head.count(b"\n") != 2 * (len(parts) - 1):
            return buf  # a multi-line event or stray blank lines somewhere
        for part in parts:
            if part[:6] != b"data: ":
                return buf
        events += [("message", part[6:]) for part in parts]
        return buf[cut + 2:]

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
