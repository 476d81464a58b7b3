"""Where Gemini requests go: settings from the environment, base URL, headers, model paths.

Two services speak the same generateContent: the Gemini API (`generativelanguage.googleapis.com`,
an API key) and Vertex AI (`GEMINI_VERTEX=true`), either in express mode (an API key, the global
publisher endpoint https://cloud.google.com/vertex-ai/generative-ai/docs/start/express-mode/overview)
or on a project and location with a service account's OAuth2 token, which the IO layer mints
(`gateway/google_auth.py`) and hands over as `call.key`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from msgspec import Struct

from ..core import Common, ConfigError, Error, load_common, model_segment, parse_bool
from .tables import SAFETY_THRESHOLDS

PREFIX = "GEMINI"
DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"
DEFAULT_MODEL = "gemini-2.5-flash"
API_VERSIONS = ("v1beta", "v1")
VERTEX_API_VERSIONS = ("v1", "v1beta1")
VERTEX_GLOBAL_ENDPOINT = "https://aiplatform.googleapis.com"
# https://cloud.google.com/resource-manager/docs/creating-managing-projects (project ids) and
# Vertex's location names (`us-central1`, `europe-west4`, `global`).
_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]|[a-z0-9.-]+:[a-z][a-z0-9-]{4,28}[a-z0-9]")
_LOCATION = re.compile(r"[a-z][a-z0-9-]{1,40}")


class Settings(Struct, kw_only=True):
    common: Common
    api_version: str = "v1beta"
    safety: str = ""  # one threshold for every category; "" sends no safetySettings
    vertex: bool = False
    # Vertex on a project (service account); "" with vertex=True is express mode (API key).
    project: str = ""
    location: str = "global"
    # Path of a service-account key file (the IO layer also reads GOOGLE_APPLICATION_CREDENTIALS).
    credentials: str = ""


def load_settings(env: Mapping[str, str]) -> Settings:
    vertex = parse_bool(env, "GEMINI_VERTEX", False)
    project = env.get("GEMINI_VERTEX_PROJECT", "").strip()
    location = env.get("GEMINI_VERTEX_LOCATION", "").strip().lower() or "global"
    credentials = env.get("GEMINI_VERTEX_CREDENTIALS", "").strip()
    if not vertex:
        for var in ("GEMINI_VERTEX_PROJECT", "GEMINI_VERTEX_LOCATION", "GEMINI_VERTEX_CREDENTIALS"):
            if env.get(var, "").strip():
                raise ConfigError(f"{var} is set but GEMINI_VERTEX is not true")
    if project and not _PROJECT.fullmatch(project):
        raise ConfigError(f"GEMINI_VERTEX_PROJECT={project!r} is not a Google Cloud project id")
    if not _LOCATION.fullmatch(location):
        raise ConfigError(f"GEMINI_VERTEX_LOCATION={location!r} is not a Vertex AI location (global, us-central1, …)")
    if vertex:
        default = VERTEX_GLOBAL_ENDPOINT if location == "global" else f"https://{location}-aiplatform.googleapis.com"
    else:
        default = DEFAULT_ENDPOINT
    common = load_common(env, PREFIX, endpoint=default, model=DEFAULT_MODEL)
    if vertex and common.api_key and (project or credentials):
        raise ConfigError("GEMINI_VERTEX: set GEMINI_API_KEY (express mode) or a project with a service account (GEMINI_VERTEX_PROJECT, GEMINI_VERTEX_CREDENTIALS), not both")
    versions = VERTEX_API_VERSIONS if vertex else API_VERSIONS
    ver = env.get("GEMINI_API_VER", "").strip() or versions[0]
    if ver not in versions:
        raise ConfigError(f"GEMINI_API_VER={ver!r} is not one of {', '.join(versions)}")
    safety = env.get("GEMINI_SAFETY", "").strip().upper()
    if safety and safety not in SAFETY_THRESHOLDS:
        raise ConfigError(f"GEMINI_SAFETY={safety!r} is not one of {', '.join(SAFETY_THRESHOLDS)}")
    return Settings(common=common, api_version=ver, safety=safety, vertex=vertex, project=project, location=location, credentials=credentials)


def oauth(s: Settings) -> bool:
    """True when `call.key` is an OAuth2 access token (Vertex on a project), not an API key."""
    return s.vertex and bool(s.project)


def headers(key: str, *, bearer: bool = False) -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if key and bearer:
        h["Authorization"] = f"Bearer {key}"
    elif key:
        # The official SDK's header; `?key=` would leak the key into URLs and logs.
        h["x-goog-api-key"] = key
    return h


def headers_for(s: Settings, key: str) -> dict[str, str]:
    return headers(key, bearer=oauth(s))


def model_path(model: str) -> str:
    """`gemini-2.5-flash` → `models/gemini-2.5-flash`; `models/x` and `tunedModels/x` are kept.

    The name lands in the URL path next to the server key, so it must be one safe segment after
    its collection: `../x`, `cachedContents/…`, `x?alt=…` are refused (400 naming `model`). A
    colon starts a custom method in Google's URLs (`x:countTokens`), so none is allowed here.
    """
    collection = next((c for c in ("models/", "tunedModels/") if model.startswith(c)), "models/")
    name = model[len(collection):] if model.startswith(collection) else model
    if ":" in name:
        raise Error(400, f"Invalid Gemini model name {name[:80]!r}: no ':' allowed.", param="model", code="invalid_model")
    return collection + model_segment(name)


def base(s: Settings) -> str:
    """The URL every path hangs from: `{ver}` (Gemini API), `{ver}/publishers/google` (Vertex
    express mode) or `{ver}/projects/{p}/locations/{l}/publishers/google` (Vertex on a project)."""
    if not s.vertex:
        return f"{s.common.endpoint}/{s.api_version}"
    if s.project:
        return f"{s.common.endpoint}/{s.api_version}/projects/{s.project}/locations/{s.location}/publishers/google"
    return f"{s.common.endpoint}/{s.api_version}/publishers/google"


def model_url(s: Settings, model: str) -> str:
    """`{base}/models/{model}`, the same safe single segment on both services. Vertex names its
    Google models `publishers/google/models/x`; tuned models live elsewhere there (endpoints)."""
    if s.vertex:
        model = model.removeprefix("publishers/google/")
        if model.startswith("tunedModels/"):
            raise Error(400, "Tuned Gemini API models cannot be called on Vertex AI.", param="model", code="invalid_model")
    return f"{base(s)}/{model_path(model)}"
