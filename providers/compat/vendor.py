"""The vendor description: the data a vendor module gives, and the settings and headers built from it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from .. import oai
from ..core import Common, Error, load_common
from .rules import Ctx, Rule, keep_history


# --- the vendor description ---------------------------------------------------------------

# Every field of OpenAI's chat request that a vendor's table must place (relay, adapt, refuse).
CHAT_FIELDS = frozenset(oai.CHAT_REQUEST_FIELDS) - {"messages", "model", "stream", "stream_options"}
STANDARD_FINISH = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})


class Vendor(msgspec.Struct, frozen=True, kw_only=True):
    prefix: str
    endpoint: str
    model: str
    params: dict[str, Rule]
    history: Callable[[Ctx], None] = keep_history
    # Vendor code (or error type) → (HTTP status, OpenAI-style code); statuses per the vendor's
    # error documentation, codes the vendor's own when the table gives None.
    errors: dict[str, tuple[int, str | None]] = {}
    # Vendor finish reasons → OpenAI's; None: the stream ends with an error event instead.
    finish: dict[str, str | None] = {}
    # HTTP status → (status, code) where the status itself is the vendor's error meaning.
    statuses: dict[int, tuple[int, str]] = {}
    embeddings: bool = False
    # Whether the vendor's /embeddings documents `encoding_format`; if not, aoa drops it and
    # encodes base64 itself.
    embeddings_base64: bool = False
    models: bool = False
    name: str = ""
    # Optional hooks, for the one vendor that needs each.
    prepare: Callable[[Ctx], None] | None = None
    headers: Callable[[Any, str], dict[str, str]] | None = None
    # An error carried inside a 200 body or stream frame → Error, else None.
    inband: Callable[[bytes], Error | None] | None = None
    # Per-stream state for a vendor that moves text between fields (MiniMax's <think>).
    reasoning: Callable[[], Any] | None = None


class Settings(msgspec.Struct, kw_only=True):
    common: Common


def load_settings(v: Vendor, env: Mapping[str, str]) -> Settings:
    return Settings(common=load_common(env, v.prefix, endpoint=v.endpoint, model=v.model))


def bearer(key: str) -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = f"Bearer {key}"
    return h


def _headers(v: Vendor, s: Any, key: str) -> dict[str, str]:
    return v.headers(s, key) if v.headers else bearer(key)
