"""The two OpenAI wire conventions (request in, response out) and the one shared encoder."""

from __future__ import annotations

import msgspec
from msgspec import Struct


class Base(Struct, omit_defaults=True, kw_only=True):
    """OpenAI request convention: snake_case, absent fields omitted."""


class Out(Struct, kw_only=True):
    """OpenAI response convention: every field is sent (null included) unless it is UNSET."""


# Encoders/decoders are built once; msgspec caches the per-type plans inside them.
encoder = msgspec.json.Encoder()
encode = encoder.encode
