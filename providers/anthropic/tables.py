"""Anthropic tables: parameter policy, value maps and what each model family accepts.

Model facts: https://platform.claude.com/docs/en/about-claude/models/overview (output limits),
https://platform.claude.com/docs/en/build-with-claude/structured-outputs (which models),
https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking (which models).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# --- parameter policy -----------------------------------------------------------------------

MAPPED = frozenset({
    "messages", "model", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop",
    "user", "safety_identifier", "tools", "tool_choice", "parallel_tool_calls", "functions",
    "function_call", "response_format", "reasoning_effort", "stream", "stream_options", "n",
    "logprobs", "top_logprobs", "presence_penalty", "frequency_penalty", "logit_bias", "modalities",
})
# Bookkeeping fields with no effect on the answer. OpenAI's `metadata` is a free map of strings;
# Anthropic's only takes `user_id`, fed from `user`. Cache keys: Anthropic caches by prefix and
# breakpoints (see ANTHROPIC_PROMPT_CACHE), not by key.
IGNORED = frozenset({
    "metadata", "store", "service_tier", "prompt_cache_key", "prompt_cache_retention",
    "prompt_cache_options", "moderation",
})
UNSUPPORTED = frozenset({
    "audio", "prediction", "web_search_options", "verbosity", "seed",
})
# Mapped fields that only have a value Anthropic can honour: anything else is a 400 naming them.
# Anthropic has one answer per call, no log probabilities and no penalties.
ONLY: dict[str, tuple[Any, ...]] = {
    "n": (1,),
    "logprobs": (False,),
    "top_logprobs": (0,),
    "presence_penalty": (0,),
    "frequency_penalty": (0,),
    "logit_bias": ({},),
    "modalities": (["text"],),
}
# Anthropic's own request fields, taken as top-level extras (the openai SDK's `extra_body`).
EXTRA_FIELDS = frozenset({"top_k", "thinking", "budget_tokens"})

# The tool a JSON answer is asked for through on models without native structured outputs.
ANSWER_TOOL = "json_answer"

# https://platform.claude.com/docs/en/api/messages (temperature: 0.0 to 1.0)
TEMPERATURE_MAX = 1.0

# --- value maps -----------------------------------------------------------------------------

ROLE = {"user": "user", "assistant": "assistant", "tool": "user", "function": "user"}

TOOL_CHOICE = {"auto": "auto", "required": "any", "none": "none"}

# https://platform.claude.com/docs/en/api/messages#response-stop-reason
FINISH_REASON = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    # A long server-side turn was paused: the answer is unfinished, and sending the conversation
    # back continues it. OpenAI's nearest word for "cut short, ask again" is length.
    "pause_turn": "length",
}
FINISH_FALLBACK = "stop"

# OpenAI reasoning_effort → thinking budget (tokens, ≥ 1024 by Anthropic's rule) on models
# with manual extended thinking.
REASONING_BUDGET = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768}
# … and → output_config.effort on models that think adaptively (they take no budget).
ADAPTIVE_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh"}
MIN_BUDGET = 1024

# https://platform.claude.com/docs/en/api/errors (error.type → HTTP status)
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    # HTTP 529 has no meaning to HTTP clients; 503 is what every OpenAI SDK retries and what
    # load balancers understand as "try again later".
    "overloaded_error": 503,
}
ERROR_FALLBACK_STATUS = 500
# core.Error.code values a retry policy may retry (after Retry-After when given).
RETRY_CODES = frozenset({"overloaded_error", "rate_limit_error", "api_error", "timeout_error"})

# Above this max_tokens a non-stream client is served from an upstream stream (assembled by the IO
# layer): Anthropic's SDKs refuse non-streaming calls that may outlast 10 minutes, estimating an
# hour per 128,000 tokens (`anthropic/_base_client.py`, `_calculate_nonstreaming_timeout`).
LONG_REQUEST_TOKENS = 128_000 * 10 // 60

# --- model families -------------------------------------------------------------------------

# `claude-sonnet-4-5`, `claude-opus-4-1-20250805`, `claude-haiku-4-5`: line, major, minor.
# Bounded digit runs: `int()` refuses strings of over 4300 digits, and a client picks the name.
_NEW_NAME = re.compile(r"^claude-([a-z]+)-(\d{1,3})(?:-(\d{1,2}))?(?:-|$)")
# `claude-3-5-sonnet-20241022`, `claude-3-opus-20240229`: major, minor, line.
_OLD_NAME = re.compile(r"^claude-(\d{1,3})(?:-(\d{1,2}))?-([a-z]+)")


@lru_cache(maxsize=512)  # a handful of model names per process; several lookups per request
def version(model: str) -> tuple[int, int] | None:
    """(major, minor) of a Claude model name; None for a name aoa cannot read (a compatible
    host's own model, say), which is then treated like the oldest family."""
    name = model.lower().removeprefix("anthropic/")
    if m := _NEW_NAME.match(name):
        return int(m.group(2)), int(m.group(3) or 0)
    if m := _OLD_NAME.match(name):
        return int(m.group(1)), int(m.group(2) or 0)
    return None


def structured_outputs(model: str) -> bool:
    """Native `output_config.format` and strict tools: Opus 4.1, the 4.5 family and later."""
    v = version(model)
    if v is None:
        return False
    return v >= (4, 5) or (v == (4, 1) and "opus" in model)


def adaptive_thinking(model: str) -> bool:
    """Models that want `thinking: {type: adaptive}` with an effort instead of a budget."""
    v = version(model)
    return v is not None and v >= (4, 6)


# (max_tokens sent when the client gives none, the model's own output limit)
def max_tokens(model: str) -> tuple[int, int | None]:
    v = version(model)
    if v is None:
        return 4096, None
    if v < (3, 5):
        return 4096, 4096
    if v < (3, 7):
        return 8192, 8192
    if v in ((4, 0), (4, 1)) and "opus" in model:
        return 16384, 32000
    return 16384, 64000
