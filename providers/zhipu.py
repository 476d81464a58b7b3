"""Zhipu GLM (BigModel): an OpenAI-compatible API (https://docs.bigmodel.cn/api-reference,
international Z.ai https://docs.z.ai/api-reference).

Bases: `https://open.bigmodel.cn/api/paas/v4` (China), `https://api.z.ai/api/paas/v4`
(international). `POST /chat/completions`, `POST /embeddings`. The API key is sent as it is
(`Authorization: Bearer <id.secret>`): the docs list API-key auth first and the HS256 JWT only
as an option for callers that want short-lived tokens, so aoa does not sign one
(https://docs.bigmodel.cn/cn/guide/develop/http/introduction, 支持的鉴权方式). GLM Coding Plan
keys use `https://open.bigmodel.cn/api/coding/paas/v4` (same page).

History: with thinking and tools GLM needs earlier `reasoning_content` returned with the tool
results ("必须显式保留 Reasoning content", https://docs.bigmodel.cn/cn/guide/capabilities/thinking-mode),
so assistant turns go back as sent.

Reasoning arrives as `reasoning_content`; `thinking: {"type": "enabled"|"disabled"}`,
`reasoning_effort`, `do_sample`, `tool_stream`, `clear_thinking` are GLM fields and pass through
(https://docs.bigmodel.cn/cn/guide/start/concept-param). A client that streams with tools to GLM-4.6 or
later gets `tool_stream: true` added (ZHIPU_TOOL_STREAM), so tool-call arguments stream as deltas
(https://docs.bigmodel.cn/cn/guide/capabilities/stream-tool). Inline images lose their
`data:image/…;base64,` prefix, as Zhipu's own SDK sends them.
Not supported upstream: `n` > 1, more than one stop word, `tool_choice` other than "auto",
temperature above 1, a model list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from . import compat
from .compat import Ctx, choices, number, refuse, relay
from .core import Common, load_common, parse_bool

PREFIX = "ZHIPU"


_TEMPERATURE = number(0, 1)


def _temperature(ctx: Ctx, name: str, value: Any) -> None:
    _TEMPERATURE(ctx, name, value)
    if value == 0 and "do_sample" not in ctx.fields:
        # Older GLM models refuse temperature 0; the documented greedy switch is
        # do_sample=false, under which temperature and top_p are not used
        # (https://docs.bigmodel.cn/cn/guide/start/concept-param#do_sample). Zhipu's own SDK
        # does the same (zhipuai-sdk-python-v4, api_resource/chat/completions.py).
        del ctx.fields[name]
        ctx.set("do_sample", False)


# https://docs.bigmodel.cn/api-reference/模型-api/对话补全 (request body)
PARAMS: dict[str, compat.Rule] = {
    **compat.BOOKKEEPING,
    "temperature": _temperature,
    "top_p": number(0.01, 1),  # documented range [0.01, 1.0]
    "max_tokens": relay,
    "max_completion_tokens": compat.renamed("max_tokens"),  # only max_tokens is documented
    "stop": compat.stop_words(1),  # "目前仅支持单个停止词"
    "tools": relay,
    "tool_choice": choices("auto"),  # "仅支持 auto"
    "response_format": compat.format_types("text", "json_object"),
    "reasoning_effort": relay,
    "seed": relay,
    "modalities": relay,
    "parallel_tool_calls": relay,
    "n": compat.whole(1, 1),
    "presence_penalty": refuse("GLM has no presence_penalty."),
    "frequency_penalty": refuse("GLM has no frequency_penalty."),
    "logprobs": refuse("GLM returns no log probabilities."),
    "top_logprobs": refuse("GLM returns no log probabilities."),
    "logit_bias": refuse("GLM has no logit_bias."),
    "audio": refuse("GLM chat answers text only."),
    "prediction": refuse("GLM has no predicted outputs."),
    "web_search_options": refuse("GLM's web search is its `web_search` tool."),
    "verbosity": refuse("GLM has no verbosity control."),
}

# https://docs.bigmodel.cn/cn/faq/api-code — business codes in {"error":{"code":"1301",...}}.
ERRORS: dict[str, tuple[int, str | None]] = {
    **{c: (401, "invalid_api_key") for c in ("1000", "1001", "1002", "1003", "1004")},
    **{c: (403, "account_error") for c in ("1110", "1111", "1112", "1120", "1121")},
    "1113": (429, "insufficient_quota"),  # in arrears
    **{c: (400, "invalid_parameter") for c in ("1200", "1210", "1212", "1213", "1214", "1215", "1230", "1231", "1261")},
    "1211": (404, "model_not_found"),
    "1220": (403, "permission_denied"),
    "1221": (404, "not_found"),
    "1222": (404, "not_found"),
    "1234": (502, "server_error"),
    "1300": (400, "content_filter"),
    "1301": (400, "content_filter"),
    "1302": (429, "rate_limit_exceeded"),
    "1303": (429, "rate_limit_exceeded"),
    "1304": (429, "insufficient_quota"),
    "1305": (503, "server_overloaded"),
    "1308": (429, "insufficient_quota"),
    "1309": (429, "insufficient_quota"),
    "1310": (429, "insufficient_quota"),
    "500": (500, "server_error"),
}
RETRY_CODES = frozenset({"rate_limit_exceeded", "server_overloaded", "server_error"})


# "仅限 glm-4.6 glm-4.7 glm-5" and later (https://docs.bigmodel.cn/cn/guide/capabilities/stream-tool);
# older models send a call whole in one chunk, which OpenAI clients take as well.
_TOOL_STREAM_MODELS = re.compile(r"glm-(?:4\.[6-9]|[5-9])", re.IGNORECASE)


def _prepare(ctx: Ctx) -> None:
    f = ctx.fields
    if (
        ctx.call.stream
        and "tools" in f
        and "tool_stream" not in f
        and ctx.settings.tool_stream
        and _TOOL_STREAM_MODELS.match(ctx.model)
    ):
        ctx.set("tool_stream", True)
    if b"data:image/" in ctx.call.body and "messages" in f:
        _inline_images(ctx)


def _inline_images(ctx: Ctx) -> None:
    """GLM vision takes inline images as bare base64: Zhipu's own SDK removes the
    `data:image/…;base64,` prefix before sending (zhipuai-sdk-python-v4,
    zhipuai/api_resource/chat/completions.py, `_drop_prefix_image_data`)."""
    messages = compat.decode_messages(ctx.fields["messages"])
    for m in messages:
        raw = m.get("content")
        if raw is None or b"data:image/" not in bytes(raw):
            continue
        parts = compat.decode_value(raw, "messages")
        if not isinstance(parts, list):
            continue
        for part in parts:
            url = part.get("image_url") if isinstance(part, dict) else None
            if isinstance(url, dict) and isinstance(url.get("url"), str) and url["url"].startswith("data:image/"):
                url["url"] = url["url"].split("base64,", 1)[-1]
        m["content"] = msgspec.Raw(msgspec.json.encode(parts))
    ctx.fields["messages"] = msgspec.Raw(msgspec.json.encode(messages))


VENDOR = compat.Vendor(
    name="Zhipu GLM",
    prefix=PREFIX,
    endpoint="https://open.bigmodel.cn/api/paas/v4",
    model="glm-5",
    params=PARAMS,
    errors=ERRORS,
    # GLM finish reasons (docs.bigmodel.cn, 对话补全 response `finish_reason`).
    finish={"sensitive": "content_filter", "model_context_window_exceeded": "length", "network_error": None},
    prepare=_prepare,
    embeddings=True,
)


class Settings(msgspec.Struct, kw_only=True):
    common: Common
    tool_stream: bool = True

def load_settings(env: Mapping[str, str]) -> Settings:
    return Settings(
        common=load_common(env, PREFIX, endpoint=VENDOR.endpoint, model=VENDOR.model),
        tool_stream=parse_bool(env, f"{PREFIX}_TOOL_STREAM", True),
    )


chat, chat_result, ChatStream, embeddings, embeddings_result, models, models_result, error = compat.contract(VENDOR)
