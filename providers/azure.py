"""Azure OpenAI: OpenAI's API behind per-deployment URLs.

Dated API (default `AZURE_API_VER=2024-10-21`, the latest GA in Azure/azure-rest-api-specs):
  POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=V
v1 API (`AZURE_API_VER=v1`): POST {endpoint}/openai/v1/chat/completions, deployment in `model`.
Docs: https://learn.microsoft.com/azure/ai-foundry/openai/reference
Auth: `api-key: KEY`. Aliases map client model names to deployment names.

Azure adds content-filter data that strict OpenAI clients trip over in streams: a first chunk
with `id:""`, `choices:[]` and `prompt_filter_results`, and (asynchronous filter mode) chunks
whose choices carry `content_filter_results` but no `delta`. With `AZURE_NORMALIZE` (default on)
the empty first chunk is folded into the next one (its `prompt_filter_results` kept there) and a
missing `delta` becomes `{}`; with it off, the stream is relayed byte for byte.
Not supported: listing deployments (a management-plane call); `/v1/models` lists the configured
deployment and aliases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from . import openai, passthrough
from .core import Call, Common, ConfigError, Error, Outbound, load_common, model_segment, parse_bool

PREFIX = "AZURE"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_API_VER = "2024-10-21"


class Settings(msgspec.Struct, kw_only=True):
    common: Common
    api_ver: str = DEFAULT_API_VER
    vision: bool = False
    normalize: bool = True
    responses: str = "translate"  # AZURE_RESPONSES: relay | translate


def load_settings(env: Mapping[str, str]) -> Settings:
    common = load_common(env, PREFIX, model=DEFAULT_MODEL)
    if not common.endpoint:
        raise ConfigError("AZURE_ENDPOINT is required (https://<resource>.openai.azure.com/)")
    api_ver = env.get("AZURE_API_VER", "").strip() or DEFAULT_API_VER
    if any(c in api_ver for c in "&?#/ "):
        raise ConfigError(f"AZURE_API_VER={api_ver!r} is not an api-version")
    # Accepted for compatibility with amazing-openai-api; aoa never restricts the version.
    parse_bool(env, "AZURE_IGNORE_API_VERSION_CHECK", False)
    return Settings(
        common=common,
        api_ver=api_ver,
        vision=parse_bool(env, "AZURE_VISION", False),
        normalize=parse_bool(env, "AZURE_NORMALIZE", True),
        # Azure's Responses API is only stable on the v1 API; dated versions translate.
        responses=openai.responses_mode(env, PREFIX, "relay" if api_ver == "v1" else "translate"),
    )


def headers(key: str) -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if key:
        h["api-key"] = key
    return h


def _post(s: Settings, call: Call, op: str) -> Outbound:
    if s.api_ver == "v1":
        url = f"{s.common.endpoint}/openai/v1/{op}"
        body = passthrough.with_model(call, call.model)
    else:
        deployment = model_segment(call.model)  # `..` survives quoting and yarl resolves it
        url = f"{s.common.endpoint}/openai/deployments/{deployment}/{op}?api-version={s.api_ver}"
        body = call.body  # the deployment is in the URL; Azure ignores `model` here
        if call.stream and call.include_usage:
            fields = dict(call.fields)
            if passthrough.ask_usage(call, fields):
                body = msgspec.json.encode(fields)
    return Outbound(url=url, headers=headers(call.key), body=body, stream=call.stream)


class _Part(msgspec.Struct):
    type: str = ""


class _Msg(msgspec.Struct):
    content: str | list[_Part] | None = None


_messages_decoder = msgspec.json.Decoder(list[_Msg])


def _refuse_images(call: Call) -> None:
    raw = call.fields.get("messages")
    if raw is None or b"image_url" not in memoryview(raw).tobytes():
        return
    for i, msg in enumerate(_messages_decoder.decode(raw)):
        if isinstance(msg.content, list):
            for j, part in enumerate(msg.content):
                if part.type == "image_url":
                    raise Error(
                        400,
                        "Image input is disabled for this deployment; set AZURE_VISION=true "
                        "if the deployment accepts images.",
                        param=f"messages[{i}].content[{j}]",
                        code="vision_disabled",
                    )


def responses_url(s: Settings, suffix: str) -> str | None:
    """Relay mode: Azure's own `/responses` (+ suffix); None when aoa translates."""
    if s.responses != "relay":
        return None
    if s.api_ver == "v1":
        return f"{s.common.endpoint}/openai/v1/responses{suffix}"
    return f"{s.common.endpoint}/openai/responses{suffix}?api-version={s.api_ver}"


def chat(s: Settings, call: Call) -> Outbound:
    if not s.vision:
        _refuse_images(call)
    return _post(s, call, "chat/completions")


def chat_result(s: Settings, call: Call, body: bytes) -> bytes:
    return passthrough.check_json(body)


_chunk_decoder = msgspec.json.Decoder(dict[str, Any])


class ChatStream(passthrough.RelayStream):
    def __init__(self, s: Settings, call: Call) -> None:
        super().__init__()
        self.normalize = s.normalize
        self.held: Any = None  # prompt_filter_results of a dropped empty chunk

    def feed(self, event: str, data: bytes) -> list[bytes]:
        out = super().feed(event, data)
        if not self.normalize or not out:
            return out
        # Cheap byte tests first: ordinary chunks are relayed without decoding.
        if b'"prompt_filter_results"' not in data and b'"delta"' in data and self.held is None:
            return out
        try:
            chunk = _chunk_decoder.decode(data)
        except msgspec.DecodeError:  # framed like an object, broken inside: nothing to normalise
            raise passthrough.not_a_chunk(data) from None
        choices = chunk.get("choices")
        if not choices and chunk.get("usage") is None:
            if "prompt_filter_results" in chunk:
                self.held = chunk["prompt_filter_results"]
            return []
        for choice in choices or ():
            if isinstance(choice, dict) and choice.get("delta") is None:
                choice["delta"] = {}
        if self.held is not None:
            chunk.setdefault("prompt_filter_results", self.held)
            self.held = None
        return [msgspec.json.encode(chunk)]

    def feed_framed(self, block: bytes) -> bytes | None:
        # Normalising rewrites only chunks without a delta or with prompt filter results; a
        # block with none of those goes out whole, as from the base relay.
        if self.normalize and (
            self.held is not None
            or b'"prompt_filter_results"' in block
            or not all(b'"delta"' in p or p == b"data: [DONE]" for p in block[:-2].split(b"\n\n"))
        ):
            return None
        return super().feed_framed(block)


def completions(s: Settings, call: Call) -> Outbound:
    return _post(s, call, "completions")


completions_result = chat_result
CompletionStream = passthrough.RelayStream


def embeddings(s: Settings, call: Call) -> list[Outbound]:
    return [_post(s, call, "embeddings")]


def embeddings_result(s: Settings, call: Call, bodies: list[bytes]) -> bytes:
    return passthrough.check_json(bodies[0])


def models(s: Settings, call: Call, page: str | None) -> Outbound | None:
    return None


def models_result(s: Settings, body: bytes) -> tuple[list[str], str | None]:
    return [], None


def error(status: int, body: bytes) -> Error:
    return passthrough.error_from_body(status, body)


# Retried besides the IO layer's statuses (gateway/retry.py): Azure's busy-backend answers.
RETRY_CODES = frozenset({"server_error", "ServiceUnavailable", "InternalServerError"})
