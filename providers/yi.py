"""01.AI Yi: an OpenAI-compatible API (https://platform.lingyiwanwu.com/docs).

Bases: `https://api.lingyiwanwu.com/v1` (China), `https://api.01.ai/v1` (international).
Everything is relayed as for `openai`; Yi only differs in its defaults. Its SSE framing may
split a `data:` line across network reads, which aoa's line-based SSE decoder absorbs.
Not supported upstream: embeddings and legacy completions (Yi answers 404, relayed as such).

amazing-openai-api took `YI_ENDPOINT` as a host only and kept the client's `/v1/…` path, and sent
`YI_API_VER` as an `api-version` query parameter that Yi ignores. Here `YI_API_VER` is the path
version appended to a `YI_ENDPOINT` that has no path (`v1`, Yi's only one), so those compose
files keep working; a value that cannot be a Yi path version refuses to start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from . import openai
from .core import ConfigError, load_common

PREFIX = "YI"
DEFAULT_HOST = "https://api.lingyiwanwu.com"
DEFAULT_VERSION = "v1"
DEFAULT_MODEL = "yi-lightning"
_VERSION = re.compile(r"v[0-9]+")

Settings = openai.Settings


def load_settings(env: Mapping[str, str]) -> Settings:
    version = env.get("YI_API_VER", "").strip().strip("/") or DEFAULT_VERSION
    if not _VERSION.fullmatch(version):
        raise ConfigError(
            f"YI_API_VER={version!r} is not a Yi API path version (Yi serves /v1/…; amazing-openai-api "
            "sent this value as an api-version query that Yi ignored): set YI_API_VER=v1 or unset it"
        )
    common = load_common(env, PREFIX, endpoint=f"{DEFAULT_HOST}/{version}", model=DEFAULT_MODEL)
    path = urlsplit(common.endpoint).path.rstrip("/")
    if not path:
        common.endpoint = f"{common.endpoint}/{version}"
    elif env.get("YI_API_VER", "").strip() and not path.endswith("/" + version):
        raise ConfigError(
            f"YI_API_VER={version!r} contradicts the path of YI_ENDPOINT ({path!r}); give the version in "
            "one place: a host-only YI_ENDPOINT with YI_API_VER, or the full base URL alone"
        )
    return Settings(common=common)


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
