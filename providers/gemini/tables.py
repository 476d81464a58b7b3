"""Gemini tables: parameter policy, value maps and MIME types. Data only."""

from __future__ import annotations

from typing import Any

EMBED_BATCH = 100  # https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
MODELS_PAGE_SIZE = 1000

# https://ai.google.dev/api/generate-content#harmcategory (the four the API still filters on)
HARM_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)
# https://ai.google.dev/api/generate-content#HarmBlockThreshold
SAFETY_THRESHOLDS = (
    "OFF",
    "BLOCK_NONE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_LOW_AND_ABOVE",
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
)



MAPPED = frozenset({
    "messages", "model", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop",
    "n", "seed", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs",
    "response_format", "reasoning_effort", "tools", "tool_choice", "functions", "function_call",
})
# Bookkeeping or transport fields with no effect on the answer (stream is the IO layer's).
IGNORED = frozenset({
    "user", "metadata", "store", "safety_identifier", "prompt_cache_key", "prompt_cache_retention",
    "prompt_cache_options", "service_tier", "stream", "stream_options", "parallel_tool_calls",
    "moderation",
})
UNSUPPORTED = frozenset({
    "logit_bias", "audio", "modalities", "prediction", "web_search_options", "verbosity",
})
# Values of unsupported fields that ask for nothing beyond Gemini's default: accepted.
NEUTRAL: dict[str, Any] = {"modalities": ["text"], "logit_bias": {}}

ROLE = {"user": "user", "assistant": "model", "tool": "user", "function": "user"}

TOOL_CHOICE_MODE = {"none": "NONE", "auto": "AUTO", "required": "ANY"}

# OpenAI effort → thinkingBudget, as Google's own OpenAI-compatible endpoint maps it:
# https://ai.google.dev/gemini-api/docs/openai#thinking ("minimal" is aoa's choice).
REASONING_BUDGET = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576}

# https://ai.google.dev/api/generate-content#FinishReason
FINISH_REASON = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "LANGUAGE": "content_filter",
    # The model ended without a usable answer; OpenAI has no closer reason than "stop".
    "MALFORMED_FUNCTION_CALL": "stop",
    "UNEXPECTED_TOOL_CALL": "stop",
    "TOO_MANY_TOOL_CALLS": "stop",
    "OTHER": "stop",
    "FINISH_REASON_UNSPECIFIED": "stop",
}
FINISH_FALLBACK = "stop"

AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mp3"}
# fileData wants a mimeType where Gemini cannot tell; guessed from the name's extension only.
EXTENSION_MIME = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
    "gif": "image/gif", "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf",
    "txt": "text/plain", "wav": "audio/wav", "mp3": "audio/mp3", "mp4": "video/mp4",
}
FILES_API_PREFIX = "https://generativelanguage.googleapis.com/"

