"""Upstream kinds (`AOA_TYPE`) and the names each provider module exposes.

Every provider module is pure translation (see `core.py`) and defines:

    PREFIX                      env prefix, e.g. "GEMINI" for GEMINI_API_KEY …
    Settings                    msgspec Struct with at least `common: core.Common`
    load_settings(env)          env mapping → Settings; core.ConfigError names a bad variable
    chat(s, call)               → core.Outbound (set .stream=True when the upstream will stream;
                                  it may stream even when the client did not: the IO layer then
                                  assembles one chat.completion from the chunks)
    chat_result(s, call, body)  upstream JSON body → OpenAI chat.completion bytes
    ChatStream(s, call)         per-request stream state:
                                  .feed(event, data) → list of chat.completion.chunk payloads
                                  .close() → the last payloads at upstream EOF
                                  (both may raise core.Error; `[DONE]` is the IO layer's)
    embeddings(s, call)         → list[core.Outbound] (one per upstream batch)
    embeddings_result(s, call, bodies) → OpenAI embedding list bytes
    models(s, call, page)       → core.Outbound for one page of the upstream list, or None
    models_result(s, body)      → (model ids, next page token or None)
    error(status, body)         upstream error body → core.Error (vendor message kept)

Optional: `completions`, `completions_result`, `CompletionStream` for upstreams with a native
legacy `/completions`; without them the IO layer serves it through `chat` as one user turn.
A module with `LOCAL = True` answers in process instead (`local_chat`, `local_stream`,
`local_embeddings`); only the built-in `mock` does.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# AOA_TYPE → module name. Imported on demand: one process serves one upstream.
KINDS: dict[str, str] = {
    "azure": "azure",
    "openai": "openai",
    "yi": "yi",
    "mock": "mock",
    "qwen": "qwen",
    "gemini": "gemini",
    "anthropic": "anthropic",
    "claude": "anthropic",
    "deepseek": "deepseek",
    "moonshot": "moonshot",
    "kimi": "moonshot",
    "zhipu": "zhipu",
    "glm": "zhipu",
    "minimax": "minimax",
    "qianfan": "qianfan",
    "spark": "spark",
    "router": "router",
}

REQUIRED = (
    "PREFIX",
    "Settings",
    "load_settings",
    "chat",
    "chat_result",
    "ChatStream",
    "embeddings",
    "embeddings_result",
    "models",
    "models_result",
    "error",
)
REQUIRED_LOCAL = ("PREFIX", "Settings", "load_settings", "local_chat", "local_stream", "local_embeddings", "models", "models_result")
COMPLETIONS = ("completions", "completions_result", "CompletionStream")


def load(kind: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{KINDS[kind]}")
