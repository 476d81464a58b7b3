"""DeepSeek: an OpenAI-compatible API (https://api-docs.deepseek.com/).

Base `https://api.deepseek.com`; `POST /chat/completions`, `GET /models`. Thinking output comes
back as `reasoning_content` next to `content` already (stream and not). Thinking mode is on by
default and is switched with the extra field `thinking: {"type": "enabled"|"disabled"}`;
`reasoning_effort` is DeepSeek's own effort control and is relayed
(https://api-docs.deepseek.com/guides/thinking_mode).

History: DeepSeek ignores `reasoning_content` on turns without tool calls and requires it on
tool-call turns (400 otherwise), so assistant turns are relayed exactly as the client sent them
(https://api-docs.deepseek.com/guides/thinking_mode#tool-calls).
Not supported upstream: embeddings, `n` > 1, `response_format` json_schema.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import compat
from .compat import format_types, number, refuse, relay, whole
from .core import Call, Error, Outbound

PREFIX = "DEEPSEEK"

# https://api-docs.deepseek.com/api/create-chat-completion (request body);
# thinking mode ignores temperature/top_p/penalties without an error (guides/thinking_mode).
PARAMS: dict[str, compat.Rule] = {
    "temperature": number(0, 2),
    "top_p": number(0, 1),
    "presence_penalty": number(-2, 2),
    "frequency_penalty": number(-2, 2),
    "max_tokens": relay,
    "max_completion_tokens": relay,
    "stop": relay,
    "tools": relay,
    "tool_choice": relay,  # none / auto / required / named, all documented
    "parallel_tool_calls": relay,
    "response_format": format_types("text", "json_object"),
    "logprobs": relay,
    "top_logprobs": whole(0, 20),
    "reasoning_effort": relay,  # minimal…max mapped by DeepSeek itself (guides/thinking_mode)
    "n": whole(1, 1),  # not a DeepSeek parameter: one choice per request
    "seed": relay,
    "user": relay,
    "metadata": relay,
    "store": relay,
    "service_tier": relay,
    "safety_identifier": relay,
    "prompt_cache_key": relay,
    "prompt_cache_options": relay,
    "prompt_cache_retention": relay,
    "logit_bias": refuse("DeepSeek has no logit_bias."),
    "functions": refuse("use `tools`."),
    "function_call": refuse("use `tool_choice`."),
    "audio": refuse("DeepSeek answers text only."),
    "modalities": relay,
    "prediction": refuse("DeepSeek has no predicted outputs."),
    "web_search_options": refuse("DeepSeek's API has no web search."),
    "verbosity": refuse("DeepSeek has no verbosity control."),
    "moderation": relay,
}

# https://api-docs.deepseek.com/quick_start/error_codes
ERRORS: dict[str, tuple[int, str | None]] = {
    "authentication_error": (401, "invalid_api_key"),
    "insufficient_balance": (429, "insufficient_quota"),
}
RETRY_CODES = frozenset({"rate_limit_exceeded", "server_overloaded", "server_error"})

VENDOR = compat.Vendor(
    name="DeepSeek",
    prefix=PREFIX,
    endpoint="https://api.deepseek.com",
    model="deepseek-v4-flash",
    params=PARAMS,
    errors=ERRORS,
    # The HTTP status carries DeepSeek's meaning (402 balance, 422 parameters, 503 overloaded).
    statuses={402: (429, "insufficient_quota"), 422: (400, "invalid_parameter"), 429: (429, "rate_limit_exceeded"), 500: (500, "server_error"), 503: (503, "server_overloaded")},
    models=True,
)

Settings = compat.Settings


def load_settings(env: Mapping[str, str]) -> Settings:
    return compat.load_settings(VENDOR, env)


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
