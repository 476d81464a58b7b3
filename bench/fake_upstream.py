"""A fast fake upstream for benchmarks: OpenAI chat completions, Gemini generateContent and
Anthropic messages.

Raw asyncio.Protocol answering canned bytes, so that it is never the bottleneck. A model named
`chunks-N` (in the JSON body for OpenAI and Anthropic, in the URL for Gemini) makes a stream of N
chunks; other streams have 20. Usage: python fake_upstream.py PORT
"""

from __future__ import annotations

import asyncio
import json
import re
import sys

OPENAI_JSON = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop", "logprobs": None}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}, separators=(",", ":")).encode()
OPENAI_CHUNK = b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
OPENAI_LAST = b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'

GEMINI_PART = {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "index": 0}]}
GEMINI_FINAL = {
    "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "totalTokenCount": 6},
    "modelVersion": "bench",
}
GEMINI_JSON = json.dumps(GEMINI_FINAL, separators=(",", ":")).encode()
GEMINI_CHUNK = b"data: " + json.dumps(GEMINI_PART, separators=(",", ":")).encode() + b"\r\n\r\n"
GEMINI_LAST = b"data: " + GEMINI_JSON + b"\r\n\r\n"

# Anthropic's named events; a stream of N chunks carries N text deltas, as Gemini's carries N parts.
ANTHROPIC_JSON = json.dumps({
    "id": "msg_bench", "type": "message", "role": "assistant", "model": "bench",
    "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 5, "output_tokens": 1},
}, separators=(",", ":")).encode()


def _event(name: str, data: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + json.dumps({"type": name, **data}, separators=(",", ":")).encode() + b"\n\n"


ANTHROPIC_OPEN = (
    _event("message_start", {"message": {"id": "msg_bench", "type": "message", "role": "assistant", "model": "bench", "content": [],
                                          "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}})
    + _event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    + _event("ping", {})
)
ANTHROPIC_CHUNK = _event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "hi"}})
ANTHROPIC_LAST = (
    ANTHROPIC_CHUNK
    + _event("content_block_stop", {"index": 0})
    + _event("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 1}})
    + _event("message_stop", {})
)

# kind: (content type, bytes before the first chunk, chunk, last chunk with the stream's end)
STREAMS = {
    "openai": ("text/event-stream", b"", OPENAI_CHUNK, OPENAI_LAST),
    "gemini": ("text/event-stream", b"", GEMINI_CHUNK, GEMINI_LAST),
    "anthropic": ("text/event-stream; charset=utf-8", ANTHROPIC_OPEN, ANTHROPIC_CHUNK, ANTHROPIC_LAST),
}

MODEL_CHUNKS = re.compile(rb"chunks-(\d+)(-gap)?")
GAP_S = 0.003  # `chunks-N-gap`: the rest of the stream follows the first chunk after this pause
STREAM_TRUE = re.compile(rb'"stream"\s*:\s*true')


def _head(status: str, ctype: str, length: int | None) -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n"
    return f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n{size}Connection: keep-alive\r\n\r\n".encode()


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


_cache: dict[tuple[str, int], tuple[bytes, bytes]] = {}


def stream_bytes(kind: str, n: int) -> tuple[bytes, bytes]:
    """(first write, rest): the first chunk goes alone so time-to-first-chunk means something."""
    key = (kind, n)
    if key not in _cache:
        ctype, opening, chunk, last = STREAMS[kind]
        first = _head("200 OK", ctype, None) + _chunked(opening + chunk)
        rest = _chunked(chunk * max(n - 2, 0) + last) + b"0\r\n\r\n"
        _cache[key] = (first, rest)
    return _cache[key]


def json_bytes(body: bytes) -> bytes:
    return _head("200 OK", "application/json", len(body)) + body


OPENAI_REPLY = json_bytes(OPENAI_JSON)
GEMINI_REPLY = json_bytes(GEMINI_JSON)
ANTHROPIC_REPLY = json_bytes(ANTHROPIC_JSON)
NOT_FOUND = json_bytes(b'{"error":{"message":"not found"}}').replace(b"200 OK", b"404 Not Found", 1)
HEALTH = json_bytes(b'{"status":"ok"}')


class Upstream(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4: end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            self.answer(head.split(b"\r\n", 1)[0], body)

    def answer(self, line: bytes, body: bytes) -> None:
        path = line.split(b" ")[1]
        write = self.transport.write
        if path.endswith(b"/chat/completions"):
            if STREAM_TRUE.search(body):
                self.stream("openai", MODEL_CHUNKS.search(body[:4096]))
            else:
                write(OPENAI_REPLY)
        elif path.endswith(b"/v1/messages"):
            if STREAM_TRUE.search(body):
                self.stream("anthropic", MODEL_CHUNKS.search(body[:4096]))
            else:
                write(ANTHROPIC_REPLY)
        elif b":streamGenerateContent" in path:
            self.stream("gemini", MODEL_CHUNKS.search(path))
        elif b":generateContent" in path:
            write(GEMINI_REPLY)
        elif path in (b"/healthz", b"/"):
            write(HEALTH)
        else:
            write(NOT_FOUND)

    def stream(self, kind: str, m: re.Match | None) -> None:
        first, rest = stream_bytes(kind, int(m.group(1)) if m else 20)
        self.transport.write(first)
        if m and m.group(2):
            asyncio.get_running_loop().call_later(GAP_S, self.transport.write, rest)
        else:
            self.transport.write(rest)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Upstream, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
