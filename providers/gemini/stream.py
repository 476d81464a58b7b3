"""Gemini stream translation: each SSE `data:` is a whole GenerateContentResponse."""

from __future__ import annotations

from .. import oai
from ..core import Call, Error
from .endpoint import Settings
from .response import _blocked, _decode, _split, _tool_call, error, extra_content, finish_reason, logprobs, usage
from .wire import Candidate, UsageMetadata

class _Slot:
    __slots__ = ("tools", "finish")

    def __init__(self) -> None:
        self.tools = 0
        self.finish: str | None = None


class ChatStream:
    """Per-request stream state: each SSE `data:` is a whole GenerateContentResponse."""

    def __init__(self, s: Settings, call: Call) -> None:
        self.call = call
        self.model = call.model
        self.slots: dict[int, _Slot] = {}
        self.usage: UsageMetadata | None = None

    def _chunk(self, choices: list[oai.ChunkChoice]) -> bytes:
        chunk = oai.ChatCompletionChunk(id=self.call.id, choices=choices, created=self.call.created, model=self.model)
        if self.call.include_usage:
            chunk.usage = None
        return oai.encode(chunk)

    def feed(self, event: str, data: bytes) -> list[bytes]:
        if event == "error":
            raise error(500, data, streaming=True)
        if not data.strip():
            return []
        doc = _decode(data)
        if doc.error is not None:
            raise error(500, data, streaming=True)
        if (blocked := _blocked(doc)) is not None:
            raise blocked
        if doc.model_version:
            self.model = doc.model_version
        if doc.usage_metadata is not None:
            self.usage = doc.usage_metadata  # cumulative: the last one is the total
        out = []
        for pos, c in enumerate(doc.candidates or ()):
            out += self._candidate(c.index if c.index is not None else pos, c)
        return out

    def _candidate(self, index: int, c: Candidate) -> list[bytes]:
        first = index not in self.slots
        slot = self.slots.setdefault(index, _Slot())
        split = _split(c)
        delta = oai.Delta()
        if first:
            delta.role = "assistant"
        text = "".join(split.text)
        if text or (first and not split.calls):
            delta.content = text
        if split.thoughts:
            delta.reasoning_content = "".join(split.thoughts)
        if split.signature:
            delta.extra_content = extra_content(split.signature)
        if split.calls:
            deltas = []
            for fc, sig in split.calls:
                tc = _tool_call(self.call, index, slot.tools, fc, sig)
                deltas.append(oai.ToolCallDelta(index=slot.tools, id=tc.id, type="function", function={"name": tc.function.name, "arguments": tc.function.arguments}))
                slot.tools += 1
            delta.tool_calls = deltas
        if c.finish_reason:
            # Held until the end of the stream: gemini-1.0 streams repeat finishReason on
            # every chunk, so the first one seen need not be the last.
            slot.finish = c.finish_reason
        if delta == oai.Delta():
            return []
        return [self._chunk([oai.ChunkChoice(index=index, delta=delta, logprobs=logprobs(c.logprobs_result))])]

    def close(self) -> list[bytes]:
        if not self.slots or any(slot.finish is None for slot in self.slots.values()):
            raise Error(502, "Gemini's stream ended before the answer was complete.", code="upstream_incomplete")
        out = [
            self._chunk([oai.ChunkChoice(index=i, delta=oai.Delta(), finish_reason=finish_reason(slot.finish, slot.tools > 0))])
            for i, slot in sorted(self.slots.items())
        ]
        if self.call.include_usage and self.usage is not None:
            chunk = oai.ChatCompletionChunk(id=self.call.id, choices=[], created=self.call.created, model=self.model, usage=usage(self.usage))
            out.append(oai.encode(chunk))
        return out

