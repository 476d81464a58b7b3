"""Moonshot Kimi: an OpenAI-compatible API (https://platform.moonshot.cn/docs/api/chat,
international https://platform.moonshot.ai/docs/api/chat).

Bases: `https://api.moonshot.cn/v1` (China), `https://api.moonshot.ai/v1` (international).
`POST /chat/completions`, `GET /models`. Thinking models answer with `reasoning_content` next to
`content`; the extra field `thinking: {"type": "enabled"|"disabled"}` switches it where the model
allows (https://platform.kimi.ai/docs/api/models-overview).

History: in tool loops the thinking models need `reasoning_content` of earlier assistant turns
sent back, so assistant turns are relayed exactly as the client sent them
(https://platform.moonshot.cn/docs/guide/use-kimi-k2-thinking-model).
Not supported upstream: embeddings, `tool_choice: "required"`, `temperature` above 1, `n` above 5.
Model-specific fixed sampling values (e.g. kimi-k2.6 accepts only temperature 1) are left to
Moonshot, whose 400 names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import compat
from .compat import Ctx, choices, number, refuse, relay
from .core import Error

PREFIX = "MOONSHOT"


def _n(ctx: Ctx, name: str, value: Any) -> None:
    # "When temperature is close to 0, n can only be 1" (platform.kimi.ai/docs/api/models-overview);
    # range 1–5 (platform.moonshot.cn/docs/api/chat, request body `n`).
    compat.whole(1, 5)(ctx, name, value)
    temperature = ctx.value("temperature")
    if value > 1 and isinstance(temperature, (int, float)) and temperature < 0.001:
        raise Error(400, "Moonshot takes `n` > 1 only when `temperature` is not close to 0.", param="n", code="invalid_value")


# https://platform.moonshot.cn/docs/api/chat (request body)
PARAMS: dict[str, compat.Rule] = {
    **compat.BOOKKEEPING,
    "temperature": number(0, 1),
    "top_p": number(0, 1),
    "n": _n,
    "presence_penalty": number(-2, 2),
    "frequency_penalty": number(-2, 2),
    "max_tokens": relay,
    "max_completion_tokens": relay,
    "stop": compat.stop_words(5),
    "tools": relay,
    # "tool_choice 目前不支持 required" (api/chat, tool_choice)
    "tool_choice": choices("none", "auto", "function"),
    "parallel_tool_calls": relay,
    "response_format": compat.format_types("text", "json_object"),
    "reasoning_effort": relay,
    "seed": relay,
    "modalities": relay,
    "logprobs": refuse("Moonshot returns no log probabilities."),
    "top_logprobs": refuse("Moonshot returns no log probabilities."),
    "logit_bias": refuse("Moonshot has no logit_bias."),
    "audio": refuse("Moonshot answers text only."),
    "prediction": refuse("Moonshot has no predicted outputs."),
    "web_search_options": refuse("Moonshot's web search is its builtin `$web_search` tool."),
    "verbosity": refuse("Moonshot has no verbosity control."),
}

# https://platform.moonshot.cn/docs/api/chat#错误说明 — error `type` → status.
ERRORS: dict[str, tuple[int, str | None]] = {
    "content_filter": (400, "content_filter"),
    "invalid_authentication_error": (401, "invalid_api_key"),
    "permission_denied_error": (403, None),
    "resource_not_found_error": (404, "model_not_found"),
    "exceeded_current_quota_error": (429, "insufficient_quota"),
    "engine_overloaded_error": (429, "server_overloaded"),
    "rate_limit_reached_error": (429, "rate_limit_exceeded"),
    "server_error": (500, "server_error"),
    "unexpected_output": (500, "server_error"),
}
RETRY_CODES = frozenset({"server_overloaded", "rate_limit_exceeded", "server_error"})

VENDOR = compat.Vendor(
    name="Moonshot",
    prefix=PREFIX,
    endpoint="https://api.moonshot.cn/v1",
    model="kimi-k3",
    params=PARAMS,
    errors=ERRORS,
    models=True,
)

Settings = compat.Settings


def load_settings(env: Mapping[str, str]) -> Settings:
    return compat.load_settings(VENDOR, env)


chat, chat_result, ChatStream, embeddings, embeddings_result, models, models_result, error = compat.contract(VENDOR)
