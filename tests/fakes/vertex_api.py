"""A fake Vertex AI (Gemini on `aiplatform.googleapis.com`) and a fake Google OAuth2 token
endpoint, on loopback.

Wire format as the official `google-genai` SDK speaks it in Vertex mode (`vertexai=True`,
`google/genai/_api_client.py`, `models.py`) and as google-auth's service-account flow does
(`google/oauth2/_client.py`):

- express mode: `POST /{ver}/publishers/google/models/{model}:generateContent` with `x-goog-api-key`;
- project mode: `POST /{ver}/projects/{p}/locations/{l}/publishers/google/models/{model}:…`
  with `Authorization: Bearer <token minted here>`;
- embeddings: `:predict` with `{"instances":[{"content","task_type"?,"title"?}],
  "parameters":{"outputDimensionality"?}}` → `{"predictions":[{"embeddings":{"values",
  "statistics":{"token_count","truncated"}}}]}`; gemini-embedding takes one instance per call;
- Google's models: `GET /v1beta1/publishers/google/models` → `{"publisherModels":[{"name"}]}`;
- the token endpoint: `POST /token`, form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
  and `assertion=<RS256 JWT>`, verified against the service account's public key (signature,
  `iss`, `aud` = Google's token URL, `scope`, lifetime ≤ 1 h) → `{"access_token","expires_in","token_type"}`.

Generation answers come from FakeGemini's echo model (the same checks: Gemini 3 signatures,
thinking config). `tests/test_vertex.py` drives both with google-genai and google-auth.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.gemini_api import FakeGemini, google_error
from tests.fakes.openai_api import Recorded

SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def service_account_key(token_uri: str, project: str = "aoa-test-project") -> tuple[dict[str, Any], rsa.RSAPublicKey]:
    """A fresh key file (as the Cloud console downloads it) and its public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": f"aoa@{project}.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }
    return info, key.public_key()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeTokenEndpoint:
    def __init__(self, public_key: rsa.RSAPublicKey, email: str, *, expires_in: int = 3600) -> None:
        self.public_key = public_key
        self.email = email
        self.expires_in = expires_in
        self.url = ""  # set by whoever serves it
        self.issued: list[str] = []
        self.requests: list[dict[str, str]] = []
        self.fail_next: int | None = None  # an HTTP status to answer once

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self._token)
        return app

    def _refuse(self, why: str, status: int = 400) -> web.Response:
        return web.json_response({"error": "invalid_grant", "error_description": why}, status=status)

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.requests.append({k: str(v) for k, v in form.items()})
        if self.fail_next is not None:
            status, self.fail_next = self.fail_next, None
            return self._refuse("Invalid JWT Signature.", status)
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        try:
            head, body, sig = str(form.get("assertion", "")).split(".")
            header, claims = json.loads(_unb64(head)), json.loads(_unb64(body))
            self.public_key.verify(_unb64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except Exception:  # noqa: BLE001 - anything wrong with the JWT is Google's invalid_grant
            return self._refuse("Invalid JWT Signature.")
        now = time.time()
        if header.get("alg") != "RS256" or claims.get("iss") != self.email or claims.get("aud") != "https://oauth2.googleapis.com/token":
            return self._refuse("Invalid JWT: issuer or audience.")
        if SCOPE not in str(claims.get("scope", "")).split():
            return self._refuse("Invalid scope.")
        if not (claims["iat"] - 300 <= now <= claims["exp"] + 300) or claims["exp"] - claims["iat"] > 3600:
            return self._refuse("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
        token = f"ya29.fake-{len(self.issued) + 1}"
        self.issued.append(token)
        return web.json_response({"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"})


class FakeVertex(FakeGemini):
    def __init__(self, *, key: str | None = None, tokens: FakeTokenEndpoint | None = None, project: str = "aoa-test-project", **kw: Any) -> None:
        super().__init__(key=key, **kw)
        self.tokens = tokens
        self.project = project

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/{ver}/publishers/google/models/{target}", self._express)
        app.router.add_post("/{ver}/projects/{project}/locations/{location}/publishers/google/models/{target}", self._project)
        app.router.add_get("/v1beta1/publishers/google/models", self._publisher_models)
        return app

    def _auth(self, request: web.Request) -> web.Response | None:
        return None  # checked per route above, before the echo model answers

    def _bearer_ok(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        return self.tokens is not None and auth.startswith("Bearer ") and auth[7:] in self.tokens.issued

    def _unauthenticated(self) -> web.Response:
        body = google_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "UNAUTHENTICATED")
        return web.json_response(body, status=401)

    async def _express(self, request: web.Request) -> web.StreamResponse:
        if self.key is None or request.headers.get("x-goog-api-key") != self.key:
            await self._record(request)
            return web.json_response(google_error(401, "API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials that assert a principal.", "UNAUTHENTICATED"), status=401)
        return await self._generate_or_predict(request)

    async def _project(self, request: web.Request) -> web.StreamResponse:
        if not self._bearer_ok(request):
            await self._record(request)
            return self._unauthenticated()
        if request.match_info["project"] != self.project:
            await self._record(request)
            return web.json_response(google_error(403, f"Permission denied on resource project {request.match_info['project']}.", "PERMISSION_DENIED"), status=403)
        return await self._generate_or_predict(request)

    async def _generate_or_predict(self, request: web.Request) -> web.StreamResponse:
        model, _, op = request.match_info["target"].partition(":")
        if op != "predict":
            return await self._post(request)
        rec: Recorded = await self._record(request)
        body = json.loads(rec.body)
        instances = body.get("instances") or []
        if model.startswith("gemini-embedding") and len(instances) > 1:
            return web.json_response(google_error(400, "Unable to submit request because the model supports only one instance per request.", "INVALID_ARGUMENT"), status=400)
        dims = (body.get("parameters") or {}).get("outputDimensionality") or 4
        preds = []
        for inst in instances:
            text = inst.get("content", "")
            preds.append({"embeddings": {"values": [float((len(text) + k) % 7) / 7 for k in range(dims)], "statistics": {"truncated": False, "token_count": len(text.split())}}})
        return web.json_response({"predictions": preds, "metadata": {"billableCharacterCount": sum(len(i.get("content", "")) for i in instances)}})

    async def _publisher_models(self, request: web.Request) -> web.Response:
        await self._record(request)
        if not self._bearer_ok(request):
            return self._unauthenticated()
        size = int(request.query.get("pageSize", "100"))
        if self.page_size:
            size = min(size, self.page_size)
        start = int(request.query.get("pageToken") or 0)
        names = self.models[start : start + size]
        out: dict[str, Any] = {"publisherModels": [{"name": f"publishers/google/models/{m}", "versionId": "001"} for m in names]}
        if start + size < len(self.models):
            out["nextPageToken"] = str(start + size)
        return web.json_response(out)
