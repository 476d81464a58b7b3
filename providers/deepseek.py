"""DeepSeek: an OpenAI-compatible API (https://api-docs.deepseek.com/).

Base `https://api.deepseek.com`; `POST /chat/completions`, `GET /models`. Thinking output comes
back as `reasoning_content` next to `content` already (stream and not). Thinking mode is on by
default and is switched with the extra field `thinking: {"type": "enabled"|"disabled"}`;
`reasoning_effort` is DeepSeek's own effort control and is relayed
(https://api-docs.deepseek.com/guides/thinking_mode).

History: between two user messages, DeepSeek ignores `reasoning_content` of assistant turns when
no tool was called and requires it (400 otherwise) when one was
(https://api-docs.deepseek.com/guides/thinking_mode, 输入输出参数 / tool calls). aoa keeps it in
user turns with tool calls and drops it elsewhere, where it is ignored today and where the older
reasoner answered 400 (https://api-docs.deepseek.com/guides/reasoning_model, multi-round).
Not supported upstream: embeddings, `n` > 1, `response_format` json_schema.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from . import compat
from .compat import format_types, number, refuse, relay, whole

PREFIX = "DEEPSEEK"

# https://api-docs.deepseek.com/api/create-chat-completion (request body);
# thinking mode ignores temperature/top_p/penalties without an error (guides/thinking_mode).
PARAMS: dict[str, compat.Rule] = {
    **compat.BOOKKEEPING,
    "temperature": number(0, 2),
    "top_p": number(0, 1),
    "presence_penalty": number(-2, 2),
    "frequency_penalty": number(-2, 2),
    "max_tokens": relay,
    "max_completion_tokens": compat.renamed("max_tokens"),  # only max_tokens is documented
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
    "logit_bias": refuse("DeepSeek has no logit_bias."),
    "audio": refuse("DeepSeek answers text only."),
    "modalities": relay,
    "prediction": refuse("DeepSeek has no predicted outputs."),
    "web_search_options": refuse("DeepSeek's API has no web search."),
    "verbosity": refuse("DeepSeek has no verbosity control."),
}

def _history(ctx: compat.Ctx) -> None:
    raw = ctx.fields.get("messages")
    if raw is None or b'"reasoning_content"' not in ctx.call.body:
        return
    messages = compat.decode_messages(raw)
    turn: list[dict] = []  # assistant messages of the current user turn
    tools = changed = False
    for m in [*messages, None]:  # None closes the last turn
        role = bytes(m.get("role", b"")) if m is not None else b'"user"'
        if role == b'"user"':
            if not tools:
                for a in turn:
                    changed |= a.pop("reasoning_content", None) is not None
            turn, tools = [], False
        elif role == b'"assistant"':
            turn.append(m)
            calls = m.get("tool_calls")
            tools |= calls is not None and bytes(calls) not in (b"null", b"[]")
    if changed:
        ctx.fields["messages"] = msgspec.Raw(msgspec.json.encode(messages))


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
    history=_history,
    errors=ERRORS,
    # The HTTP status carries DeepSeek's meaning (402 balance, 422 parameters, 503 overloaded).
    statuses={402: (429, "insufficient_quota"), 422: (400, "invalid_parameter"), 429: (429, "rate_limit_exceeded"), 500: (500, "server_error"), 503: (503, "server_overloaded")},
    # https://api-docs.deepseek.com/api/create-chat-completion (response `finish_reason`):
    # `insufficient_system_resource` means the answer was cut off by DeepSeek, not finished.
    finish={"insufficient_system_resource": None},
    models=True,
)

Settings = compat.Settings


def load_settings(env: Mapping[str, str]) -> Settings:
    return compat.load_settings(VENDOR, env)


chat, chat_result, ChatStream, embeddings, embeddings_result, models, models_result, error = compat.contract(VENDOR)
