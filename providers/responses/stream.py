"""Responses API streaming: chat.completion.chunk payloads → Responses events, and the relay of
an upstream's own events."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from .. import oai
from ..core import Error
from .request import _encode
from .response import (
    FINISH, FunctionCallItem, MessageItem, OutputText, ReasoningItem, Response, ResponseError, SummaryText,
    _call_item, _finish, _usage, carrier,
)

# --- streaming ------------------------------------------------------------------------------


class _FunctionDeltaIn(Struct, frozen=True):
    name: str | None = None
    arguments: str | None = None


class _ToolDeltaIn(Struct, frozen=True):
    # Some OpenAI-compatible servers leave out `index` when there is one call.
    index: int = 0
    id: str | None = None
    function: _FunctionDeltaIn = _FunctionDeltaIn()


class _DeltaIn(Struct, frozen=True):
    content: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    tool_calls: list[_ToolDeltaIn] | None = None


class _ChoiceIn(Struct):
    index: int = 0
    delta: _DeltaIn = _DeltaIn()
    finish_reason: str | None = None


class _ChunkIn(Struct):
    choices: list[_ChoiceIn] = []
    model: str = ""
    usage: oai.Usage | None = None


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
        self.text: list[str] = []
        self.calls: dict[int, tuple[FunctionCallItem, list[str], int, bytes]] = {}
        self.head = b""  # the open item's delta-event head
        self.finish: str | None = None
        self.usage: oai.Usage | None = None
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
            self.model = chunk.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        for c in chunk.choices:
            if c.index:
                continue
            d = c.delta
            # The common chunk (one piece of text for the open message) costs one append.
            if d.reasoning_content:
                if not isinstance(self.open, ReasoningItem):
                    self._open_reasoning(out)
                self.text.append(d.reasoning_content)
                out.append(self._delta(self.head, d.reasoning_content))
            text = d.content or d.refusal
            if text:
                if not isinstance(self.open, MessageItem):
                    self._open_message(out)
                if d.content and d.refusal:  # never seen in one delta, but keep both
                    text += d.refusal
                self.text.append(text)
                out.append(self._delta(self.head, text))
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
        self.open, self.text = item, []
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
        self.open, self.text = item, []
        self.response.output.append(item)
        out.append(self._event("response.output_item.added", output_index=index, item=item))
        out.append(self._event("response.content_part.added", item_id=item.id, output_index=index,
                               content_index=0, part=OutputText(text="")))
        self.head = self._delta_head("response.output_text.delta", item_id=item.id, output_index=index,
                                     content_index=0, logprobs=[])

    def _tool(self, tc: _ToolDeltaIn) -> list[bytes]:
        out: list[bytes] = []
        fn = tc.function
        slot = self.calls.get(tc.index)
        if slot is None:
            out += self._close()
            item = _call_item(f"fc_{self.base}_{self._index()}", tc.id or "", fn.name or "", "", "in_progress", self.ns)
            head = self._delta_head("response.function_call_arguments.delta", item_id=item.id, output_index=self._index())
            slot = (item, [], self._index(), head)
            self.calls[tc.index] = slot
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
        self.open = None
        if item is None:
            return []
        index = self.response.output.index(item)
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
        part = OutputText(text=text)
        item.content = [part]
        item.status = status
        return [
            self._event("response.output_text.done", item_id=item.id, output_index=index, content_index=0, text=text, logprobs=[]),
            self._event("response.content_part.done", item_id=item.id, output_index=index, content_index=0, part=part),
            self._event("response.output_item.done", output_index=index, item=item),
        ]

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
        r.error = ResponseError(code="server_error" if err.status >= 500 else (err.code or "invalid_request"), message=err.message)
        out.append(self._event("response.failed", response=r))
        return out


class RelayEvents:
    """Relay mode: the upstream's own Responses events, each re-framed with its `event:` name."""

    def __init__(self, settings: Any = None, call: Any = None) -> None:
        self.relayed = False

    def feed(self, event: str, data: bytes) -> list[bytes]:
        if not data or data == b"[DONE]":
            return []
        self.relayed = True
        return [frame(event, data) if event else b"data: " + data + b"\n\n"]

    def close(self) -> list[bytes]:
        if not self.relayed:
            raise Error(502, "The upstream closed the stream without sending anything.", code="upstream_empty_stream")
        return []
