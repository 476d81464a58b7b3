"""The shared core of OpenAI-compatible vendors with quirks (DeepSeek, Moonshot, Zhipu, MiniMax,
Qianfan, Spark).

A vendor module holds data — a `Vendor`: endpoint, parameter table, history rule, error table,
finish-reason map — plus only the hooks it really needs. This module turns that data into the
provider contract, built on `passthrough` by composition: request values the vendor takes as they
are stay undecoded `Raw`, answers are relayed byte for byte unless a field must change (reasoning
placement, tool-call shape, a finish reason, an error inside a 200), and only then is that one
payload decoded and re-encoded.
"""

from .contract import Contract, contract
from .errors import error, vendor_error
from .request import chat, embeddings, models, models_result
from .response import ChatStream, _odd_finish, chat_result, embeddings_result
from .rules import (
    BOOKKEEPING,
    Ctx,
    Rule,
    all_of,
    choices,
    decode_messages,
    decode_value,
    format_types,
    keep_history,
    number,
    refuse,
    relay,
    renamed,
    stop_words,
    strip_reasoning,
    whole,
)
from .vendor import CHAT_FIELDS, STANDARD_FINISH, Settings, Vendor, bearer, load_settings

__all__ = [
    "BOOKKEEPING",
    "CHAT_FIELDS",
    "STANDARD_FINISH",
    "ChatStream",
    "Contract",
    "Ctx",
    "Rule",
    "Settings",
    "Vendor",
    "_odd_finish",
    "all_of",
    "bearer",
    "chat",
    "chat_result",
    "choices",
    "contract",
    "decode_messages",
    "decode_value",
    "embeddings",
    "embeddings_result",
    "error",
    "format_types",
    "keep_history",
    "load_settings",
    "models",
    "models_result",
    "number",
    "refuse",
    "relay",
    "renamed",
    "stop_words",
    "strip_reasoning",
    "vendor_error",
    "whole",
]
