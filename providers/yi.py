"""01.AI Yi: an OpenAI-compatible API (https://platform.lingyiwanwu.com/docs).

Bases: `https://api.lingyiwanwu.com/v1` (China), `https://api.01.ai/v1` (international).
Everything is relayed as for `openai`; Yi only differs in its defaults. Its SSE framing may
split a `data:` line across network reads, which aoa's line-based SSE decoder absorbs.
Not supported upstream: embeddings and legacy completions (Yi answers 404, relayed as such).
"""

from __future__ import annotations

from collections.abc import Mapping

from . import openai
from .core import load_common

PREFIX = "YI"
DEFAULT_ENDPOINT = "https://api.lingyiwanwu.com/v1"
DEFAULT_MODEL = "yi-lightning"

Settings = openai.Settings


def load_settings(env: Mapping[str, str]) -> Settings:
    return Settings(common=load_common(env, PREFIX, endpoint=DEFAULT_ENDPOINT, model=DEFAULT_MODEL))


chat = openai.chat
chat_result = openai.chat_result
ChatStream = openai.ChatStream
completions = openai.completions
completions_result = openai.completions_result
CompletionStream = openai.CompletionStream
embeddings = openai.embeddings
embeddings_result = openai.embeddings_result
models = openai.models
models_result = openai.models_result
error = openai.error
RETRY_CODES = openai.RETRY_CODES
