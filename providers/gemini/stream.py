"""Gemini stream translation: each SSE `data:` is a whole GenerateContentResponse."""

from __future__ import annotations

from .. import oai
from ..core import Call, Error
from .endpoint import Settings
from .response import _blocked, _decode, _split, _tool_call, error, extra_content, finish_reason, logprobs, usage
from .wire import Candidate, GenerateContentResponse, Part, UsageMetadata

_encode = oai.encode
_MARK = "\x00aoa-text\x00"  # a text no upstream sends: where the content goes in a template
_MARK_JSON = _encode(_MARK)
_MARK_FIELD = b'"content":' + _MARK_JSON


def _plain_text(parts: list[Part] | None) -> str | None:
    """The text of plain text parts; None when any part is a thought, is signed or is a call."""
    if parts is not None and len(parts) == 1:
        p = parts[0]
        if p.function_call is None and not p.thought and not p.thought_signature:
            return p.text or ""
        return None
    texts = []
    for p in parts or ():
        if p.function_call is not None or p.thought or p.thought_signature:
            return None
        if p.text is not None:
            texts.append(p.text)
    return "".join(texts)


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
        # choice index → (model, the bytes around `content` of a text-only chunk): see `_text_chunk`.
        self.templates: dict[int, tuple[str, bytes, bytes]] = {}
        self.templated = True  # False: every chunk through the Structs (the tests' reference)

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
        out: list[bytes] = []
        self._doc(_decode(data), data, out)
        return out

    def feed_many(self, events: list[tuple[str, bytes]], out: list[bytes]) -> None:
        """`feed` for the events of one read, appended to `out` (up to an error, raised after
        the chunks before it): one call per read instead of one per event."""
        doc = self._doc
        for event, data in events:
            if event == "message" and data[:1] == b"{":
                doc(_decode(data), data, out)
            else:
                out += self.feed(event, data)

    def _doc(self, doc: GenerateContentResponse, data: bytes, out: list[bytes]) -> None:
        if doc.error is not None:
            raise error(500, data, streaming=True)
        if doc.prompt_feedback is not None and (blocked := _blocked(doc)) is not None:
            raise blocked
        if doc.model_version:
            self.model = doc.model_version
        if doc.usage_metadata is not None:
            self.usage = doc.usage_metadata  # cumulative: the last one is the total
        cands = doc.candidates
        if self.templated and cands and len(cands) == 1:
            # The common chunk — plain text for a candidate already started, no thoughts,
            # signatures, calls or logprobs — framed from a template (`_text_chunk`).
            c = cands[0]
            index = c.index if c.index is not None else 0
            slot = self.slots.get(index)
            if slot is not None and c.logprobs_result is None and c.content is not None:
                text = _plain_text(c.content.parts)
                if text is not None:
                    if c.finish_reason:
                        slot.finish = c.finish_reason  # held, as in `_candidate`
                    if text:
                        out.append(self._text_chunk(index, text))
                    return
        for pos, c in enumerate(cands or ()):
            out += self._candidate(c.index if c.index is not None else pos, c)

    def _text_chunk(self, index: int, text: str) -> bytes:
        """The chunk `_candidate` would encode for a text delta, made from the bytes around its
        `content` (built by the same encoder once per choice and model): only the text is
        encoded per chunk."""
        t = self.templates.get(index)
        if t is None or t[0] != self.model:  # one per choice: a new modelVersion replaces it
            whole = self._chunk([oai.ChunkChoice(index=index, delta=oai.Delta(content=_MARK), logprobs=None)])
            # Found by its key: inside an encoded string (a hostile modelVersion, say) every `"`
            # is escaped, so `"content":"…` can only be the field itself.
            at = whole.index(_MARK_FIELD) + len(b'"content":')
            t = self.templates[index] = (self.model, whole[:at], whole[at + len(_MARK_JSON):])
        return t[1] + _encode(text) + t[2]

    def _candidate(self, index: int, c: Candidate) -> list[bytes]:
        slot = self.slots.get(index)
        first = slot is None
        if slot is None:
            slot = self.slots[index] = _Slot()
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

