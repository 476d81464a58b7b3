"""Fake DeepSeek, Moonshot, Zhipu, MiniMax, Qianfan and Spark upstreams on loopback.

Each speaks its vendor's OpenAI-compatible dialect with the documented quirks aoa must absorb
(sources beside each): where reasoning text lives, the vendor's error shapes (Zhipu's business
codes, MiniMax's `base_resp` inside HTTP 200, Spark's `code`/`sid`), the parameter values each
vendor refuses, and the history rules of tool loops with thinking models. `tests/test_cn_fakes.py`
drives them with the openai SDK — the client these vendors document — to show they answer as
described. Tests may script answers (`reply_json`, `reply_raw`, `reply_sse`); every request is
recorded.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from aiohttp import web

from tests.fakes.openai_api import Recorded, _event_bytes

BASE = {
    "deepseek": "",
    "moonshot": "/v1",
    "zhipu": "/api/paas/v4",
    "minimax": "/v1",
    "qianfan": "/v2",
    "spark": "/v1",
}
REASONING = "Let me think about this."


class FakeVendor:
    def __init__(self, vendor: str, *, key: str | None = None, models: tuple[str, ...] = ("m-1", "m-2")) -> None:
        self.vendor = vendor
        self.base = BASE[vendor]
        self.key = key
        self.models = models
        self.requests: list[Recorded] = []
        self.script: deque[tuple[str, Any, int, str]] = deque()

    # --- scripting ----------------------------------------------------------------------
    def reply_json(self, body: Any, status: int = 200) -> None:
        self.script.append(("raw", json.dumps(body).encode(), status, "application/json"))

    def reply_raw(self, body: bytes, status: int = 200, content_type: str = "application/json") -> None:
        self.script.append(("raw", body, status, content_type))

    def reply_sse(self, events: list[bytes | str | dict]) -> None:
        self.script.append(("sse", events, 200, "text/event-stream"))

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(self.base + "/chat/completions", self._chat)
        if self.vendor in ("zhipu", "qianfan"):
            app.router.add_post(self.base + "/embeddings", self._embeddings)
        if self.vendor in ("deepseek", "moonshot"):
            app.router.add_get(self.base + "/models", self._models)
        return app

    # --- vendor error shapes --------------------------------------------------------------
    def _error(self, status: int, code: str, message: str) -> web.Response:
        v = self.vendor
        if v == "zhipu":  # docs.bigmodel.cn/cn/faq/api-code
            return web.json_response({"error": {"code": code, "message": message}}, status=status)
        if v == "minimax":  # errors inside HTTP 200 (platform.minimax.io errorcode)
            return web.json_response({"id": "", "choices": None, "base_resp": {"status_code": int(code), "status_msg": message}})
        if v == "spark":  # HTTP doc: code / message / sid on every answer
            return web.json_response({"code": int(code), "message": message, "sid": "cha000b0001@dx1"})
        if v == "qianfan":  # qianfan-api error object
            return web.json_response({"id": "as-1", "error": {"code": code, "message": message, "type": "invalid_request_error"}}, status=status)
        return web.json_response({"error": {"message": message, "type": code, "param": None, "code": code}}, status=status)

    def _auth(self, request: web.Request) -> web.Response | None:
        if self.key is None or request.headers.get("Authorization") == f"Bearer {self.key}":
            return None
        codes = {"zhipu": (401, "1002"), "minimax": (200, "1004"), "spark": (401, "11200"), "qianfan": (401, "invalid_iam_token")}
        status, code = codes.get(self.vendor, (401, "invalid_authentication_error"))
        return self._error(status, code, "invalid api key")

    def _refuse(self, body: dict[str, Any]) -> web.Response | None:
        """The bad-parameter answers of each vendor, for values aoa must never let through."""
        v, t = self.vendor, body.get("temperature")
        if v == "minimax" and t is not None and not 0 < t <= 1:
            return self._error(200, "2013", "invalid params, temperature must be in (0, 1]")
        if v == "spark" and t is not None and not 0 < t <= 1:
            return self._error(200, "10003", "invalid temperature")
        if v == "spark" and (body.get("max_tokens") or 0) > 8192:
            return self._error(200, "10003", "invalid max_tokens")
        if v == "zhipu" and t is not None and not 0 < t <= 1:
            return self._error(400, "1214", "temperature 参数非法。请检查文档")
        if v == "zhipu" and isinstance(body.get("stop"), list) and len(body["stop"]) > 1:
            return self._error(400, "1214", "stop 参数非法。请检查文档")
        if v == "moonshot" and t is not None and t > 1:
            return self._error(400, "invalid_request_error", "Invalid request: temperature must be in [0, 1]")
        if v == "moonshot" and body.get("tool_choice") == "required":
            return self._error(400, "invalid_request_error", "Invalid request: tool_choice 'required' is not supported")
        if v in ("minimax", "deepseek", "zhipu", "spark") and (body.get("n") or 1) > 1:
            return self._error(200 if v in ("minimax", "spark") else 400, "2013" if v == "minimax" else "10003" if v == "spark" else "1214", "n must be 1")
        return self._history(body)

    def _history(self, body: dict[str, Any]) -> web.Response | None:
        v = self.vendor
        for i, m in enumerate(body.get("messages") or []):
            if m.get("role") != "assistant" or not m.get("tool_calls"):
                continue
            # DeepSeek thinking mode and Kimi thinking models need the reasoning of tool-call
            # turns back (api-docs.deepseek.com/guides/thinking_mode#tool-calls).
            if v in ("deepseek", "moonshot") and "reasoning_content" not in m:
                return self._error(400, "invalid_request_error", f"Missing `reasoning_content` field in the assistant message at message index {i}")
            # MiniMax M2 needs the whole earlier answer, <think> included.
            if v == "minimax" and "<think>" not in (m.get("content") or ""):
                return self._error(200, "2013", "invalid params, the assistant message must keep its <think> content")
        return None

    # --- handlers -----------------------------------------------------------------------
    async def _record(self, request: web.Request) -> Recorded:
        rec = Recorded(request.method, request.path, dict(request.query), dict(request.headers), await request.read())
        self.requests.append(rec)
        return rec

    async def _models(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (err := self._auth(request)) is not None:
            return err
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model", "owned_by": self.vendor} for m in self.models]})

    async def _embeddings(self, request: web.Request) -> web.Response:
        rec = await self._record(request)
        if (err := self._auth(request)) is not None:
            return err
        body = rec.json
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [0.5, -0.25, float(len(t))]} for i, t in enumerate(inputs)]
        return web.json_response({"object": "list", "model": body["model"], "data": data, "usage": {"prompt_tokens": 3, "total_tokens": 3}})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        if (err := self._auth(request)) is not None:
            return err
        if self.script:
            kind, payload, status, ctype = self.script.popleft()
            if kind == "raw":
                return web.Response(body=payload, status=status, content_type=ctype.split(";")[0])
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            for item in payload:
                await resp.write(_event_bytes(item))
            await resp.write_eof()
            return resp
        body = rec.json
        if (err := self._refuse(body)) is not None:
            return err
        if body.get("stream"):
            return await self._stream(request, body)
        return web.json_response(self._answer(body))

    # --- the echo model -----------------------------------------------------------------
    def _turn(self, body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        msgs = body.get("messages") or []
        last = msgs[-1] if msgs else {}
        if body.get("tools") and last.get("role") == "user":
            name = body["tools"][0]["function"]["name"]
            return "", {"id": "call_abc123", "type": "function", "function": {"name": name, "arguments": '{"city": "Paris"}'}}
        if last.get("role") == "tool":
            return f"tool said: {last.get('content')}", None
        content = last.get("content")
        return f"echo: {content}", None

    def _extras(self, out: dict[str, Any]) -> dict[str, Any]:
        if self.vendor == "minimax":
            out["base_resp"] = {"status_code": 0, "status_msg": ""}
        if self.vendor == "spark":
            out = {"code": 0, "message": "Success", "sid": "cha000b0002@dx1", **out}
        return out

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        text, call = self._turn(body)
        msg: dict[str, Any] = {"role": "assistant", "content": text}
        if self.vendor == "minimax":
            # platform.minimax.io text-openai-api: "the content field will contain <think> tag content"
            msg["content"] = f"<think>\n{REASONING}\n</think>\n\n{text}"
        else:
            msg["reasoning_content"] = REASONING
        if call:
            msg["tool_calls"] = [call]
        out = {
            "id": "fake-1", "object": "chat.completion", "created": 1700000000, "model": body.get("model"),
            "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls" if call else "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
        }
        return self._extras(out)

    async def _stream(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        text, call = self._turn(body)
        base = {"id": "fake-2", "object": "chat.completion.chunk", "created": 1700000000, "model": body.get("model")}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return self._extras({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        chunks = [chunk({"role": "assistant", "content": ""})]
        if self.vendor == "minimax":
            # The <think> tags arrive split across deltas like any other text.
            for piece in ["<thi", "nk>\n", REASONING[:8], REASONING[8:], "\n</th", "ink>\n\n"]:
                chunks.append(chunk({"content": piece}))
        else:
            for piece in (REASONING[:8], REASONING[8:]):
                chunks.append(chunk({"reasoning_content": piece}))
        if call:
            fn = call["function"]
            if self.vendor == "zhipu" and not body.get("tool_stream"):
                # Without tool_stream GLM sends the whole call in one chunk.
                chunks.append(chunk({"tool_calls": [{**call, "index": 0}]}))
            else:
                chunks.append(chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function", "function": {"name": fn["name"], "arguments": ""}}]}))
                for part in ('{"city": ', '"Paris"}'):
                    chunks.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
            chunks.append(chunk({}, "tool_calls"))
        else:
            for i, word in enumerate(text.split(" ")):
                chunks.append(chunk({"content": word if i == 0 else " " + word}))
            chunks.append(chunk({}, "stop"))
        usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
        if self.vendor == "zhipu":
            # GLM puts usage on the finishing chunk, asked or not (docs.bigmodel.cn 对话补全, stream example).
            chunks[-1]["usage"] = usage
        elif self.vendor == "moonshot":
            # Kimi puts it inside the last chunk's choice (platform.moonshot.cn docs, chat: usage in streams).
            chunks[-1]["choices"][0]["usage"] = usage
        elif (body.get("stream_options") or {}).get("include_usage"):
            chunks.append(self._extras({**base, "choices": [], "usage": usage}))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await resp.prepare(request)
        for c in chunks:
            await resp.write(_event_bytes(c))
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp
