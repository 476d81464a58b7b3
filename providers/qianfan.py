"""Baidu Qianfan (ModelBuilder) v2: an OpenAI-compatible API
(https://cloud.baidu.com/doc/qianfan-api/s/3m7of64lb, chat; https://cloud.baidu.com/doc/qianfan-api/s/Fm7u3ropn, errors).

Base `https://qianfan.baidubce.com/v2`; `POST /chat/completions`, `POST /embeddings`. Auth is
`Authorization: Bearer bce-v3/ALTAK-…` (a Qianfan API key); `QIANFAN_APPID` adds the optional
`appid` header naming the V2 application (https://cloud.baidu.com/doc/WENXINWORKSHOP/s/fm4tsw9nv,
公共请求头). Model ids are lower case (`ernie-4.5-turbo-128k`).

Qianfan fronts many model families; the ERNIE ranges below apply to `ernie*` models only, other
families are judged by Qianfan. ERNIE extras (`penalty_score`, `web_search`, `enable_thinking`…)
pass through. Assistant turns go without `reasoning_content`, which Qianfan does not document
as input. Not supported: a model list (the configured model and aliases are served).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from . import compat
from .compat import number, refuse, relay
from .core import Call, Common, Error, Outbound, load_common

PREFIX = "QIANFAN"
ERNIE = ("ernie",)

# https://cloud.baidu.com/doc/qianfan-api/s/3m7of64lb (请求参数)
PARAMS: dict[str, compat.Rule] = {
    "temperature": number(0, 1, low_open=True, models=ERNIE),  # ERNIE: (0, 1.0], not 0
    "top_p": number(0, 1, models=ERNIE),
    "presence_penalty": number(-2, 2),
    "frequency_penalty": number(-2, 2),
    "max_tokens": relay,
    "max_completion_tokens": relay,
    "stop": relay,
    "n": relay,
    "seed": relay,
    "tools": relay,
    "tool_choice": relay,
    "parallel_tool_calls": relay,
    "response_format": relay,
    "reasoning_effort": relay,
    "logprobs": relay,
    "top_logprobs": relay,
    "user": relay,
    "metadata": relay,
    "store": relay,
    "service_tier": relay,
    "safety_identifier": relay,
    "prompt_cache_key": relay,
    "prompt_cache_options": relay,
    "prompt_cache_retention": relay,
    "moderation": relay,
    "modalities": relay,
    "web_search_options": relay,
    "logit_bias": refuse("Qianfan has no logit_bias."),
    "functions": refuse("use `tools`."),
    "function_call": refuse("use `tool_choice`."),
    "audio": refuse("Qianfan chat answers text only."),
    "prediction": refuse("Qianfan has no predicted outputs."),
    "verbosity": refuse("Qianfan has no verbosity control."),
}

# https://cloud.baidu.com/doc/qianfan-api/s/Fm7u3ropn — v2 `error.code` values, and the v1
# numeric `error_code`s some gateways still answer with.
ERRORS: dict[str, tuple[int, str | None]] = {
    "invalid_argument": (400, "invalid_parameter"),
    "invalid_request_error": (400, None),
    "model_not_found": (404, "model_not_found"),
    "no_such_model": (404, "model_not_found"),
    "invalid_iam_token": (401, "invalid_api_key"),
    "invalid_api_key": (401, "invalid_api_key"),
    "authentication_error": (401, "invalid_api_key"),
    "access_denied": (403, "permission_denied"),
    "no_permission": (403, "permission_denied"),
    "rpm_rate_limit_exceeded": (429, "rate_limit_exceeded"),
    "tpm_rate_limit_exceeded": (429, "rate_limit_exceeded"),
    "qps_rate_limit_exceeded": (429, "rate_limit_exceeded"),
    "rate_limit_exceeded": (429, "rate_limit_exceeded"),
    "quota_exceeded": (429, "insufficient_quota"),
    "arrearage": (429, "insufficient_quota"),
    "sensitive_content": (400, "content_filter"),
    "content_filter": (400, "content_filter"),
    "internal_error": (500, "server_error"),
    "server_busy": (503, "server_overloaded"),
    # v1 codes (https://cloud.baidu.com/doc/WENXINWORKSHOP/s/tlmyncueh)
    "110": (401, "invalid_api_key"),
    "111": (401, "invalid_api_key"),
    "18": (429, "rate_limit_exceeded"),
    "336000": (500, "server_error"),
    "336001": (400, "invalid_parameter"),
    "336003": (400, "invalid_parameter"),
    "336501": (429, "rate_limit_exceeded"),
    "336502": (429, "rate_limit_exceeded"),
    "336103": (400, "context_length_exceeded"),
}
RETRY_CODES = frozenset({"rate_limit_exceeded", "server_overloaded", "server_error"})


class Settings(msgspec.Struct, kw_only=True):
    common: Common
    appid: str = ""


def _headers(s: Settings, key: str) -> dict[str, str]:
    h = compat.bearer(key)
    if s.appid:
        h["appid"] = s.appid
    return h


VENDOR = compat.Vendor(
    name="Qianfan",
    prefix=PREFIX,
    endpoint="https://qianfan.baidubce.com/v2",
    model="ernie-4.5-turbo-128k",
    params=PARAMS,
    history=compat.strip_reasoning,
    errors=ERRORS,
    headers=_headers,
    embeddings=True,
)

def load_settings(env: Mapping[str, str]) -> Settings:
    return Settings(
        common=load_common(env, PREFIX, endpoint=VENDOR.endpoint, model=VENDOR.model),
        appid=env.get(f"{PREFIX}_APPID", "").strip(),
    )


def chat(s: Settings, call: Call) -> Outbound:
    return compat.chat(VENDOR, s, call)


def chat_result(s: Settings, call: Call, body: bytes) -> bytes:
    return compat.chat_result(VENDOR, s, call, body)


class ChatStream(compat.ChatStream):
    vendor = VENDOR


def embeddings(s: Settings, call: Call) -> list[Outbound]:
    return compat.embeddings(VENDOR, s, call)


def embeddings_result(s: Settings, call: Call, bodies: list[bytes]) -> bytes:
    return compat.embeddings_result(VENDOR, s, call, bodies)


def models(s: Settings, call: Call, page: str | None) -> Outbound | None:
    return compat.models(VENDOR, s, call, page)


def models_result(s: Settings, body: bytes) -> tuple[list[str], str | None]:
    return compat.models_result(VENDOR, s, body)


def error(status: int, body: bytes) -> Error:
    return compat.error(VENDOR, status, body)
