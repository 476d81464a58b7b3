"""Anthropic Messages request wire types, names as in the official SDK's `*Param` types
(`anthropic/types/message_create_params.py`, `text_block_param.py`, `tool_param.py`, …)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

class A(Struct, omit_defaults=True, kw_only=True):
    """Anthropic's convention: snake_case, absent fields omitted."""


class Base64Source(A, tag="base64", tag_field="type"):
    media_type: str
    data: str


class URLSource(A, tag="url", tag_field="type"):
    url: str


class PlainTextSource(A, tag="text", tag_field="type"):
    data: str
    media_type: str  # required by Anthropic, so no default for omit_defaults to drop


class TextBlock(A, tag="text", tag_field="type"):
    text: str
    cache_control: dict[str, Any] | None = None


class ImageBlock(A, tag="image", tag_field="type"):
    source: Base64Source | URLSource
    cache_control: dict[str, Any] | None = None


class DocumentBlock(A, tag="document", tag_field="type"):
    source: Base64Source | PlainTextSource | URLSource
    title: str | None = None
    cache_control: dict[str, Any] | None = None


class ToolUseBlock(A, tag="tool_use", tag_field="type"):
    id: str
    name: str
    input: dict[str, Any]
    cache_control: dict[str, Any] | None = None


class ToolResultBlock(A, tag="tool_result", tag_field="type"):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock | DocumentBlock]
    cache_control: dict[str, Any] | None = None


class ThinkingBlock(A, tag="thinking", tag_field="type"):
    # No defaults, so both are always sent: an empty thinking text (display "omitted") is
    # still part of the signed block.
    thinking: str
    signature: str


class RedactedThinkingBlock(A, tag="redacted_thinking", tag_field="type"):
    data: str


Block = TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock


class MessageParam(A):
    role: str
    content: list[Block]


class ToolParam(A):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None
    strict: bool | None = None
    cache_control: dict[str, Any] | None = None


class ToolChoice(A):
    type: str
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class Metadata(A):
    user_id: str | None = None


class OutputConfig(A):
    effort: str | None = None
    format: dict[str, Any] | None = None


class MessageCreateParams(A):
    model: str
    max_tokens: int
    messages: list[MessageParam]
    system: list[TextBlock] | None = None
    metadata: Metadata | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoice | None = None
    thinking: dict[str, Any] | None = None
    output_config: OutputConfig | None = None
