"""Google Gemini on the Generative Language API (`generativelanguage.googleapis.com`), native,
or on Vertex AI (`GEMINI_VERTEX=true`: express mode with an API key, or a project and location
with a service account; see `endpoint`). Vertex embeddings use `:predict`.

Docs: https://ai.google.dev/api/generate-content , field names as in the official SDK
https://github.com/googleapis/python-genai (`google/genai/types.py`).

- chat: `POST {endpoint}/{ver}/models/{model}:generateContent`; a streaming client gets
  `:streamGenerateContent?alt=sse`, where every `data:` is a whole GenerateContentResponse and
  no `[DONE]` follows. The key travels in `x-goog-api-key`, never in the URL.
- system and developer messages become `systemInstruction`; user/assistant turns become
  `user`/`model` contents, consecutive turns of one role merged. Gemini wants the
  conversation to open with a user turn: a leading assistant text is merged into the first
  user turn (no filler text is invented).
- images: data: URLs are inlined; http(s) URLs are fetched by the IO layer and inlined;
  `gs://` and Gemini Files API URIs go as `fileData`. `input_audio` is inlined; `file` parts
  (documents Gemini reads, by MIME type) from data:, base64, fetched http(s) or gs:// URIs;
  `video_url` parts as fileData (gs://, Files API, YouTube) or inlined; `file_id` parts cannot
  be resolved (400), nor zip/Office files.
- tools: function tools → `functionDeclarations` with `parametersJsonSchema` (JSON Schema as
  sent). Tool results → `functionResponse`, its `name` recovered from the assistant tool call
  with the same id; a result that is not a JSON object is wrapped as `{"result": <value or
  text>}` (Gemini wants an object). Thought signatures ride inside the tool call id (see
  `tool_call_id`); a text part's signature rides in `extra_content.google.thought_signature`.
  On Gemini 3, a model step whose first call carries no signature (a foreign call) gets
  Google's documented stand-in (`FOREIGN_SIGNATURE`). Legacy `functions` requests are answered with `tool_calls` too: a
  `function_call` has no id to carry the signature.
- `reasoning_effort` → `thinkingConfig`: a level on Gemini 3, a budget on 2.5, per model family
  (`MODEL_FAMILIES`); thoughts come back as `reasoning_content`. Gemini's own `top_k`,
  `thinking_budget` and `thinking_level` (win over reasoning_effort) are accepted as top-level
  request fields (`Extras`).
- embeddings: `:batchEmbedContents`, 100 texts per call, `task_type`/`title` extras; vectors
  below the model's native size are scaled to unit length. Models: `GET {ver}/models`, paged.
Ignored (no effect on the answer): user, metadata, store, service_tier, prompt cache keys,
safety_identifier, parallel_tool_calls (Gemini has no switch; `false` is not honoured).
Not supported (400 naming the field): logit_bias, audio output, modalities other than text,
prediction, web_search_options, verbosity, non-function tools, `file_id` parts.

Package layout: `endpoint` (settings, URLs, headers), `tables` (policy and value maps, data
only), `wire` (Gemini's types), `ids` (tool call ids carrying thought signatures), `request`,
`response`, `stream`, `embed` (embeddings and the model list).
"""

from __future__ import annotations

from .embed import (
    EmbedExtras,
    embed_extras,
    embeddings,
    embeddings_result,
    models,
    models_result,
    needs_normalising,
    normalised,
    vertex_embed_batch,
)
from .endpoint import (
    API_VERSIONS,
    DEFAULT_ENDPOINT,
    DEFAULT_MODEL,
    PREFIX,
    VERTEX_API_VERSIONS,
    VERTEX_GLOBAL_ENDPOINT,
    Settings,
    base,
    headers,
    headers_for,
    load_settings,
    model_path,
    model_url,
    oauth,
)
from .ids import ID_MARK, SIGNATURE_MARK, gemini_id_of, signature_of, tool_call_id
from .request import Extras, chat, extras, to_contents, to_generation_config, to_request, to_tool_config, to_tools
from .response import chat_result, error, extra_content, finish_reason, logprobs, usage
from .stream import ChatStream
from .tables import (
    AUDIO_MIME,
    EMBED_BATCH,
    EMBED_MAX_INPUTS,
    EMBED_NATIVE_SIZE,
    EXTENSION_MIME,
    FAMILY_FALLBACK,
    FILE_MIME_PREFIXES,
    FINISH_FALLBACK,
    FINISH_REASON,
    FOREIGN_SIGNATURE,
    HARM_CATEGORIES,
    IGNORED,
    MAPPED,
    MODEL_FAMILIES,
    MODELS_PAGE_SIZE,
    NEUTRAL,
    REASONING_BUDGET,
    REASONING_EFFORTS,
    RETRY_CODES,
    ROLE,
    SAFETY_THRESHOLDS,
    TASK_TYPES,
    TOOL_CHOICE_MODE,
    UNSUPPORTED,
    VERTEX_EMBED_BATCH,
    VERTEX_EMBED_BATCH_FALLBACK,
    YOUTUBE_PREFIXES,
    Family,
    family,
)
from .wire import *  # noqa: F403 - Gemini's types are part of this provider's surface
from .wire import __all__ as _wire_names

__all__ = [
    "API_VERSIONS", "AUDIO_MIME", "DEFAULT_ENDPOINT", "DEFAULT_MODEL", "EMBED_BATCH", "EMBED_MAX_INPUTS", "EXTENSION_MIME",
    "FINISH_FALLBACK", "FINISH_REASON", "HARM_CATEGORIES", "ID_MARK", "IGNORED", "MAPPED",
    "MODELS_PAGE_SIZE", "NEUTRAL", "PREFIX", "REASONING_BUDGET", "ROLE", "SAFETY_THRESHOLDS",
    "SIGNATURE_MARK", "TOOL_CHOICE_MODE", "UNSUPPORTED", "ChatStream", "Extras", "Settings", "chat",
    "chat_result", "embeddings", "embeddings_result", "error", "extras", "finish_reason",
    "gemini_id_of", "headers", "load_settings", "logprobs", "model_path", "models", "models_result",
    "signature_of", "to_contents", "to_generation_config", "to_request", "to_tool_config", "to_tools",
    "tool_call_id", "usage", "EMBED_NATIVE_SIZE", "FAMILY_FALLBACK", "FILE_MIME_PREFIXES",
    "FOREIGN_SIGNATURE", "MODEL_FAMILIES", "REASONING_EFFORTS", "RETRY_CODES", "TASK_TYPES",
    "YOUTUBE_PREFIXES", "EmbedExtras", "Family", "embed_extras", "extra_content", "family",
    "needs_normalising", "normalised", "VERTEX_API_VERSIONS", "VERTEX_GLOBAL_ENDPOINT",
    "VERTEX_EMBED_BATCH", "VERTEX_EMBED_BATCH_FALLBACK", "base", "headers_for", "model_url", "oauth",
    "vertex_embed_batch", *_wire_names,
]
