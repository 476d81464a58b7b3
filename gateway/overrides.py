"""Server-side request parameters that win over the client's.

    <P>_PARAMS='{"temperature":0.8}'      forced on every request (P = the kind's prefix:
                                          OPENAI, GEMINI, ROUTER, …)
    <P>_MODEL_PARAMS='{"creative":{"temperature":1.2},"precise":{"temperature":0}}'
                                          forced when the client asked for that model name,
                                          over <P>_PARAMS; with <P>_MODEL_ALIAS mapping both
                                          names to one upstream model this exposes one model
                                          as several tuned "virtual models"

A value of `null` removes the field. The body is changed before any provider sees it, so every
kind honours the values the way it honours the client's own (and refuses them the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from providers import core

_encode = msgspec.json.encode
_object = msgspec.json.Decoder(dict[str, Any])
_nested = msgspec.json.Decoder(dict[str, dict[str, Any]])
# Fields that decide how aoa itself serves the request, not what the model does.
RESERVED = frozenset({"model", "stream", "stream_options", "messages", "prompt", "input"})


def _checked(values: dict[str, Any], var: str) -> dict[str, Any]:
    bad = RESERVED.intersection(values)
    if bad:
        raise core.ConfigError(f"{var} may not set {', '.join(sorted(bad))}")
    return values


def _raws(values: dict[str, Any]) -> dict[str, msgspec.Raw | None]:
    return {k: None if v is None else msgspec.Raw(_encode(v)) for k, v in values.items()}


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    every: dict[str, Any] = {}
    per_model: dict[str, dict[str, Any]] = {}


class Overrides:
    def __init__(self, settings: Settings) -> None:
        # Encoded once: applying them is a dict update and one encode of the body.
        self.every = _raws(settings.every)
        self.per_model = {m: _raws(v) for m, v in settings.per_model.items()}

    def apply(self, call: core.Call) -> None:
        """Replace the call's fields (undecoded Raw values) and re-encode its body once."""
        own = self.per_model.get(call.client_model.strip())
        if not self.every and own is None:
            return
        fields = dict(call.fields)
        for table in (self.every, own or {}):
            for name, raw in table.items():
                if raw is None:
                    fields.pop(name, None)
                else:
                    fields[name] = raw
        call.fields = fields
        call.body = _encode(fields)


def load(env: Mapping[str, str], prefix: str) -> Settings | None:
    every_var, model_var = f"{prefix}_PARAMS", f"{prefix}_MODEL_PARAMS"
    every: dict[str, Any] = {}
    per_model: dict[str, dict[str, Any]] = {}
    raw = env.get(every_var, "").strip()
    if raw:
        try:
            every = _checked(_object.decode(raw), every_var)
        except msgspec.DecodeError as exc:
            raise core.ConfigError(f"{every_var} is not a JSON object: {exc}") from None
    raw = env.get(model_var, "").strip()
    if raw:
        try:
            per_model = {m: _checked(v, model_var) for m, v in _nested.decode(raw).items()}
        except msgspec.DecodeError as exc:
            raise core.ConfigError(f"{model_var} is not a JSON object of model → object: {exc}") from None
    if not every and not per_model:
        return None
    return Settings(every=every, per_model=per_model)
