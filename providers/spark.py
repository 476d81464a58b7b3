"""iFlytek Spark: an OpenAI-compatible HTTP API (https://www.xfyun.cn/doc/spark/HTTP调用文档.html;
the same document on iFlytek's MaaS site: https://docs.iflyaicloud.com/doc/237).

Base `https://spark-api-open.xf-yun.com/v1`; `POST /chat/completions`. Auth is
`Authorization: Bearer <APIPassword>`; consoles that show an APIKey and APISecret instead take
`Bearer <APIKey>:<APISecret>` (set `SPARK_API_SECRET` and aoa joins them). Models: `lite`
(`general`), `generalv3` (Pro), `pro-128k`, `generalv3.5` (Max), `max-32k`, `4.0Ultra`.

Every answer and stream frame carries `code` (0 = success), `message` and `sid`; a non-zero
`code` is an error even under HTTP 200 and becomes an OpenAI error with the `sid` kept.
Not supported upstream: `temperature` 0 (range (0, 1]), `max_tokens` above 8192, `top_k` outside
1–6, `n` > 1, embeddings, a model list. Assistant turns go without `reasoning_content`.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from . import compat
from .compat import number, refuse, relay, whole
from .core import ConfigError, Error, load_common

PREFIX = "SPARK"

# docs.iflyaicloud.com/doc/237, 3.2 请求参数
PARAMS: dict[str, compat.Rule] = {
    **compat.BOOKKEEPING,
    "temperature": number(0, 1, low_open=True),  # (0, 1], default 0.5
    "max_tokens": whole(1, 8192),
    "max_completion_tokens": compat.renamed("max_tokens", whole(1, 8192)),  # only max_tokens is documented
    "top_p": relay,
    "presence_penalty": relay,
    "frequency_penalty": relay,
    "n": whole(1, 1),
    "stop": relay,
    "tools": relay,  # function calling on Max and 4.0 Ultra
    "tool_choice": relay,
    "parallel_tool_calls": relay,
    "response_format": relay,
    "seed": relay,
    "modalities": relay,
    "reasoning_effort": refuse("Spark has no effort control."),
    "logprobs": refuse("Spark returns no log probabilities."),
    "top_logprobs": refuse("Spark returns no log probabilities."),
    "logit_bias": refuse("Spark has no logit_bias."),
    "audio": refuse("Spark chat answers text only."),
    "prediction": refuse("Spark has no predicted outputs."),
    "web_search_options": refuse("Spark's search is its `web_search` tool."),
    "verbosity": refuse("Spark has no verbosity control."),
    "top_k": whole(1, 6),  # Spark's own extra, [1, 6] (same table)
}

# https://www.xfyun.cn/doc/spark/HTTP调用文档.html#_5-错误码 (and the WebSocket error table it
# refers to, https://www.xfyun.cn/doc/spark/Web.html#_6-错误码).
ERRORS: dict[str, tuple[int, str | None]] = {
    "10007": (429, "rate_limit_exceeded"),  # the user's traffic is limited
    "10013": (400, "content_filter"),  # input failed the safety check
    "10014": (400, "content_filter"),  # output failed the safety check
    "10019": (400, "content_filter"),
    "10907": (400, "context_length_exceeded"),  # too many tokens
    "11200": (403, "permission_denied"),  # no authorisation for this feature / expired
    "11201": (429, "insufficient_quota"),  # daily limit
    "11202": (429, "rate_limit_exceeded"),  # per-second limit
    "11203": (429, "rate_limit_exceeded"),  # concurrency limit
    "10003": (400, "invalid_parameter"),
    "10004": (400, "invalid_parameter"),
    "10005": (400, "invalid_parameter"),
    "10006": (400, "invalid_parameter"),
    "10008": (503, "server_overloaded"),
    "10163": (400, "invalid_parameter"),
    "10222": (502, "server_error"),
    "10110": (503, "server_overloaded"),
    "HMAC signature cannot be verified": (401, "invalid_api_key"),
}
RETRY_CODES = frozenset({"rate_limit_exceeded", "server_overloaded", "server_error"})


class _Status(msgspec.Struct):
    code: int | str = 0


_status = msgspec.json.Decoder(_Status)


def _inband(body: bytes) -> Error | None:
    if b'"code"' not in body:
        return None
    try:
        code = _status.decode(body).code
    except msgspec.DecodeError:
        return None
    if code in (0, "0"):
        return None
    return compat.vendor_error(VENDOR, 200, body)


VENDOR = compat.Vendor(
    name="Spark",
    prefix=PREFIX,
    endpoint="https://spark-api-open.xf-yun.com/v1",
    model="4.0Ultra",
    params=PARAMS,
    history=compat.strip_reasoning,
    errors=ERRORS,
    inband=_inband,
)

Settings = compat.Settings

def load_settings(env: Mapping[str, str]) -> Settings:
    common = load_common(env, PREFIX, endpoint=VENDOR.endpoint, model=VENDOR.model)
    secret = env.get(f"{PREFIX}_API_SECRET", "").strip()
    if secret:
        # Joined here so the pair is one secret to the log redactor and `--check`.
        if not common.api_key or ":" in common.api_key:
            raise ConfigError(f"{PREFIX}_API_SECRET needs {PREFIX}_API_KEY set to the APIKey (without ':')")
        common = msgspec.structs.replace(common, api_key=f"{common.api_key}:{secret}")
    return Settings(common=common)


chat, chat_result, ChatStream, embeddings, embeddings_result, models, models_result, error = compat.contract(VENDOR)
