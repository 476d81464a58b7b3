"""Baidu Qianfan (ModelBuilder) v2: an OpenAI-compatible API
(https://cloud.baidu.com/doc/qianfan-api/s/3m7of64lb, chat; https://cloud.baidu.com/doc/qianfan-api/s/Om9b4yj3w, errors).

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
from .core import Common, ConfigError, load_common

PREFIX = "QIANFAN"
ERNIE = ("ernie",)

# https://cloud.baidu.com/doc/qianfan-api/s/3m7of64lb (请求参数)
PARAMS: dict[str, compat.Rule] = {
    **compat.BOOKKEEPING,
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
    "modalities": relay,
    "web_search_options": relay,
    "logit_bias": refuse("Qianfan has no logit_bias."),
    "audio": refuse("Qianfan chat answers text only."),
    "prediction": refuse("Qianfan has no predicted outputs."),
    "verbosity": refuse("Qianfan has no verbosity control."),
}

# https://cloud.baidu.com/doc/qianfan-api/s/Om9b4yj3w (v2 `error.code`, with its HTTP status);
# rate limits: https://cloud.baidu.com/doc/WENXINWORKSHOP/s/hlzic283e; the v1 numeric
# `error_code`s some deployments still answer with: https://cloud.baidu.com/doc/WENXINWORKSHOP/s/tlmyncueh
ERRORS: dict[str, tuple[int, str | None]] = {
    "malformed_json": (400, "invalid_json"),
    "invalid_messages": (400, "invalid_parameter"),
    "invalid_argument": (400, "invalid_parameter"),
    "invalid_plugin_argument": (400, "invalid_parameter"),
    "characters_too_long": (400, "context_length_exceeded"),
    "tokens_too_long": (400, "context_length_exceeded"),
    "unsafe_request": (400, "content_filter"),  # an error `type`: e.g. image_url_unsafe
    "invalid_iam_token": (401, "invalid_api_key"),
    "invalid_appid": (401, "invalid_api_key"),
    "no_parameter_permission": (401, "permission_denied"),
    "rpm_rate_limit_exceeded": (429, "rate_limit_exceeded"),
    "tpm_rate_limit_exceeded": (429, "rate_limit_exceeded"),
    # v1
    "1": (500, "server_error"),
    "2": (503, "server_overloaded"),
    "4": (503, "server_overloaded"),
    "6": (403, "permission_denied"),
    "14": (401, "invalid_api_key"),
    "17": (429, "insufficient_quota"),
    "18": (429, "rate_limit_exceeded"),
    "19": (429, "insufficient_quota"),
    "110": (401, "invalid_api_key"),
    "111": (401, "invalid_api_key"),
    "336000": (500, "server_error"),
    "336001": (400, "invalid_parameter"),
    "336002": (400, "invalid_json"),
    "336003": (400, "invalid_parameter"),
    "336501": (429, "rate_limit_exceeded"),
    "336502": (429, "rate_limit_exceeded"),
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
    appid = env.get(f"{PREFIX}_APPID", "").strip()
    if not appid.isprintable():  # a header value: a line break would end it (and fail every request)
        raise ConfigError(f"{PREFIX}_APPID must be one line of printable characters")
    return Settings(
        common=load_common(env, PREFIX, endpoint=VENDOR.endpoint, model=VENDOR.model),
        appid=appid,
    )


chat, chat_result, ChatStream, embeddings, embeddings_result, models, models_result, error = compat.contract(VENDOR)
