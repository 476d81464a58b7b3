"""Errors: the vendor's error fields, whichever shape it used, → an OpenAI-shaped Error."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .. import passthrough
from ..core import Error
from .vendor import CHAT_FIELDS, Vendor

_encode = msgspec.json.encode


# --- errors -------------------------------------------------------------------------------


class _Detail(msgspec.Struct):
    code: Any = None
    message: Any = None
    type: Any = None
    param: Any = None


class _BaseResp(msgspec.Struct):
    status_code: Any = None
    status_msg: Any = None


class _Envelope(msgspec.Struct):
    error: _Detail | str | None = None
    # MiniMax
    base_resp: _BaseResp | None = None
    # Spark (and DashScope-like bodies)
    code: Any = None
    message: Any = None
    sid: Any = None
    # Qianfan's older API
    error_code: Any = None
    error_msg: Any = None
    request_id: Any = None
    id: Any = None


_envelope = msgspec.json.Decoder(_Envelope)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else _encode(value).decode()


def vendor_error(v: Vendor, status: int, body: bytes) -> Error | None:
    """The vendor's error fields, whichever shape it used, → Error; None if the body has none."""
    try:
        env = _envelope.decode(body)
    except msgspec.DecodeError:
        return None
    code = message = etype = param = None
    if isinstance(env.error, _Detail):
        code, message, etype, param = _text(env.error.code), _text(env.error.message), _text(env.error.type), _text(env.error.param)
    elif isinstance(env.error, str):
        message = env.error
    elif env.base_resp is not None and env.base_resp.status_code not in (None, 0):
        code, message = _text(env.base_resp.status_code), _text(env.base_resp.status_msg)
    elif env.error_code not in (None, 0):
        code, message = _text(env.error_code), _text(env.error_msg)
    elif env.code not in (None, 0, "0", "200", 200) and env.message is not None:
        code, message = _text(env.code), _text(env.message)
    if code is None and message is None:
        return None
    hit = v.errors.get(code or "") or v.errors.get(etype or "")
    if hit is not None and hit[1] is not None:
        status, mapped = hit
    elif status in v.statuses:
        status, mapped = v.statuses[status]
    elif hit is not None:
        status, mapped = hit
    elif status < 400:
        status, mapped = 502, None  # an error inside a 200 the table does not know
    else:
        mapped = None
    if param is None and status == 400:
        param = _named_field(message or "")
    trace = _text(env.sid) or _text(env.request_id)
    text = message or f"{v.name} error {code}"
    if code and code not in text:
        text = f"[{code}] {text}"
    if trace:
        text = f"{text} (id: {trace})"
    return Error(status, text, param=param, code=mapped or code or etype, type=None)


# "invalid temperature: only 1 is allowed for this model" (Moonshot), "temperature 参数非法"
# (Zhipu 1214): the field a vendor's 400 is about, so clients get OpenAI's `param`.
_FIELD_IN_MESSAGE = re.compile(
    r"(?:invalid (?:value for )?[`'\"]?([a-z_]{2,})[`'\"]?\b|\b([a-z_]{2,})[`'\"]? (?:参数|must|should|is invalid))"
)


def _named_field(message: str) -> str | None:
    for m in _FIELD_IN_MESSAGE.finditer(message):
        name = m.group(1) or m.group(2)
        if name in CHAT_FIELDS and name not in ("user", "store", "metadata"):
            return name
    return None


def error(v: Vendor, status: int, body: bytes) -> Error:
    err = vendor_error(v, status, body)
    if err is not None:
        return err
    err = passthrough.error_from_body(status, body)
    if status in v.statuses:
        new, code = v.statuses[status]
        return Error(new, err.message, param=err.param, code=code)
    return err
