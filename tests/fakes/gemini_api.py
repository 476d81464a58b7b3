"""A fake Google Gemini (Generative Language API) upstream on loopback.

Wire format as the official `google-genai` SDK sends and parses it
(https://github.com/googleapis/python-genai, `google/genai/_api_client.py`, `types.py`):
`x-goog-api-key` auth, `POST /{ver}/models/{model}:generateContent`,
`:streamGenerateContent?alt=sse` with `data: {GenerateContentResponse}` events framed by
`\\r\\n\\r\\n` (as Google's servers frame them) and no `[DONE]`, `:batchEmbedContents`,
`GET /{ver}/models?pageSize=&pageToken=`, and Google's error envelope
`{"error":{"code","message","status"}}`. `tests/test_gemini_fake.py` drives it with the SDK.

Like Google, it refuses (400 INVALID_ARGUMENT) a Gemini 3 request whose current turn holds a
model step whose first functionCall has no `thoughtSignature`, a thinkingConfig with both a level
and a budget, a thinkingLevel on a model older than Gemini 3, and budget 0 on gemini-2.5-pro.
Gemini 3 text answers carry a `thoughtSignature` on their last part.

Without a script it answers like a small echo model: `echo: <last user text>`, one
candidate per `candidateCount`, a functionCall (with a thoughtSignature) for the first
declared function when `toolConfig` asks for ANY. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.openai_api import Recorded

# Opaque bytes in base64, as Gemini sends them; chosen so the text holds "+", "/" and "=".
SIGNATURE = base64.b64encode(b"\n\"\x01T\xa8\\" + bytes([0xFB, 0xFF, 0xBF]) * 3 + b"sig").decode()


# https://ai.google.dev/gemini-api/docs/thought-signatures (FAQs): accepted instead of a real one.
DUMMY_SIGNATURES = ("skip_thought_signature_validator", "context_engineering_is_the_way_to_go")
TEXT_SIGNATURE = base64.b64encode(b"text-signature\x00\xff").decode()
TASK_TYPES = {"TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"}


def _valid_signature(sig: Any) -> bool:
    if sig in DUMMY_SIGNATURES:
        return True
    try:
        return isinstance(sig, str) and bool(base64.b64decode(sig, validate=True))
    except ValueError:
        return False


def check_request(body: dict[str, Any], model: str) -> str | None:
    """What Google refuses with 400 INVALID_ARGUMENT, as its message; None when accepted."""
    raw = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
    # Proto JSON takes either spelling of a field name.
    thinking = {"".join(w.capitalize() if i else w for i, w in enumerate(k.split("_"))): v for k, v in raw.items()}
    if "thinkingLevel" in thinking and "thinkingBudget" in thinking:
        return "You can only set only one of thinking budget and thinking level."
    if "thinkingLevel" in thinking and not model.startswith("gemini-3"):
        return "Thinking level is not supported for this model."
    level = str(thinking.get("thinkingLevel", "HIGH")).upper()
    if level not in ({"LOW", "HIGH"} if model.startswith("gemini-3-pro") else {"MINIMAL", "LOW", "MEDIUM", "HIGH"}):
        return f"Invalid thinking level {level} for model {model}."
    if model.startswith("gemini-2.5-pro") and thinking.get("thinkingBudget") == 0:
        return "Budget 0 is invalid. This model only works in thinking mode."
    if not model.startswith("gemini-3"):
        return None
    contents = body.get("contents") or []
    # The current turn starts after the last user content holding text (not a functionResponse).
    start = 0
    for i, c in enumerate(contents):
        if c.get("role") == "user" and any("text" in p for p in c.get("parts") or []):
            start = i + 1
    for c in contents[start:]:
        if c.get("role") != "model":
            continue
        calls = [(k, p) for k, p in enumerate(c.get("parts") or []) if "functionCall" in p]
        if calls and not _valid_signature(calls[0][1].get("thoughtSignature")):
            k, p = calls[0]
            return (f"Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, "
                    f"and missing thought_signature may lead to degraded model performance. Additional data, function call "
                    f"`default_api:{p['functionCall'].get('name')}` , position {k + 1}. Please refer to "
                    f"https://ai.google.dev/gemini-api/docs/thought-signatures for more details.")
    return None


@dataclass
class Reply:
    kind: str  # json | sse
    status: int = 200
    body: Any = None
    headers: dict[str, str] | None = None
    delay: float = 0.0


def google_error(status: int, message: str, status_name: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": status_name}}


def sse(data: dict[str, Any] | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    return b"data: " + json.dumps(data).encode() + b"\r\n\r\n"


class FakeGemini:
    def __init__(self, *, key: str | None = None, models: tuple[str, ...] = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"), page_size: int | None = None) -> None:
        self.key = key
        self.models = models
        self.page_size = page_size  # forces pagination when smaller than the list
        self.requests: list[Recorded] = []
        self.script: deque[Reply] = deque()
        self.base_url = ""  # set by whoever serves the app, for tests that call the fake directly

    # --- scripting --------------------------------------------------------------------
    def reply_json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.script.append(Reply("json", status, body, headers))

    def reply_error(self, status: int, message: str, status_name: str, headers: dict[str, str] | None = None) -> None:
        self.reply_json(google_error(status, message, status_name), status, headers)

    def reply_sse(self, events: list[dict[str, Any] | bytes], delay: float = 0.0) -> None:
        self.script.append(Reply("sse", 200, events, delay=delay))

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    # --- the app ----------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/{ver}/models/{target}", self._post)
        app.router.add_get("/{ver}/models", self._list)
        return app

    async def _record(self, request: web.Request) -> Recorded:
        rec = Recorded(method=request.method, path=request.path, query=dict(request.query), headers=dict(request.headers), body=await request.read())
        self.requests.append(rec)
        return rec

    def _auth(self, request: web.Request) -> web.Response | None:
        if self.key is None or request.headers.get("x-goog-api-key") == self.key:
            return None
        return web.json_response(google_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"), status=400)

    async def _list(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (err := self._auth(request)) is not None:
            return err
        size = int(request.query.get("pageSize", "50"))
        if self.page_size:
            size = min(size, self.page_size)
        start = int(request.query.get("pageToken") or 0)
        names = self.models[start : start + size]
        out: dict[str, Any] = {"models": [{"name": f"models/{m}", "displayName": m, "supportedGenerationMethods": ["generateContent"]} for m in names]}
        if start + size < len(self.models):
            out["nextPageToken"] = str(start + size)
        return web.json_response(out)

    async def _post(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        if (err := self._auth(request)) is not None:
            return err
        model, _, op = request.match_info["target"].partition(":")
        if self.script:
            return await self._scripted(request, self.script.popleft())
        try:
            body = json.loads(rec.body)
        except ValueError:
            return web.json_response(google_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT"), status=400)
        if op in ("generateContent", "streamGenerateContent") and (refused := check_request(body, model)) is not None:
            return web.json_response(google_error(400, refused, "INVALID_ARGUMENT"), status=400)
        if op == "generateContent":
            return web.json_response(self._generate(body, model))
        if op == "streamGenerateContent":
            if request.query.get("alt") != "sse":
                return web.json_response(google_error(400, "this fake only streams with alt=sse", "INVALID_ARGUMENT"), status=400)
            return await self._stream(request, body, model)
        if op == "batchEmbedContents":
            out = self._embed(body, model)
            return web.json_response(out, status=(out.get("error") or {}).get("code", 200))
        return web.json_response(google_error(404, f"Method {op} not found.", "NOT_FOUND"), status=404)

    async def _scripted(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if reply.kind == "json":
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for item in reply.body:
            if reply.delay:
                await asyncio.sleep(reply.delay)
            await resp.write(sse(item))
        await resp.write_eof()
        return resp

    # --- the echo model ---------------------------------------------------------------
    def _answer(self, body: dict[str, Any]) -> str:
        for content in reversed(body.get("contents") or []):
            if content.get("role") == "user":
                texts = [p["text"] for p in content.get("parts") or [] if "text" in p]
                if texts:
                    return "echo: " + " ".join(texts)
        return "echo"

    def _usage(self, body: dict[str, Any], text: str) -> dict[str, int]:
        prompt = sum(len(p.get("text", "").split()) for c in body.get("contents") or [] for p in c.get("parts") or [])
        out = len(text.split())
        return {"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out}

    def _calls(self, body: dict[str, Any]) -> list[dict[str, Any]] | None:
        mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode")
        decls = [d for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []]
        if mode != "ANY" or not decls:
            return None
        return [{"functionCall": {"name": decls[0]["name"], "args": {"city": "Paris"}}, "thoughtSignature": SIGNATURE}]

    def _generate(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        text = self._answer(body)
        n = (body.get("generationConfig") or {}).get("candidateCount") or 1
        calls = self._calls(body)
        parts = calls or [{"text": text}]
        if not calls and model.startswith("gemini-3"):
            parts[-1]["thoughtSignature"] = TEXT_SIGNATURE
        cands = [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": i} for i in range(n)]
        return {"candidates": cands, "usageMetadata": self._usage(body, text), "modelVersion": model, "responseId": "fake-response-1"}

    async def _stream(self, request: web.Request, body: dict[str, Any], model: str) -> web.StreamResponse:
        text = self._answer(body)
        n = (body.get("generationConfig") or {}).get("candidateCount") or 1
        calls = self._calls(body)
        words = text.split(" ")
        events = []
        if calls:
            events.append({"candidates": [{"content": {"role": "model", "parts": calls}, "finishReason": "STOP", "index": i} for i in range(n)]})
        else:
            for k, w in enumerate(words):
                piece = w if k == 0 else " " + w
                cands = [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": i} for i in range(n)]
                if k == len(words) - 1:
                    for c in cands:
                        c["finishReason"] = "STOP"
                        if model.startswith("gemini-3"):
                            c["content"]["parts"][-1]["thoughtSignature"] = TEXT_SIGNATURE
                events.append({"candidates": cands})
        for e in events:
            e["usageMetadata"] = self._usage(body, text)
            e["modelVersion"] = model
            e["responseId"] = "fake-response-2"
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for e in events:
            await resp.write(sse(e))
        await resp.write_eof()
        return resp

    def _embed(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        out = []
        for r in body.get("requests") or []:
            if r.get("model") != f"models/{model}":
                return google_error(400, "Model in request does not match the batch's model.", "INVALID_ARGUMENT")
            if r.get("taskType", "TASK_TYPE_UNSPECIFIED") not in TASK_TYPES:
                return google_error(400, f"Invalid value at 'requests[0].task_type', \"{r['taskType']}\"", "INVALID_ARGUMENT")
            text = " ".join(p.get("text", "") for p in r["content"]["parts"])
            dims = r.get("outputDimensionality") or 4
            out.append({"values": [float((len(text) + k) % 7) / 7 for k in range(dims)]})
        return {"embeddings": out}
