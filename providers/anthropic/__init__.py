"""Anthropic Claude on the Messages API (`AOA_TYPE=anthropic`, or `claude`), native.

Docs: https://platform.claude.com/docs/en/api/messages , wire types as in the official SDK
https://github.com/anthropics/anthropic-sdk-python (`anthropic/types/`).

- chat: `POST {endpoint}/v1/messages` with `x-api-key` and `anthropic-version`; streams are
  Anthropic's named events (`message_start` … `message_stop`), translated chunk by chunk. A
  non-stream request above `tables.LONG_REQUEST_TOKENS` max_tokens is streamed upstream (as
  Anthropic asks for long requests) and assembled by the IO layer.
- system and developer messages → top-level `system` text blocks; consecutive turns of one role
  merged; tool results open their user turn; a leading assistant text is merged into the first
  user turn (no filler is invented).
- images: data: URLs as base64 blocks, http(s) URLs as URL sources (Anthropic fetches them);
  `file` parts: PDF → `document` (base64), text files → text documents, images → image blocks.
- tools → `{name, description, input_schema, strict}` (strict only where Anthropic supports it);
  tool_choice auto/required/none/named → auto/any/none/tool; `parallel_tool_calls: false` →
  `disable_parallel_tool_use`. Legacy functions/function_call likewise.
- response_format json_schema → `output_config.format` on models with structured outputs; on
  older models (and for json_object) a forced `json_answer` tool whose input is returned as
  `content` (see `request.to_answer`).
- reasoning_effort → `thinking` with a budget (`tables.REASONING_BUDGET`), or adaptive thinking
  with `output_config.effort` on models that want it; `thinking`, `budget_tokens`, `top_k` are
  accepted as top-level extras. Thinking comes back as `reasoning_content`; thinking blocks and
  their signatures ride in the tool call id (see `ids.py`) and are replayed before their
  `tool_use`, so thinking tool loops work through any OpenAI client.
- prompt caching: client `cache_control` on parts, messages and tools is relayed;
  `ANTHROPIC_PROMPT_CACHE=auto` places breakpoints on the system prompt, the tools and the last
  user turn. Cache reads are reported as `prompt_tokens_details.cached_tokens`.
- models: `GET {endpoint}/v1/models`, paged with `after_id`. Anthropic has no embeddings (400).
Ignored (no effect on the answer): metadata (only `user`/`safety_identifier` reach
`metadata.user_id`), store, service_tier, prompt cache keys, moderation, an assistant turn's
`reasoning_content` (the signed blocks travel in the tool call ids).
Not supported (400 naming the field): n > 1, logprobs, top_logprobs, presence/frequency
penalties ≠ 0, logit_bias, seed, audio, modalities other than text, prediction,
web_search_options, verbosity, temperature > 1, input_audio and file_id parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from msgspec import Struct
from msgspec.json import Encoder

from .. import oai
from ..core import Call, Common, ConfigError, Error, Outbound, load_common, parse_int
from . import request, response, stream, tables
from .tables import IGNORED, MAPPED, RETRY_CODES, UNSUPPORTED  # noqa: F401 - this provider's surface

PREFIX = "ANTHROPIC"
DEFAULT_ENDPOINT = "https://api.anthropic.com"
DEFAULT_MODEL = "claude-sonnet-4-5"
DEFAULT_VERSION = "2023-06-01"
PROMPT_CACHE_MODES = ("off", "auto")
MODELS_PAGE_SIZE = 1000

_encode = Encoder().encode


class Settings(Struct, kw_only=True):
    common: Common
    version: str = DEFAULT_VERSION
    beta: str = ""
    max_tokens: int = 0  # 0: per model (tables.max_tokens)
    prompt_cache: str = "off"


def load_settings(env: Mapping[str, str]) -> Settings:
    common = load_common(env, PREFIX, endpoint=DEFAULT_ENDPOINT, model=DEFAULT_MODEL)
    # aoa adds /v1/messages itself; users paste the base URL with or without /v1.
    common.endpoint = common.endpoint.removesuffix("/v1")
    cache = env.get("ANTHROPIC_PROMPT_CACHE", "").strip().lower() or "off"
    if cache not in PROMPT_CACHE_MODES:
        raise ConfigError(f"ANTHROPIC_PROMPT_CACHE={cache!r} is not one of {', '.join(PROMPT_CACHE_MODES)}")
    version = env.get("ANTHROPIC_VERSION", "").strip() or DEFAULT_VERSION
    beta = env.get("ANTHROPIC_BETA", "").strip()
    for var, value in (("ANTHROPIC_VERSION", version), ("ANTHROPIC_BETA", beta)):
        if any(ch in value for ch in "\r\n\0"):
            raise ConfigError(f"{var} must be one line")
    return Settings(
        common=common,
        version=version,
        beta=beta,
        max_tokens=parse_int(env, "ANTHROPIC_MAX_TOKENS", 0, low=1),
        prompt_cache=cache,
    )


def headers(s: Settings, key: str) -> dict[str, str]:
    h = {"Content-Type": "application/json", "anthropic-version": s.version}
    if key:
        h["x-api-key"] = key
    if s.beta:
        h["anthropic-beta"] = s.beta
    return h


def chat(s: Settings, call: Call) -> Outbound:
    req = oai.decode_chat(call.body)
    body = request.to_request(call, req, default_max_tokens=s.max_tokens, prompt_cache=s.prompt_cache)
    if body.max_tokens > tables.LONG_REQUEST_TOKENS:
        body.stream = True
    return Outbound(url=s.common.endpoint + "/v1/messages", headers=headers(s, call.key), body=_encode(body), stream=bool(body.stream))


def chat_result(s: Settings, call: Call, body: bytes) -> bytes:
    return response.to_chat_completion(call, body, request.answer_tool_used(call))


class ChatStream(stream.ChatStream):
    """Per-request stream state (see `stream.ChatStream`)."""

    def __init__(self, s: Settings, call: Call) -> None:
        super().__init__(call, request.answer_tool_used(call))


def embeddings(s: Settings, call: Call) -> list[Outbound]:
    raise Error(400, "Anthropic has no embeddings API; serve embeddings from another upstream.", param="model", code="unsupported_endpoint")


def embeddings_result(s: Settings, call: Call, bodies: list[bytes]) -> bytes:
    raise Error(400, "Anthropic has no embeddings API.", code="unsupported_endpoint")


def models(s: Settings, call: Call, page: str | None) -> Outbound | None:
    url = f"{s.common.endpoint}/v1/models?limit={MODELS_PAGE_SIZE}"
    if page:
        url += "&after_id=" + quote(page, safe="")
    return Outbound(method="GET", url=url, headers=headers(s, call.key))


def models_result(s: Settings, body: bytes) -> tuple[list[str], str | None]:
    return response.models_result(body)


def error(status: int, body: bytes) -> Error:
    return response.error(status, body)


__all__ = [
    "PREFIX", "Settings", "load_settings", "chat", "chat_result", "ChatStream", "embeddings",
    "embeddings_result", "models", "models_result", "error", "RETRY_CODES", "tables",
]
