"""OpenAI tool call ids that carry Gemini's thought signature and functionCall id."""

from __future__ import annotations

import base64
import binascii
import hashlib

from ..core import Call

SIGNATURE_MARK = "__ts__"
ID_MARK = "__id__"


def tool_call_id(call: Call, candidate: int, position: int, signature: str | None, gemini_id: str | None = None) -> str:
    """`call_<hash of the request id>_<candidate>_<position>[__id__<hex of Gemini's id>][__ts__<urlsafe b64 of signature>]`.

    Gemini needs the `thoughtSignature` of a functionCall echoed in the next request
    (https://ai.google.dev/gemini-api/docs/thought-signatures), and a functionResponse should
    carry the functionCall's `id` when Gemini gave one; OpenAI clients send back only the tool
    call id, so both travel inside it, reversibly. Hex has no `_`, so the marks stay unambiguous.
    """
    stem = hashlib.sha256(call.id.encode()).hexdigest()[:12]
    out = f"call_{stem}_{candidate}_{position}"
    if gemini_id:
        out += ID_MARK + gemini_id.encode().hex()
    if signature:
        out += SIGNATURE_MARK + base64.urlsafe_b64encode(signature.encode()).decode().rstrip("=")
    return out


def signature_of(tool_id: str) -> str | None:
    _, mark, tail = tool_id.partition(SIGNATURE_MARK)
    if not mark or not tail:
        return None
    try:
        return base64.urlsafe_b64decode(tail + "=" * (-len(tail) % 4)).decode()
    except (binascii.Error, ValueError):
        return None


def gemini_id_of(tool_id: str) -> str | None:
    head = tool_id.partition(SIGNATURE_MARK)[0]
    _, mark, tail = head.partition(ID_MARK)
    if not mark or not tail:
        return None
    try:
        return bytes.fromhex(tail).decode()
    except ValueError:
        return None


