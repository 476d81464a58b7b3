"""Tool call ids that carry Claude's thinking blocks through an OpenAI client.

With extended thinking, an assistant turn that ends in `tool_use` must be sent back with the
thinking (and redacted thinking) blocks that preceded each tool call, byte for byte, signature
included (https://platform.claude.com/docs/en/build-with-claude/extended-thinking#preserving-thinking-blocks).
OpenAI clients keep exactly one thing of a tool call verbatim: its id. So the id is
`<Anthropic's tool_use id>__th__<urlsafe base64 of zlib(JSON list of blocks)>`; without thinking it
is Anthropic's id unchanged.
"""

from __future__ import annotations

import base64
import binascii
import zlib

import msgspec

from ..core import Error

MARK = "__th__"
# What the ids of one request may inflate to, all together: a zip bomb in an id, or a million
# small ones, stays a 400 instead of gigabytes.
MAX_INFLATED = 16 * 1024 * 1024

# ("t", thinking, signature) or ("r", data) for redacted thinking.
Carried = list[tuple[str, ...]]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(list[tuple[str, ...]]).decode


def tool_call_id(tool_use_id: str, blocks: Carried) -> str:
    if not blocks:
        return tool_use_id
    packed = zlib.compress(_encode(blocks), 6)
    return tool_use_id + MARK + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def split(tool_call_id: str, where: str, budget: list[int] | None = None) -> tuple[str, Carried]:
    """OpenAI tool call id → (Anthropic tool_use id, thinking blocks to replay before it).

    `budget` is the request's remaining inflation allowance (one mutable int), shared by its ids.
    """
    head, mark, tail = tool_call_id.partition(MARK)
    if not mark:
        return tool_call_id, []
    try:
        packed = base64.urlsafe_b64decode(tail + "=" * (-len(tail) % 4))
        inflater = zlib.decompressobj()
        allowance = budget[0] if budget is not None else MAX_INFLATED
        if allowance <= 0:  # zlib reads a max_length of 0 as "no limit"
            raise ValueError("over the request's inflation budget")
        raw = inflater.decompress(packed, allowance)
        if inflater.unconsumed_tail or not inflater.eof:
            raise ValueError("truncated or too large")
        if budget is not None:
            budget[0] -= len(raw)
        blocks = _decode(raw)
    except (binascii.Error, ValueError, zlib.error, msgspec.DecodeError):
        raise Error(400, f"`{where}` carries thinking blocks aoa cannot read; send the id back as it was received.", param=where, code="invalid_value") from None
    for b in blocks:
        if not ((len(b) == 3 and b[0] == "t") or (len(b) == 2 and b[0] == "r")):
            raise Error(400, f"`{where}` carries thinking blocks aoa cannot read.", param=where, code="invalid_value")
    return head, blocks


def tool_use_id(tool_call_id: str) -> str:
    """The Anthropic id inside an OpenAI tool call id (a tool message's `tool_call_id`)."""
    return tool_call_id.partition(MARK)[0]
