"""Any OpenAI-compatible upstream: OpenAI itself, DeepSeek, Moonshot, vLLM, Ollama, LM Studio…

API: https://platform.openai.com/docs/api-reference — `/chat/completions`, `/completions`,
`/embeddings`, `/models` under `OPENAI_ENDPOINT`. Bodies and streams are relayed untouched except
for `model` (aliases), so every field the upstream knows — including ones aoa has never heard
of — reaches it. Not supported: nothing is refused here; the upstream judges.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from . import passthrough
from .core import Call, Common, ConfigError, Error, Outbound, load_common

PREFIX = "OPENAI"
DEFAULT_ENDPOINT = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"


class Settings(msgspec.Struct, kw_only=True):
    common: Common
    responses: str = "relay"  # OPENAI_RESPONSES: relay | translate


def load_settings(env: Mapping[str, str]) -> Settings:
    return Settings(
        common=load_common(env, PREFIX, endpoint=DEFAULT_ENDPOINT, model=DEFAULT_MODEL),
        responses=responses_mode(env, PREFIX, "relay"),
    )


def responses_mode(env: Mapping[str, str], prefix: str, default: str) -> str:
    raw = env.get(f"{prefix}_RESPONSES", "").strip().lower() or default
    if raw not in ("relay", "translate"):
        raise ConfigError(f"{prefix}_RESPONSES={raw!r} is not relay or translate")
    return raw


def responses_url(s: Settings, suffix: str) -> str | None:
    """Relay mode: the upstream's own `/responses` (+ suffix); None when aoa translates."""
    return f"{s.common.endpoint}/responses{suffix}" if s.responses == "relay" else None


def headers(key: str) -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = f"Bearer {key}"
    return h


def _post(s: Settings, call: Call, path: str) -> Outbound:
    return Outbound(
        url=f"{s.common.endpoint}{path}",
        headers=headers(call.key),
        body=passthrough.with_model(call, call.model),
        stream=call.stream,
    )


def chat(s: Settings, call: Call) -> Outbound:
    return _post(s, call, "/chat/completions")


def chat_result(s: Settings, call: Call, body: bytes) -> bytes:
    return passthrough.check_json(body)


ChatStream = passthrough.RelayStream


def completions(s: Settings, call: Call) -> Outbound:
    return _post(s, call, "/completions")


completions_result = chat_result
CompletionStream = passthrough.RelayStream


def embeddings(s: Settings, call: Call) -> list[Outbound]:
    return [_post(s, call, "/embeddings")]


def embeddings_result(s: Settings, call: Call, bodies: list[bytes]) -> bytes:
    return passthrough.check_json(bodies[0])


def models(s: Settings, call: Call, page: str | None) -> Outbound | None:
    return Outbound(method="GET", url=f"{s.common.endpoint}/models", headers=headers(call.key))


class _Model(msgspec.Struct):
    id: str


class _ModelList(msgspec.Struct):
    data: list[_Model]


_models_decoder = msgspec.json.Decoder(_ModelList)


def models_result(s: Settings, body: bytes) -> tuple[list[str], str | None]:
    try:
        return [m.id for m in _models_decoder.decode(body).data], None
    except msgspec.DecodeError:
        raise Error(502, "The upstream model list is not in OpenAI's format.", code="upstream_invalid_json") from None


def error(status: int, body: bytes) -> Error:
    return passthrough.error_from_body(status, body)


# Retried besides the IO layer's statuses (gateway/retry.py): OpenAI's and vLLM/TGI-style
# "busy" codes, which some compatible servers send with unusual statuses.
RETRY_CODES = frozenset({"server_error", "engine_overloaded", "overloaded", "service_unavailable"})
