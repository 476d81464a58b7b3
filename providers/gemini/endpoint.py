"""Where Gemini requests go: settings from the environment, base URL, headers, model paths."""

from __future__ import annotations

from collections.abc import Mapping

from msgspec import Struct

from ..core import Common, ConfigError, load_common, model_segment
from .tables import SAFETY_THRESHOLDS

PREFIX = "GEMINI"
DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"
DEFAULT_MODEL = "gemini-2.5-flash"
API_VERSIONS = ("v1beta", "v1")

class Settings(Struct, kw_only=True):
    common: Common
    api_version: str = "v1beta"
    safety: str = ""  # one threshold for every category; "" sends no safetySettings


def load_settings(env: Mapping[str, str]) -> Settings:
    common = load_common(env, PREFIX, endpoint=DEFAULT_ENDPOINT, model=DEFAULT_MODEL)
    ver = env.get("GEMINI_API_VER", "").strip() or "v1beta"
    if ver not in API_VERSIONS:
        raise ConfigError(f"GEMINI_API_VER={ver!r} is not one of {', '.join(API_VERSIONS)}")
    safety = env.get("GEMINI_SAFETY", "").strip().upper()
    if safety and safety not in SAFETY_THRESHOLDS:
        raise ConfigError(f"GEMINI_SAFETY={safety!r} is not one of {', '.join(SAFETY_THRESHOLDS)}")
    return Settings(common=common, api_version=ver, safety=safety)


def headers(key: str) -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if key:
        # The official SDK's header; `?key=` would leak the key into URLs and logs.
        h["x-goog-api-key"] = key
    return h


def model_path(model: str) -> str:
    """`gemini-2.5-flash` → `models/gemini-2.5-flash`; `models/x` and `tunedModels/x` are kept.

    The name lands in the URL path next to the server key, so it must be one safe segment after
    its collection: `../x`, `cachedContents/…`, `x?alt=…` are refused (400 naming `model`).
    """
    for collection in ("models/", "tunedModels/"):
        if model.startswith(collection):
            return collection + model_segment(model[len(collection):])
    return f"models/{model_segment(model)}"


def base(s: Settings) -> str:
    return f"{s.common.endpoint}/{s.api_version}"

