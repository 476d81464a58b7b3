"""Request-side rules of the compatible vendors: the parameter-table rules (relay, refuse, ranges,
renames) and the history rules applied to assistant turns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from ..core import Call, Error

_encode = msgspec.json.encode
_decode = msgspec.json.decode
_raw_list = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])


# --- parameter rules ---------------------------------------------------------------------
# A rule is a function (ctx, name, value) that returns nothing when the value may go upstream
# as it is, raises a 400 naming the field, or rewrites ctx.fields with the documented
# equivalent. `relay` marks a field that goes through untouched; null values are never checked.


class Ctx:
    """One request being prepared: its top-level fields (values still `Raw` until changed)."""

    __slots__ = ("call", "fields", "settings")

    def __init__(self, settings: Any, call: Call) -> None:
        self.settings = settings
        self.call = call
        self.fields: dict[str, msgspec.Raw] = dict(call.fields)

    @property
    def model(self) -> str:
        return self.call.model

    def value(self, name: str) -> Any:
        """Another field's value, for a rule that depends on it (it may not have been checked yet)."""
        raw = self.fields.get(name)
        if raw is None:
            return None
        try:
            return _decode(raw)
        except msgspec.DecodeError:  # a number out of range, say
            raise _bad(name, f"`{name}` is not valid JSON.", "invalid_type") from None

    def set(self, name: str, value: Any) -> None:
        self.fields[name] = msgspec.Raw(_encode(value))


Rule = Callable[[Ctx, str, Any], None]


def relay(ctx: Ctx, name: str, value: Any) -> None:
    """Sent as the client gave it: the vendor documents it, or it is the vendor's to judge."""


def _bad(name: str, message: str, code: str = "unsupported_parameter") -> Error:
    return Error(400, message, param=name, code=code)


def refuse(why: str) -> Rule:
    """The vendor does not take this field at all (any non-null value is a 400)."""

    def rule(ctx: Ctx, name: str, value: Any) -> None:
        raise _bad(name, f"`{name}` is not supported by this upstream: {why}")

    rule.refuses = True  # type: ignore[attr-defined]  # lets the tests find every refusal
    return rule


def number(low: float, high: float, *, low_open: bool = False, high_open: bool = False, models: tuple[str, ...] = ()) -> Rule:
    """A documented numeric range; `models` (name prefixes) limits the rule to those models."""
    shown = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def rule(ctx: Ctx, name: str, value: Any) -> None:
        if models and not ctx.model.lower().startswith(models):
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(name, f"`{name}` must be a number.", "invalid_type")
        if value < low or value > high or (low_open and value == low) or (high_open and value == high):
            raise _bad(name, f"`{name}`={value!r} is outside this upstream's documented range {shown}.", "invalid_value")

    return rule


def whole(low: int, high: int) -> Rule:
    def rule(ctx: Ctx, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(name, f"`{name}` must be a whole number.", "invalid_type")
        if not low <= value <= high:
            raise _bad(name, f"`{name}`={value} is outside this upstream's documented range [{low}, {high}].", "invalid_value")

    return rule


def choices(*allowed: str) -> Rule:
    """A string field (or `tool_choice`) restricted to some values; a named tool_choice is an
    object and is allowed only when "function" is listed."""

    def rule(ctx: Ctx, name: str, value: Any) -> None:
        key = "function" if isinstance(value, dict) else value
        if key not in allowed:
            shown = "a named function" if key == "function" else repr(value)[:100]
            raise _bad(name, f"`{name}`={shown} is not supported by this upstream (it takes {', '.join(map(repr, allowed))}).", "invalid_value")

    return rule


def stop_words(most: int) -> Rule:
    def rule(ctx: Ctx, name: str, value: Any) -> None:
        if isinstance(value, list) and len(value) > most:
            raise _bad(name, f"`{name}` takes at most {most} stop word(s) on this upstream; {len(value)} given.", "invalid_value")

    return rule


def format_types(*allowed: str) -> Rule:
    def rule(ctx: Ctx, name: str, value: Any) -> None:
        kind = value.get("type") if isinstance(value, dict) else None
        if kind not in allowed:
            raise _bad(name, f"`{name}` type {repr(kind)[:100]} is not supported by this upstream (it takes {', '.join(allowed)}).", "invalid_value")

    return rule


def renamed(target: str, check: Rule = relay) -> Rule:
    """An OpenAI field the vendor documents under another name (`max_completion_tokens` where only
    `max_tokens` exists): checked, then sent under that name, and it wins over a value already
    there, as in OpenAI's API."""

    def rule(ctx: Ctx, name: str, value: Any) -> None:
        check(ctx, name, value)
        ctx.fields[target] = ctx.fields.pop(name)

    return rule


def all_of(*rules: Rule) -> Rule:
    def rule(ctx: Ctx, name: str, value: Any) -> None:
        for r in rules:
            r(ctx, name, value)

    return rule


# OpenAI's bookkeeping fields (no effect on the answer; relayed, the vendor ignores what it does
# not know) and the legacy function-calling fields, which every vendor here refuses: the same
# entry in every table.
BOOKKEEPING: dict[str, Rule] = {
    "user": relay,
    "metadata": relay,
    "store": relay,
    "service_tier": relay,
    "safety_identifier": relay,
    "prompt_cache_key": relay,
    "prompt_cache_options": relay,
    "prompt_cache_retention": relay,
    "moderation": relay,
    "functions": refuse("use `tools`."),
    "function_call": refuse("use `tool_choice`."),
}


# --- history rules ------------------------------------------------------------------------


def keep_history(ctx: Ctx) -> None:
    """Assistant turns go back as the client sent them, `reasoning_content` included."""


def strip_reasoning(ctx: Ctx) -> None:
    """Drop `reasoning_content` from assistant turns (a vendor that never asks for it back)."""
    raw = ctx.fields.get("messages")
    if raw is None or b'"reasoning_content"' not in ctx.call.body:
        return
    messages = decode_messages(raw)
    for m in messages:
        m.pop("reasoning_content", None)
    ctx.fields["messages"] = msgspec.Raw(_encode(messages))


def decode_value(raw: msgspec.Raw | bytes, where: str) -> Any:
    """A client value a rule or hook must read; JSON that msgspec cannot hold (a number out of
    range) is a 400 naming `where`."""
    try:
        return _decode(raw)
    except msgspec.DecodeError:
        raise _bad(where, f"`{where}` holds a value that is not valid JSON (a number out of range?).", "invalid_type") from None


def decode_messages(raw: msgspec.Raw) -> list[dict[str, msgspec.Raw]]:
    try:
        return _raw_list.decode(raw)
    except msgspec.DecodeError:
        raise Error(400, "`messages` must be an array of message objects.", param="messages", code="invalid_type") from None
