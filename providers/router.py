"""The model router's relay (`AOA_TYPE=router`): OpenAI in, OpenAI out, bytes untouched.

The backend is chosen per request by model in `gateway/router.py` (IO side: routes, balancing,
failover); this module only builds the relative request (`/chat/completions`, …) whose base URL
the router fills in, and relays answers and streams as `AOA_TYPE=openai` does. `ROUTER_MODEL`,
`ROUTER_MODEL_ALIAS` and `ROUTER_API_KEY` behave as for any kind.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from . import openai, passthrough
from .core import Call, Common, Outbound, load_common

PREFIX = "ROUTER"


class Settings(msgspec.Struct, kw_only=True):
    common: Common


def load_settings(env: Mapping[str, str]) -> Settings:
    return Settings(common=load_common(env, PREFIX))


def _post(call: Call, path: str) -> Outbound:
    return Outbound(url=path, headers=openai.headers(call.key), body=passthrough.with_model(call, call.model), stream=call.stream)


def chat(s: Settings, call: Call) -> Outbound:
    return _post(call, "/chat/completions")


def completions(s: Settings, call: Call) -> Outbound:
    return _post(call, "/completions")


def embeddings(s: Settings, call: Call) -> list[Outbound]:
    return [_post(call, "/embeddings")]


def models(s: Settings, call: Call, page: str | None) -> Outbound | None:
    return Outbound(method="GET", url="/models", headers=openai.headers(call.key))


chat_result = openai.chat_result
completions_result = openai.chat_result
embeddings_result = openai.embeddings_result
models_result = openai.models_result
ChatStream = passthrough.RelayStream
CompletionStream = passthrough.RelayStream
error = openai.error
