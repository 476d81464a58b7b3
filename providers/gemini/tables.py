"""Gemini tables: parameter policy, value maps and MIME types. Data only."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import oai

EMBED_BATCH = 100  # https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
# OpenAI's own limit on `input` items (https://platform.openai.com/docs/api-reference/embeddings):
# without it one request could fan out into any number of upstream calls (one per text on Vertex).
EMBED_MAX_INPUTS = oai.MAX_INPUTS
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

# --- model families ----------------------------------------------------------------------
# How a model thinks is decided here, by the longest matching name prefix, never by string tests
# scattered in code. https://ai.google.dev/gemini-api/docs/thinking (levels and budget ranges),
# https://ai.google.dev/gemini-api/docs/thought-signatures (Gemini 3 validates signatures).


class Family(NamedTuple):
    # OpenAI reasoning_effort → thinkingLevel (str) or thinkingBudget (int). An effort missing
    # from the table cannot be honoured by the model: 400 naming `reasoning_effort`.
    effort: dict[str, str | int]
    # Gemini 3 answers 400 when the first functionCall of a model turn has no thoughtSignature.
    signed_calls: bool = False


# Gemini 3 thinks in levels (the enum names the official SDK sends, `ThinkingLevel` in
# google/genai/types.py); budgets are accepted there only for backwards compatibility.
# Thinking cannot be turned off on Gemini 3 ("none" has no entry); `minimal` is Flash's nearest.
# Gemini 3 Pro takes only low and high; 3.1 Pro adds medium (not minimal); Flash takes all four.
_G3_PRO = Family({"minimal": "LOW", "low": "LOW", "medium": "HIGH", "high": "HIGH"}, signed_calls=True)
_G31_PRO = Family({"minimal": "LOW", "low": "LOW", "medium": "MEDIUM", "high": "HIGH"}, signed_calls=True)
_G3_FLASH = Family({"minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH"}, signed_calls=True)
# Gemini 2.5 thinks in budgets (tokens), as Google's OpenAI-compatible endpoint maps them:
# https://ai.google.dev/gemini-api/docs/openai#thinking ("minimal" is aoa's choice). 2.5 Pro
# cannot stop thinking (its budget is 128–32768), Flash-Lite's range starts at 512.
_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
_G25 = Family({"none": 0, **_BUDGETS})
_G25_PRO = Family(dict(_BUDGETS))
# Models without thinking: only "none" (what they do anyway) is accepted, and sends nothing.
_NO_THINKING = Family({})

MODEL_FAMILIES: dict[str, Family] = {
    "gemini-3-pro": _G3_PRO,
    "gemini-3.1-pro": _G31_PRO,
    "gemini-3": _G3_FLASH,  # gemini-3-flash, gemini-3.x-flash(-lite) and newer 3.x models
    "gemini-2.5-pro": _G25_PRO,
    "gemini-2.5": _G25,
    "gemini-2.0": _NO_THINKING,
    "gemini-1.5": _NO_THINKING,
    "gemini-1.0": _NO_THINKING,
    "gemini-pro": _NO_THINKING,
    "gemma-": _NO_THINKING,
}
# A model the table does not know (a tuned model, a new name) keeps the 2.5 behaviour.
FAMILY_FALLBACK = _G25
# Kept for readers of the old name: the 2.5 budget table.
REASONING_BUDGET = dict(_G25.effort)
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")


_LONGEST_FIRST = sorted(MODEL_FAMILIES.items(), key=lambda kv: len(kv[0]), reverse=True)


def family(model: str) -> Family:
    name = model.rsplit("/", 1)[-1].lower()
    for prefix, fam in _LONGEST_FIRST:
        if name.startswith(prefix):
            return fam
    return FAMILY_FALLBACK


# Google's documented stand-in for a function call Gemini did not produce (another model's
# history, few-shot examples, client-minted ids): https://ai.google.dev/gemini-api/docs/thought-signatures
# ("FAQs": dummy signatures).
FOREIGN_SIGNATURE = "skip_thought_signature_validator"

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

# `core.Error.code` values (Google's status names) worth retrying after a pause:
# https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
RETRY_CODES: frozenset[str] = frozenset({"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED"})

# input_audio formats: OpenAI's wav and mp3, plus the others Gemini reads
# (https://ai.google.dev/gemini-api/docs/audio#supported-formats).
AUDIO_MIME = {
    "wav": "audio/wav", "mp3": "audio/mp3", "aiff": "audio/aiff", "aac": "audio/aac",
    "ogg": "audio/ogg", "flac": "audio/flac",
}
# fileData wants a mimeType where Gemini cannot tell; guessed from the name's extension only.
EXTENSION_MIME = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
    "gif": "image/gif", "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf",
    "txt": "text/plain", "md": "text/markdown", "csv": "text/csv", "html": "text/html",
    "xml": "text/xml", "rtf": "text/rtf", "css": "text/css", "js": "text/javascript",
    "py": "text/x-python", "json": "application/json",
    "wav": "audio/wav", "mp3": "audio/mp3", "aiff": "audio/aiff", "aac": "audio/aac",
    "ogg": "audio/ogg", "flac": "audio/flac",
    "mp4": "video/mp4", "mpeg": "video/mpeg", "mpg": "video/mpg", "mov": "video/mov",
    "avi": "video/avi", "flv": "video/x-flv", "webm": "video/webm", "wmv": "video/wmv",
    "3gp": "video/3gpp",
}
# What Gemini reads in a `file` part (documents, and media sent that way): by MIME type prefix.
# https://ai.google.dev/gemini-api/docs/document-processing , .../image-understanding,
# .../audio, .../video-understanding. Anything else (zip, docx, xlsx, …) is a 400.
FILE_MIME_PREFIXES = ("application/pdf", "application/json", "text/", "image/", "audio/", "video/")
FILES_API_PREFIX = "https://generativelanguage.googleapis.com/"
# Video links Gemini fetches itself (https://ai.google.dev/gemini-api/docs/video-understanding#youtube).
YOUTUBE_PREFIXES = ("https://www.youtube.com/", "https://youtube.com/", "https://youtu.be/", "https://m.youtube.com/")

# --- embeddings ----------------------------------------------------------------------------
# Native output size per model: Google returns unit vectors only at full size
# (https://ai.google.dev/gemini-api/docs/embeddings#quality-for-smaller-dimensions).
EMBED_NATIVE_SIZE = {
    "gemini-embedding-001": 3072,
    "gemini-embedding-exp-03-07": 3072,
    "text-embedding-004": 768,
    "text-embedding-005": 768,
    "text-multilingual-embedding-002": 768,
    "embedding-001": 768,
}
# Texts per Vertex AI `:predict` call: gemini-embedding takes one, the text-embedding models up
# to 250 (with a 20,000-token cap per call, hence fewer here).
# https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-text-embeddings
VERTEX_EMBED_BATCH = {"gemini-embedding": 1}
VERTEX_EMBED_BATCH_FALLBACK = 50
# https://ai.google.dev/api/embeddings#tasktype
TASK_TYPES = frozenset({
    "TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
    "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
})
