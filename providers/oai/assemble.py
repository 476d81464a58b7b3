"""Assembling a chat.completion.chunk stream into one chat.completion."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from .chat import ChatCompletion, Choice, FunctionCall, ResponseMessage, ToolCall, Usage


class _DeltaIn(Struct, frozen=True):
    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class _ChunkChoiceIn(Struct):
    index: int = 0
    delta: _DeltaIn = _DeltaIn()
    finish_reason: str | None = None


class _ChunkIn(Struct):
    id: str = ""
    created: int = 0
    model: str = ""
    choices: list[_ChunkChoiceIn] = []
    usage: Usage | None = None
    system_fingerprint: str | None = None


_chunk_in_decoder = msgspec.json.Decoder(_ChunkIn)


class Assembler:
    """Folds encoded chat.completion.chunk payloads into one chat.completion.

    Used when a client asked for one JSON answer but the upstream (or the provider's choice)
    streams: the stream's text, tool calls, finish reasons and usage come out exactly as a
    non-stream call would give them.
    """

    def __init__(self) -> None:
        self.id = ""
        self.created = 0
        self.model = ""
        self.usage: Usage | None = None
        self.fingerprint: str | None = None
        self.text: dict[int, list[str]] = {}
        self.reasoning: dict[int, list[str]] = {}
        self.refusal: dict[int, list[str]] = {}
        self.finish: dict[int, str | None] = {}
        self.tools: dict[int, dict[int, dict[str, Any]]] = {}

    def feed(self, payload: bytes) -> None:
        chunk = _chunk_in_decoder.decode(payload)
        self.id = self.id or chunk.id
        self.created = self.created or chunk.created
        self.model = self.model or chunk.model
        self.fingerprint = self.fingerprint or chunk.system_fingerprint
        if chunk.usage is not None:
            self.usage = chunk.usage
        for c in chunk.choices:
            i = c.index
            self.finish.setdefault(i, None)
            d = c.delta
            if d.content:
                self.text.setdefault(i, []).append(d.content)
            if d.reasoning_content:
                self.reasoning.setdefault(i, []).append(d.reasoning_content)
            if d.refusal:
                self.refusal.setdefault(i, []).append(d.refusal)
            for tc in d.tool_calls or ():
                slot = self.tools.setdefault(i, {}).setdefault(
                    tc.get("index", 0), {"id": "", "name": "", "arguments": []}
                )
                slot["id"] = slot["id"] or tc.get("id") or ""
                fn = tc.get("function") or {}
                slot["name"] = slot["name"] or fn.get("name") or ""
                if fn.get("arguments"):
                    slot["arguments"].append(fn["arguments"])
            if c.finish_reason:
                self.finish[i] = c.finish_reason

    def result(self) -> ChatCompletion:
        choices = []
        for i in sorted(self.finish):
            msg = ResponseMessage(
                content="".join(self.text[i]) if i in self.text else None,
                refusal="".join(self.refusal[i]) if i in self.refusal else None,
            )
            if i in self.reasoning:
                msg.reasoning_content = "".join(self.reasoning[i])
            if i in self.tools:
                msg.tool_calls = [
                    ToolCall(
                        id=t["id"],
                        function=FunctionCall(name=t["name"], arguments="".join(t["arguments"])),
                    )
                    for _, t in sorted(self.tools[i].items())
                ]
            choices.append(Choice(index=i, message=msg, finish_reason=self.finish[i]))
        out = ChatCompletion(id=self.id, choices=choices, created=self.created, model=self.model)
        if self.usage is not None:
            out.usage = self.usage
        if self.fingerprint:
            out.system_fingerprint = self.fingerprint
        return out
