"""OpenAI's error body, and msgspec decode errors as OpenAI-shaped 400s."""

from __future__ import annotations

import re

import msgspec
from msgspec import UNSET, UnsetType

from ..core import Error
from .base import Out


class ErrorBody(Out):
    message: str
    type: str
    param: str | None = None
    code: str | None = None
    # aoa's addition: the request's `X-Request-Id` (the openai SDK keeps it in `exc.body`).
    request_id: str | UnsetType = UNSET


class ErrorEnvelope(Out):
    error: ErrorBody


_PATH = re.compile(r"`\$\.?([^`]*)`")


def validation_error(exc: msgspec.DecodeError) -> Error:
    """A msgspec error → a 400 that names the offending field as OpenAI's `param`."""
    text = str(exc)
    match = _PATH.search(text)
    param = match.group(1) if match else None
    if isinstance(exc, msgspec.ValidationError):
        return Error(400, f"Invalid request: {text}", param=param or None, code="invalid_type")
    return Error(400, f"Request body is not valid JSON: {text}", code="invalid_json")
