"""Responses API streaming: chat.completion.chunk payloads → Responses events, and the relay of
an upstream's own events."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from ..core import Error
from .request import _encode
from .response import (
    FINISH, FunctionCallItem, MessageItem, OutputText, ReasoningItem, Refusal, Response, ResponseError, SummaryText,
    UsageIn, _call_item, _finish, _usage, carrier,
)

# --- streaming ------------------------------------------------------------------------------


class _FunctionDeltaIn(Struct, frozen=True):
    name: str | None = None
    arguments: str | None = None


class _ToolDeltaIn(Struct, frozen=True):
    # Some OpenAI-compatible servers leave out `index` when there is one call.
    index: int | None = 0
    id: str | None = None
    function: _FunctionDeltaIn | None = None


class _DeltaIn(Struct, frozen=True):
    content: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    tool_calls: list[_ToolDeltaIn] | None = None


# OpenAI-compatible servers send `null` where OpenAI sends a value or nothing: read it as absent.
class _ChoiceIn(Struct):
    index: int | None = 0
    delta: _DeltaIn | None = None
    finish_reason: str | None = None


class _ChunkIn(Struct):
    choices: list[_ChoiceIn] | None = None
    model: str | None = None
    usage: UsageIn | None = None


_NO_DELTA = _DeltaIn()
_NO_FUNCTION = _FunctionDeltaIn()
_chunk_decoder = msgspec.json.Decoder(_ChunkIn)


def frame(kind: str, data: bytes) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


class ResponseStream:
    """chat.completion.chunk payloads → framed Responses SSE events, in the order the SDKs'
    accumulators require: an item is `added` before its deltas and `done` before the response
    completes; every event carries the next `sequence_number`."""

    def __init__(self, skel: Response, *, encrypted: bool, ns: dict[str, str] | None = None) -> None:
        self.response = skel
        self.ns = ns or {}
        self.base = skel.id.removeprefix("resp_")
        self.encrypted = encrypted
        self.seq = 0
        self.started = False
        self.open: MessageItem | ReasoningItem | None = None
        self.open_index = 0
        self.text: list[str] = []
        # The open message's parts: their content_index (None: not opened), in order of arrival.
        self.text_index: int | None = None
        self.refusal_index: int | None = None
        self.refusal: list[str] = []
        self.refusal_head = b""
        self.calls: dict[int, tuple[FunctionCallItem, list[str], int, bytes]] = {}
        self.head = b""  # the open item's delta-event head
        self.finish: str | None = None
        self.usage: UsageIn | None = None
        self.model = ""

    def _event(self, kind: str, **fields: Any) -> bytes:
        fields["type"] = kind
        fields["sequence_number"] = self.seq
        self.seq += 1
        return frame(kind, _encode(fields))

    def _delta_head(self, kind: str, **fields: Any) -> bytes:
        """The constant part of an item's delta events, encoded once when the item opens: a
        delta then costs one string encode instead of a whole event."""
        fields["type"] = kind
        head = _encode(fields)[:-1]  # without the closing brace
        return b"event: " + kind.encode() + b"\ndata: " + head + b',"sequence_number":'

    def _delta(self, head: bytes, delta: str) -> bytes:
        seq = self.seq
        self.seq = seq + 1
        return head + str(seq).encode() + b',"delta":' + _encode(delta) + b"}\n\n"

    def start(self) -> list[bytes]:
        self.started = True
        return [
            self._event("response.created", response=self.response),
            self._event("response.in_progress", response=self.response),
        ]

    def feed(self, payload: bytes) -> list[bytes]:
        out = [] if self.started else self.start()
        try:
            chunk = _chunk_decoder.decode(payload)
        except msgspec.DecodeError:
            raise Error(502, "The upstream sent a chunk that is not a chat.completion.chunk.", code="upstream_invalid_json") from None
        if not self.model:
            self.model = chunk.model or ""
        if chunk.usage is not None:
            self.usage = chunk.usage
        for c in chunk.choices or ():
            if c.index:
                continue
            d = c.delta or _NO_DELTA
            # The common chunk (one piece of text for the open message) costs one append.
            if d.reasoning_content:
                if not isinstance(self.open, ReasoningItem):
                    self._open_reasoning(out)
                self.text.append(d.reasoning_content)
                out.append(self._delta(self.head, d.reasoning_content))
            if d.content:
                if self.text_index is None:  # also when no message is open
                    self._open_part(out, refusal=False)
                self.text.append(d.content)
                out.append(self._delta(self.head, d.content))
            if d.refusal:
                if self.refusal_index is None:
                    self._open_part(out, refusal=True)
                self.refusal.append(d.refusal)
                out.append(self._delta(self.refusal_head, d.refusal))
            for tc in d.tool_calls or ():
                out += self._tool(tc)
            if c.finish_reason:
                self.finish = c.finish_reason
        return out

    def _index(self) -> int:
        return len(self.response.output)

    def _open_reasoning(self, out: list[bytes]) -> None:
        out += self._close()
        index = self._index()
        item = ReasoningItem(id=f"rs_{self.base}_{index}", summary=[])
        self.open, self.open_index, self.text = item, index, []
        self.response.output.append(item)
        out.append(self._event("response.output_item.added", output_index=index, item=item))
        out.append(self._event("response.reasoning_summary_part.added", item_id=item.id, output_index=index,
                               summary_index=0, part=SummaryText(text="")))
        self.head = self._delta_head("response.reasoning_summary_text.delta", item_id=item.id,
                                     output_index=index, summary_index=0)

    def _open_message(self, out: list[bytes]) -> None:
        out += self._close()
        index = self._index()
        item = MessageItem(id=f"msg_{self.base}_{index}", status="in_progress", content=[])
        self.open, self.open_index, self.text, self.refusal = item, index, [], []
        self.response.output.append(item)
        out.append(self._event("response.output_item.added", output_index=index, item=item))

    def _open_part(self, out: list[bytes], *, refusal: bool) -> None:
        """Open the message's text or refusal part (a refusal is its own part, as in OpenAI's
        streams and in the answer `from_chat` builds)."""
        if not isinstance(self.open, MessageItem):
            self._open_message(out)
        item, index = self.open, self.open_index
        assert isinstance(item, MessageItem)
        ci = (self.text_index is not None) + (self.refusal_index is not None)
        part: OutputText | Refusal
        if refusal:
            self.refusal_index, part = ci, Refusal(refusal="")
            self.refusal_head = self._delta_head("response.refusal.delta", item_id=item.id, output_index=index, content_index=ci)
        else:
            self.text_index, part = ci, OutputText(text="")
            self.head = self._delta_head("response.output_text.delta", item_id=item.id, output_index=index,
                                         content_index=ci, logprobs=[])
        out.append(self._event("response.content_part.added", item_id=item.id, output_index=index, content_index=ci, part=part))

    def _tool(self, tc: _ToolDeltaIn) -> list[bytes]:
        out: list[bytes] = []
        fn = tc.function or _NO_FUNCTION
        slot = self.calls.get(tc.index or 0)
        if slot is None:
            out += self._close()
            item = _call_item(f"fc_{self.base}_{self._index()}", tc.id or "", fn.name or "", "", "in_progress", self.ns)
            head = self._delta_head("response.function_call_arguments.delta", item_id=item.id, output_index=self._index())
            slot = (item, [], self._index(), head)
            self.calls[tc.index or 0] = slot
            self.response.output.append(item)
            out.append(self._event("response.output_item.added", output_index=slot[2], item=item))
        args = fn.arguments
        if args:
            slot[1].append(args)
            out.append(self._delta(slot[3], args))
        return out

    def _close(self) -> list[bytes]:
        """Finish the open reasoning or message item."""
        item, text = self.open, "".join(self.text)
        text_index, refusal_index = self.text_index, self.refusal_index
        self.open = self.text_index = self.refusal_index = None
        if item is None:
            return []
        index = self.open_index
        if isinstance(item, ReasoningItem):
            part = SummaryText(text=text)
            item.summary = [part]
            if self.encrypted:
                item.encrypted_content = carrier(text)
            return [
                self._event("response.reasoning_summary_text.done", item_id=item.id, output_index=index, summary_index=0, text=text),
                self._event("response.reasoning_summary_part.done", item_id=item.id, output_index=index, summary_index=0, part=part),
                self._event("response.output_item.done", output_index=index, item=item),
            ]
        status, _ = FINISH.get(self.finish or "stop", ("completed", None))
        parts: list[tuple[int, OutputText | Refusal]] = []
        if text_index is not None:
            parts.append((text_index, OutputText(text=text)))
        if refusal_index is not None:
            parts.append((refusal_index, Refusal(refusal="".join(self.refusal))))
        parts.sort(key=lambda p: p[0])
        item.content = [p for _, p in parts]
        item.status = status
        out = []
        for ci, part in parts:
            if isinstance(part, OutputText):
                out.append(self._event("response.output_text.done", item_id=item.id, output_index=index, content_index=ci, text=part.text, logprobs=[]))
            else:
                out.append(self._event("response.refusal.done", item_id=item.id, output_index=index, content_index=ci, refusal=part.refusal))
            out.append(self._event("response.content_part.done", item_id=item.id, output_index=index, content_index=ci, part=part))
        out.append(self._event("response.output_item.done", output_index=index, item=item))
        return out

    def close(self, completed_at: int) -> list[bytes]:
        """At the end of the chat stream: finish every item, then the response."""
        out = [] if self.started else self.start()
        out += self._close()
        for item, args, index, _ in self.calls.values():
            item.arguments = "".join(args)
            item.status = "completed"
            out.append(self._event("response.function_call_arguments.done", item_id=item.id, output_index=index,
                                   name=item.name, arguments=item.arguments))
            out.append(self._event("response.output_item.done", output_index=index, item=item))
        r = self.response
        r.model = self.model or r.model
        r.usage = _usage(self.usage)
        _finish(r, self.finish, completed_at)
        kind = "response.completed" if r.status == "completed" else "response.incomplete"
        out.append(self._event(kind, response=r))
        return out

    def fail(self, err: Error) -> list[bytes]:
        """The chat stream broke: an `error` event, then `response.failed`."""
        out = [] if self.started else self.start()
        out.append(self._event("error", code=err.code or err.type, message=err.message, param=err.param))
        r = self.response
        r.status = "failed"
        r.error = ResponseError(code=_failed_code(err), message=err.message)
        out.append(self._event("response.failed", response=r))
        return out


# `response.error.code` is a closed set in the SDK's types; the `error` event keeps the original.
FAILED_CODES = frozenset({"server_error", "rate_limit_exceeded", "invalid_prompt"})


def _failed_code(err: Error) -> str:
    if err.code in FAILED_CODES:
        return err.code  # type: ignore[return-value]
    return "rate_limit_exceeded" if err.status == 429 else "server_error"


class _EventIn(Struct):
    type: str = ""
    code: str | None = None
    message: str | None = None
    param: str | None = None


class _IdIn(Struct, frozen=True):
    id: str | None = None


class _CreatedIn(Struct):
    response: _IdIn = _IdIn()


_event_decoder = msgspec.json.Decoder(_EventIn)
_created_decoder = msgspec.json.Decoder(_CreatedIn)
_id_decoder = msgspec.json.Decoder(_IdIn)


def relayed_id(body: bytes) -> str | None:
    """The id of a response object the upstream answered (relay mode), if it has one."""
    try:
        return _id_decoder.decode(body).id
    except msgspec.DecodeError:
        return None
# Events after which a Responses stream is over; one that stops before any was cut off.
TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})
_SHOWN = 200  # bytes of a malformed upstream event quoted in the error


class RelayEvents:
    """Relay mode: the upstream's own Responses events, each re-framed with its `event:` name.

    Each event's framing is checked (a JSON object), so an HTML page or a line cut off with its
    connection becomes an error rather than garbage the SDK chokes on; the stream must end with
    a terminal event (`response.completed`, `.incomplete`, `.failed` or `error`). An `error`
    event before anything was relayed becomes the HTTP error it stands for."""

    def __init__(self, settings: Any = None, call: Any = None) -> None:
        self.relayed = 0  # events relayed: the next sequence number when the upstream numbers from 0
        self.ended = False
        self.id: str | None = None  # the upstream's response id, from `response.created`

    def feed(self, event: str, data: bytes) -> list[bytes]:
        if not data or data == b"[DONE]":
            return []
        kind = event
        if data[:1] != b"{" or data[-1:] != b"}" or not kind or kind == "error":
            try:
                parsed = _event_decoder.decode(data)
            except msgspec.DecodeError:
                shown = data[:_SHOWN].decode("utf-8", "replace")
                raise Error(502, f"The upstream sent a stream event that is not a JSON object: {shown!r}", code="upstream_invalid_sse") from None
            kind = kind or parsed.type
            if kind == "error" and not self.relayed:
                raise Error(502, f"The upstream failed: {parsed.message or 'no message'}", code=parsed.code or "upstream_error", param=parsed.param)
        if kind == "response.created" and self.id is None:
            try:
                self.id = _created_decoder.decode(data).response.id
            except msgspec.DecodeError:
                raise Error(502, "The upstream's response.created event has no response.", code="upstream_invalid_sse") from None
        self.ended = self.ended or kind in TERMINAL
        self.relayed += 1
        return [frame(event, data) if event else b"data: " + data + b"\n\n"]

    def close(self) -> list[bytes]:
        if not self.relayed:
            raise Error(502, "The upstream closed the stream without sending anything.", code="upstream_empty_stream")
        if not self.ended:
            raise Error(502, "The upstream stream ended before response.completed: the answer is cut off.", code="upstream_truncated")
        return []
