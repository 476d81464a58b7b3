"""Anthropic Messages stream events → OpenAI chat.completion.chunk payloads.

Events: https://platform.claude.com/docs/en/build-with-claude/streaming and the SDK's
`anthropic/types/raw_message_stream_event.py`. Real streams pad the JSON with spaces before the
closing brace (`{...}     }`): JSON allows it, msgspec reads it as is.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from .. import oai
from ..core import Call, Error
from . import ids, tables
from .response import ContentBlock, Message, StopDetails, Usage, carried, refusal_text, error, fallback_tool_id, finish_reason, merge_usage, usage


class MessageStart(Struct, tag="message_start", tag_field="type"):
    message: Message


class ContentBlockStart(Struct, tag="content_block_start", tag_field="type"):
    index: int
    content_block: ContentBlock


class _BlockDelta(Struct):
    type: str = ""
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None


class ContentBlockDelta(Struct, tag="content_block_delta", tag_field="type"):
    index: int
    delta: _BlockDelta


class ContentBlockStop(Struct, tag="content_block_stop", tag_field="type"):
    index: int


class _MessageDeltaBody(Struct, frozen=True):
    stop_reason: str | None = None
    stop_details: StopDetails | None = None


class MessageDelta(Struct, tag="message_delta", tag_field="type"):
    delta: _MessageDeltaBody = _MessageDeltaBody()
    usage: Usage | None = None


class MessageStop(Struct, tag="message_stop", tag_field="type"):
    pass


class Ping(Struct, tag="ping", tag_field="type"):
    pass


class ErrorEvent(Struct, tag="error", tag_field="type"):
    error: Any = None


Event = MessageStart | ContentBlockStart | ContentBlockDelta | ContentBlockStop | MessageDelta | MessageStop | Ping | ErrorEvent
KNOWN_EVENTS = frozenset(t.__struct_config__.tag for t in Event.__args__)  # type: ignore[attr-defined]


class _Type(Struct):
    type: str = ""


_event_decoder = msgspec.json.Decoder(Event)
_type_decoder = msgspec.json.Decoder(_Type)
_encode = msgspec.json.Encoder().encode

# What a content block index turned out to be.
TEXT, THINKING, TOOL, ANSWER, OTHER = range(5)


class ChatStream:
    """Per-request state: one role chunk at message_start, text/reasoning/tool-call deltas as
    they come, one finish_reason at message_delta, the usage chunk at the end."""

    def __init__(self, call: Call, answer_tool: bool) -> None:
        self.call = call
        self.answer_tool = answer_tool
        self.id = call.id
        self.model = call.model
        self.usage = Usage()
        self.kinds: dict[int, int] = {}
        self.tool_index: dict[int, int] = {}  # block index → OpenAI tool call index
        self.thinking: dict[int, list[str]] = {}
        self.signature: dict[int, list[str]] = {}  # pieces, joined at the block's end
        self.pending: ids.Carried = []  # thinking blocks waiting for the next tool call
        self.argued: set[int] = set()  # tool blocks whose input_json_delta has begun
        # A tool block's `input` at its start; the SDK replaces it with the streamed JSON when
        # there is any, so it is sent only at the block's end, when none came.
        self.started_input: dict[int, str] = {}
        self.started = False
        self.finished = False

    def _chunk(self, delta: oai.Delta, finish: str | None = None) -> bytes:
        chunk = oai.ChatCompletionChunk(
            id=self.id, created=self.call.created, model=self.model,
            choices=[oai.ChunkChoice(index=0, delta=delta, finish_reason=finish)],
        )
        if self.call.include_usage:
            chunk.usage = None
        return oai.encode(chunk)

    def feed(self, event: str, data: bytes) -> list[bytes]:
        if not data.strip():
            return []
        try:
            ev = _event_decoder.decode(data)
        except msgspec.ValidationError:
            # New event types may appear at any time: https://platform.claude.com/docs/en/build-with-claude/streaming#other-events
            kind = self._type(data)
            if kind not in KNOWN_EVENTS:
                return []
            raise Error(502, f"Anthropic sent a malformed {kind!r} event.", code="upstream_invalid_json") from None
        except msgspec.DecodeError as exc:
            raise Error(502, f"Anthropic sent a stream event that is not JSON: {exc}", code="upstream_invalid_json") from None
        if isinstance(ev, ContentBlockDelta):  # the common case first
            return self._delta(ev)
        if isinstance(ev, MessageStart):
            return self._start(ev.message)
        if isinstance(ev, ContentBlockStart):
            return self._block_start(ev.index, ev.content_block)
        if isinstance(ev, ContentBlockStop):
            kind = self.kinds.get(ev.index)
            if kind == THINKING:
                text = "".join(self.thinking.pop(ev.index, ()))
                self.pending.append(("t", text, "".join(self.signature.pop(ev.index, ()))))
            elif kind in (TOOL, ANSWER) and ev.index not in self.argued:
                # A tool without parameters streams no JSON (or only ""); the SDK's input stays
                # what the block started with (`{}`), and so must the client's arguments, as in
                # the non-stream answer.
                self.argued.add(ev.index)
                return [self._arguments(ev.index, kind, self.started_input.pop(ev.index, "") or "{}")]
            return []
        if isinstance(ev, MessageDelta):
            return self._message_delta(ev)
        if isinstance(ev, ErrorEvent):
            raise error(tables.ERROR_FALLBACK_STATUS, data, streaming=True)
        return []  # ping, message_stop

    def _type(self, data: bytes) -> str:
        try:
            return _type_decoder.decode(data).type
        except msgspec.DecodeError:
            return ""

    def _start(self, message: Message) -> list[bytes]:
        if self.started:
            return []
        self.started = True
        self.id = message.id or self.call.id
        self.model = message.model or self.call.model
        merge_usage(self.usage, message.usage)
        return [self._chunk(oai.Delta(role="assistant", content=""))]

    def _block_start(self, index: int, block: ContentBlock) -> list[bytes]:
        out = [] if self.started else self._start(Message())
        kind = block.type
        if kind == "text":
            self.kinds[index] = TEXT
            if block.text:
                out.append(self._chunk(oai.Delta(content=block.text)))
        elif kind == "thinking":
            self.kinds[index] = THINKING
            self.thinking[index] = [block.thinking] if block.thinking else []
            self.signature[index] = [block.signature] if block.signature else []
            if block.thinking:
                out.append(self._chunk(oai.Delta(reasoning_content=block.thinking)))
        elif kind == "redacted_thinking":
            self.kinds[index] = OTHER
            self.pending.append(carried(block))  # type: ignore[arg-type]
        elif kind == "tool_use":
            if block.input:
                self.started_input[index] = _encode(block.input).decode()
            if self.answer_tool and block.name == tables.ANSWER_TOOL:
                self.kinds[index] = ANSWER
                return out
            self.kinds[index] = TOOL
            n = self.tool_index[index] = len(self.tool_index)
            call_id = ids.tool_call_id(block.id or fallback_tool_id(self.call, n), self.pending)
            self.pending = []
            tc = oai.ToolCallDelta(index=n, id=call_id, type="function", function={"name": block.name or "", "arguments": ""})
            out.append(self._chunk(oai.Delta(tool_calls=[tc])))
        else:
            self.kinds[index] = OTHER  # server tool blocks: aoa sends no server tools
        return out

    def _delta(self, ev: ContentBlockDelta) -> list[bytes]:
        d = ev.delta
        kind = self.kinds.get(ev.index)
        if d.type == "text_delta" and d.text and kind == TEXT:
            return [self._chunk(oai.Delta(content=d.text))]
        if d.type == "input_json_delta" and d.partial_json:
            if kind in (TOOL, ANSWER):
                self.argued.add(ev.index)
                return [self._arguments(ev.index, kind, d.partial_json)]
        elif d.type == "thinking_delta" and d.thinking and kind == THINKING:
            self.thinking[ev.index].append(d.thinking)
            return [self._chunk(oai.Delta(reasoning_content=d.thinking))]
        elif d.type == "signature_delta" and d.signature and kind == THINKING:
            self.signature.setdefault(ev.index, []).append(d.signature)
        return []

    def _arguments(self, index: int, kind: int, text: str) -> bytes:
        if kind == ANSWER:
            return self._chunk(oai.Delta(content=text))
        tc = oai.ToolCallDelta(index=self.tool_index[index], function={"arguments": text})
        return self._chunk(oai.Delta(tool_calls=[tc]))

    def _message_delta(self, ev: MessageDelta) -> list[bytes]:
        merge_usage(self.usage, ev.usage)
        if ev.delta.stop_reason is None or self.finished:
            return []
        self.finished = True
        finish = finish_reason(ev.delta.stop_reason)
        if finish == "tool_calls" and not self.tool_index:
            finish = "stop"  # only the json_answer tool was used: for the client it is content
        out = [] if self.started else self._start(Message())
        if (refusal := refusal_text(ev.delta.stop_details)) is not None:
            out.append(self._chunk(oai.Delta(refusal=refusal)))
        out.append(self._chunk(oai.Delta(), finish))
        return out

    def close(self) -> list[bytes]:
        if not self.finished:
            raise Error(502, "Anthropic's stream ended before the answer was complete.", code="upstream_incomplete")
        if not self.call.include_usage:
            return []
        chunk = oai.ChatCompletionChunk(id=self.id, choices=[], created=self.call.created, model=self.model, usage=usage(self.usage))
        return [oai.encode(chunk)]
