"""A fake OpenAI (and Azure OpenAI) upstream on loopback.

It speaks the wire format of api.openai.com and of Azure's dated and v1 APIs: the same paths,
auth headers, JSON bodies, SSE framing, error envelopes, and for Azure the content-filter
extras (a first stream chunk with `choices: []` and `prompt_filter_results`, per-choice
`content_filter_results`). `tests/test_fakes_openai.py` drives it with the official SDK
(`openai.OpenAI` and `openai.AzureOpenAI`) to show it is faithful.

Tests script answers (`reply_json`, `reply_sse`, `reply_reset`, `reply_hang`, …); without a
script it answers like a small echo model. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Taken from Azure's documented stream (learn.microsoft.com, "content filtering" streaming
# example): the first chunk carries only the prompt's filter results.
AZURE_PROMPT_FILTER = [
    {
        "prompt_index": 0,
        "content_filter_results": {
            "hate": {"filtered": False, "severity": "safe"},
            "self_harm": {"filtered": False, "severity": "safe"},
            "sexual": {"filtered": False, "severity": "safe"},
            "violence": {"filtered": False, "severity": "safe"},
        },
    }
]
AZURE_CHOICE_FILTER = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    kind: str  # json | sse | raw | reset | hang | reset_mid_stream
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def openai_error(status: int, message: str, type_: str, code: str | None = None, param: str | None = None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}, status=status
    )


class FakeOpenAI:
    def __init__(
        self,
        *,
        flavor: str = "openai",
        key: str | None = None,
        deployments: tuple[str, ...] = ("gpt-4o-mini",),
        models: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small"),
        base_path: str = "/v1",
    ) -> None:
        self.flavor = flavor
        self.key = key
        self.deployments = deployments
        self.models = models
        self.base_path = base_path.rstrip("/")
        self.requests: list[Recorded] = []
        self.script: deque[Reply] = deque()

    # --- scripting --------------------------------------------------------------------
    def reply_json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.script.append(Reply("json", status, body, headers or {}))

    def reply_raw(self, body: bytes, status: int = 200, content_type: str = "application/json") -> None:
        self.script.append(Reply("raw", status, body, {"Content-Type": content_type}))

    def reply_sse(self, events: list[bytes | str | dict], delay: float = 0.0) -> None:
        """Each item is sent as its own write; dicts become `data: {json}\\n\\n`."""
        self.script.append(Reply("sse", 200, events, delay=delay))

    def reply_reset(self) -> None:
        self.script.append(Reply("reset"))

    def reply_reset_mid_stream(self, events: list[bytes | str | dict]) -> None:
        self.script.append(Reply("reset_mid_stream", 200, events))

    def reply_hang(self, seconds: float) -> None:
        self.script.append(Reply("hang", delay=seconds))

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    # --- the app ----------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        if self.flavor == "azure":
            app.router.add_post("/openai/deployments/{deployment}/{op:.+}", self._azure_dated)
            app.router.add_post("/openai/v1/{op:.+}", self._azure_v1)
            app.router.add_get("/openai/v1/models", self._models)
        else:
            app.router.add_post(self.base_path + "/{op:.+}", self._openai)
            app.router.add_get(self.base_path + "/models", self._models)
        return app

    async def _record(self, request: web.Request) -> Recorded:
        rec = Recorded(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=await request.read(),
        )
        self.requests.append(rec)
        return rec

    def _auth_error(self, request: web.Request) -> web.Response | None:
        if self.key is None:
            return None
        if self.flavor == "azure":
            if request.headers.get("api-key") != self.key:
                return web.json_response(
                    {"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}},
                    status=401,
                )
            return None
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return openai_error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        return None

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        return await self._serve(request, rec, request.match_info["op"], model_from_body=True)

    async def _azure_dated(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        if "api-version" not in request.query:
            return web.json_response({"error": {"code": "404", "message": "Resource not found"}}, status=404)
        if request.match_info["deployment"] not in self.deployments:
            return web.json_response(
                {"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}},
                status=404,
            )
        return await self._serve(request, rec, request.match_info["op"], model=request.match_info["deployment"])

    async def _azure_v1(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        model = (rec.json or {}).get("model")
        if model not in self.deployments:
            return web.json_response(
                {"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist."}},
                status=404,
            )
        return await self._serve(request, rec, request.match_info["op"], model=model)

    async def _models(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (err := self._auth_error(request)) is not None:
            return err
        data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "system"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _serve(self, request: web.Request, rec: Recorded, op: str, *, model: str | None = None, model_from_body: bool = False) -> web.StreamResponse:
        if (err := self._auth_error(request)) is not None:
            return err
        if self.script:
            return await self._scripted(request, self.script.popleft())
        try:
            body = json.loads(rec.body)
        except ValueError:
            return openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        model = body.get("model") if model_from_body else model
        if op == "chat/completions":
            if body.get("stream"):
                return await self._chat_stream(request, body, model)
            return web.json_response(self._chat(body, model))
        if op == "completions":
            return web.json_response(self._completion(body, model))
        if op == "embeddings":
            return web.json_response(self._embeddings(body, model))
        return openai_error(404, f"Invalid URL (POST {request.path})", "invalid_request_error")

    async def _scripted(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if reply.kind == "json":
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        if reply.kind == "raw":
            return web.Response(body=reply.body, status=reply.status, headers=reply.headers)
        if reply.kind == "hang":
            await asyncio.sleep(reply.delay)
            return web.json_response({})
        if reply.kind == "reset":
            assert request.transport is not None
            request.transport.abort()
            await asyncio.sleep(0.05)
            return web.Response()
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for item in reply.body:
            if reply.delay:
                await asyncio.sleep(reply.delay)
            await resp.write(_event_bytes(item))
        if reply.kind == "reset_mid_stream":
            assert request.transport is not None
            await asyncio.sleep(0.01)
            request.transport.abort()
            return resp
        await resp.write_eof()
        return resp

    # --- the echo model ---------------------------------------------------------------
    def _answer(self, body: dict[str, Any]) -> str:
        for msg in reversed(body.get("messages") or []):
            if msg.get("role") == "user":
                content = msg.get("content")
                if isinstance(content, list):
                    content = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
                return f"echo: {content}"
        return "echo"

    def _usage(self, body: dict[str, Any], text: str) -> dict[str, int]:
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages") or [])
        completion = len(text.split())
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _chat(self, body: dict[str, Any], model: str | None) -> dict[str, Any]:
        text = self._answer(body)
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
        out: dict[str, Any] = {
            "id": "chatcmpl-fake0001",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model or "unknown",
            "choices": [choice],
            "usage": self._usage(body, text),
            "system_fingerprint": "fp_fake",
        }
        if self.flavor == "azure":
            choice["content_filter_results"] = AZURE_CHOICE_FILTER
            out["prompt_filter_results"] = AZURE_PROMPT_FILTER
        return out

    async def _chat_stream(self, request: web.Request, body: dict[str, Any], model: str | None) -> web.StreamResponse:
        text = self._answer(body)
        usage_on = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {"id": "chatcmpl-fake0002", "object": "chat.completion.chunk", "created": int(time.time()), "model": model or "unknown", "system_fingerprint": "fp_fake"}
        chunks: list[dict[str, Any]] = []
        if self.flavor == "azure":
            chunks.append({"id": "", "object": "", "created": 0, "model": "", "choices": [], "prompt_filter_results": AZURE_PROMPT_FILTER})
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            c: dict[str, Any] = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if self.flavor == "azure":
                c["choices"][0]["content_filter_results"] = {} if not delta.get("content") else AZURE_CHOICE_FILTER
            if usage_on:
                c["usage"] = None
            return c
        chunks.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        for i, word in enumerate(text.split(" ")):
            chunks.append(chunk({"content": word if i == 0 else " " + word}))
        chunks.append(chunk({}, "stop"))
        if usage_on:
            chunks.append({**base, "choices": [], "usage": self._usage(body, text)})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await resp.prepare(request)
        for c in chunks:
            await resp.write(_event_bytes(c))
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    def _completion(self, body: dict[str, Any], model: str | None) -> dict[str, Any]:
        prompt = body.get("prompt")
        text = f"echo: {prompt if isinstance(prompt, str) else prompt[0]}"
        return {
            "id": "cmpl-fake0001",
            "object": "text_completion",
            "created": int(time.time()),
            "model": model or "unknown",
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        }

    def _embeddings(self, body: dict[str, Any], model: str | None) -> dict[str, Any]:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = body.get("dimensions") or 4
        data = []
        for i, text in enumerate(inputs):
            vec = [float((len(str(text)) + k) % 7) / 7 for k in range(dims)]
            emb: Any = vec
            if body.get("encoding_format") == "base64":
                emb = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        return {"object": "list", "data": data, "model": model or "unknown", "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}}


def _event_bytes(item: bytes | str | dict) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode()
    return b"data: " + json.dumps(item).encode() + b"\n\n"
