"""A fake Alibaba DashScope upstream (native API and OpenAI-compatible mode) on loopback.

Native wire format as the official `dashscope` SDK sends and parses it
(`dashscope/api_entities/http_request.py`, `dashscope/common/utils.py`): `Authorization: Bearer`,
`X-DashScope-SSE: enable` for streams, SSE frames `id:N` / `event:result` / `:HTTP_STATUS/200` /
`data:{...}`, `finish_reason: "null"` until the last frame, usage cumulative in every frame,
errors `{code, message, request_id}` (as an HTTP status, or mid-stream as an `event:error`
frame). Without `incremental_output: true` every frame repeats the whole text so far, as the
real service does. `tests/test_qwen_fake.py` drives it with the official SDK.

Without a script it answers like a small echo model: text, tool calls when tools are offered,
reasoning when thinking is on, `n` choices, image descriptions on the multimodal path.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.openai_api import FakeOpenAI, Recorded

TEXT = "/api/v1/services/aigc/text-generation/generation"
MULTIMODAL = "/api/v1/services/aigc/multimodal-generation/generation"
EMBEDDING = "/api/v1/services/embeddings/text-embedding/text-embedding"
EMBED_LIMIT = {"text-embedding-v1": 25, "text-embedding-v2": 25}


@dataclass
class Reply:
    kind: str  # json | sse
    status: int = 200
    body: Any = None
    delay: float = 0.0


def frame(n: int, data: dict[str, Any], event: str = "result", status: int = 200) -> bytes:
    return f"id:{n}\nevent:{event}\n:HTTP_STATUS/{status}\ndata:{json.dumps(data, ensure_ascii=False)}\n\n".encode()


class FakeDashScope:
    def __init__(self, *, key: str | None = None) -> None:
        self.key = key
        self.requests: list[Recorded] = []
        self.script: deque[Reply] = deque()
        self.rid = 0
        # The OpenAI-compatible mode under /compatible-mode/v1.
        self.compatible = FakeOpenAI(key=key, models=("qwen-plus", "qwen-max", "text-embedding-v4"), base_path="/compatible-mode/v1")
        self.compatible.requests = self.requests

    def reply_json(self, body: Any, status: int = 200) -> None:
        self.script.append(Reply("json", status, body))

    def reply_sse(self, frames: list[bytes | dict[str, Any]], delay: float = 0.0) -> None:
        """Dicts become result frames; bytes are sent as they are (error frames, say). `delay`
        separates the writes so that each frame reaches the client in its own read."""
        self.script.append(Reply("sse", 200, frames, delay))

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(TEXT, self._generation)
        app.router.add_post(MULTIMODAL, self._generation)
        app.router.add_post(EMBEDDING, self._embedding)
        app.router.add_get("/compatible-mode/v1/models", self.compatible._models)
        app.router.add_post("/compatible-mode/v1/{op:.+}", self.compatible._openai)
        return app

    def _request_id(self) -> str:
        self.rid += 1
        return f"00000000-0000-4000-8000-{self.rid:012d}"

    def error(self, status: int, code: str, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message, "request_id": self._request_id()}, status=status)

    async def _record(self, request: web.Request) -> Recorded:
        rec = Recorded(request.method, request.path, dict(request.query), dict(request.headers), await request.read())
        self.requests.append(rec)
        return rec

    def _auth(self, request: web.Request) -> web.Response | None:
        if self.key is not None and request.headers.get("Authorization") != f"Bearer {self.key}":
            return self.error(401, "InvalidApiKey", "Invalid API-key provided.")
        return None

    # --- generation ---------------------------------------------------------------------
    async def _generation(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        if (err := self._auth(request)) is not None:
            return err
        sse = request.headers.get("X-DashScope-SSE") == "enable"
        if self.script:
            return await self._scripted(request, self.script.popleft())
        try:
            body = json.loads(rec.body)
            messages = body["input"]["messages"]
        except (ValueError, KeyError, TypeError):
            return self.error(400, "InvalidParameter", "Input should be a valid dictionary with messages.")
        params = body.get("parameters") or {}
        multimodal = request.path == MULTIMODAL
        if not messages:
            return self.error(400, "InvalidParameter", "Role must be user or assistant and Content length must be greater than 0")
        if params.get("enable_thinking") and not sse:
            return self.error(400, "InvalidParameter", "The value of the enable_thinking parameter is restricted to false in non-streaming calls.")
        n = params.get("n") or 1
        rid = self._request_id()
        if not sse:
            return web.json_response(self._complete(messages, params, multimodal, n, rid))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream;charset=UTF-8", "X-Request-Id": rid})
        await resp.prepare(request)
        for i, data in enumerate(self._frames(messages, params, multimodal, n, rid), 1):
            await resp.write(frame(i, data))
        await resp.write_eof()
        return resp

    async def _scripted(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if reply.kind == "json":
            return web.json_response(reply.body, status=reply.status)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream;charset=UTF-8"})
        await resp.prepare(request)
        for i, item in enumerate(reply.body, 1):
            if reply.delay and i > 1:
                await asyncio.sleep(reply.delay)
            await resp.write(item if isinstance(item, bytes) else frame(i, item))
        await resp.write_eof()
        return resp

    def _plan(self, messages: list[dict[str, Any]], params: dict[str, Any], multimodal: bool) -> tuple[str, str, list[dict[str, Any]]]:
        """(reasoning, text, tool calls) for the last turn."""
        last = messages[-1]
        content = last.get("content")
        if isinstance(content, list):
            images = [p["image"] for p in content if "image" in p]
            videos = [p["video"] for p in content if "video" in p]
            words = " ".join(p["text"] for p in content if "text" in p)
            text = f"echo: {words}" + (f" [{len(images)} image(s): {', '.join(i[:10] for i in images)}]" if images else "")
            text += f" [{len(videos)} video(s)]" if videos else ""
        else:
            text = f"echo: {content}"
        if last.get("role") == "tool":
            text = f"tool said: {content if isinstance(content, str) else json.dumps(content)}"
        calls: list[dict[str, Any]] = []
        tools = params.get("tools") or []
        if tools and last.get("role") == "user" and params.get("tool_choice") != "none":
            name = tools[0]["function"]["name"]
            calls = [{"index": 0, "id": f"call_{self.rid:08d}", "type": "function", "function": {"name": name, "arguments": json.dumps({"q": str(content)})}}]
            text = ""
        if params.get("response_format", {}).get("type") in ("json_object", "json_schema"):
            text = json.dumps({"answer": text})
        reasoning = "thinking about it" if params.get("enable_thinking") else ""
        return reasoning, text, calls

    def _usage(self, messages: list[dict[str, Any]], out_tokens: int, reasoning: int) -> dict[str, Any]:
        prompt = sum(len(json.dumps(m.get("content"), ensure_ascii=False).split()) for m in messages)
        u: dict[str, Any] = {"input_tokens": prompt, "output_tokens": out_tokens, "total_tokens": prompt + out_tokens}
        if reasoning:
            u["output_tokens_details"] = {"reasoning_tokens": reasoning}
        return u

    def _content(self, text: str, multimodal: bool) -> Any:
        return [{"text": text}] if multimodal else text

    def _complete(self, messages, params, multimodal, n, rid) -> dict[str, Any]:
        reasoning, text, calls = self._plan(messages, params, multimodal)
        choices = []
        for i in range(n):
            msg: dict[str, Any] = {"role": "assistant", "content": self._content(text, multimodal)}
            if calls:
                msg["tool_calls"] = calls
            if reasoning:
                msg["reasoning_content"] = reasoning
            # DashScope ends a tool-calling turn with "stop" in non-stream mode.
            choice = {"finish_reason": "stop", "message": msg}
            if n > 1:
                choice["index"] = i
            choices.append(choice)
        out_tokens = len(text.split()) + len(reasoning.split()) + len(calls)
        return {"output": {"choices": choices}, "usage": self._usage(messages, out_tokens, len(reasoning.split())), "request_id": rid}

    def _frames(self, messages, params, multimodal, n, rid) -> list[dict[str, Any]]:
        reasoning, text, calls = self._plan(messages, params, multimodal)
        incremental = params.get("incremental_output") is True
        pieces: list[tuple[str, str]] = [("reasoning_content", w) for w in _split(reasoning)]
        pieces += [("content", w) for w in _split(text)]
        frames = []
        tokens = 0
        so_far = {"content": "", "reasoning_content": ""}
        for kind, piece in pieces:
            tokens += 1
            so_far[kind] += piece
            for i in range(n):
                msg = {"role": "assistant", "content": "", "reasoning_content": ""}
                msg[kind] = piece if incremental else so_far[kind]
                if not incremental:
                    msg["content"] = so_far["content"]
                msg["content"] = self._content(msg["content"], multimodal)
                if not reasoning:
                    del msg["reasoning_content"]
                choice = {"message": msg, "finish_reason": "null"}
                if n > 1:
                    choice["index"] = i
                frames.append({"output": {"choices": [choice]}, "usage": self._usage(messages, tokens, min(tokens, len(_split(reasoning)))), "request_id": rid})
        for call in calls:
            args = call["function"]["arguments"]
            half = len(args) // 2
            first = {**call, "function": {"name": call["function"]["name"], "arguments": args[:half]}}
            # Later deltas of a call repeat the index with an empty id, as DashScope does.
            rest = {"index": call["index"], "id": "", "type": "function", "function": {"arguments": args[half:]}}
            for part in (first, rest):
                tokens += 1
                frames.append({"output": {"choices": [{"message": {"role": "assistant", "content": "", "tool_calls": [part]}, "index": 0, "finish_reason": "null"}]}, "usage": self._usage(messages, tokens, 0), "request_id": rid})
        finish = "tool_calls" if calls else "stop"
        for i in range(n):
            last_msg = {"role": "assistant", "content": self._content("" if incremental else so_far["content"], multimodal)}
            choice = {"message": last_msg, "finish_reason": finish}
            if n > 1:
                choice["index"] = i
            frames.append({"output": {"choices": [choice]}, "usage": self._usage(messages, tokens, len(_split(reasoning))), "request_id": rid})
        return frames

    # --- embeddings ---------------------------------------------------------------------
    async def _embedding(self, request: web.Request) -> web.Response:
        rec = await self._record(request)
        if (err := self._auth(request)) is not None:
            return err
        if self.script:
            return await self._scripted(request, self.script.popleft())
        body = json.loads(rec.body)
        texts = body["input"]["texts"]
        model = body["model"]
        limit = EMBED_LIMIT.get(model, 10)
        if len(texts) > limit:
            return self.error(400, "InvalidParameter", f"batch size is invalid, it should not be larger than {limit}.: input.texts")
        dim = (body.get("parameters") or {}).get("dimension") or 8
        embeddings = [
            {"sparse_embedding": [], "text_index": i, "embedding": [round(((len(t) + k) % 7) / 7, 6) for k in range(dim)]}
            for i, t in enumerate(texts)
        ]
        embeddings.reverse()  # DashScope does not promise order: text_index says
        tokens = sum(len(t.split()) for t in texts)
        return web.json_response({"output": {"embeddings": embeddings}, "usage": {"total_tokens": tokens}, "request_id": self._request_id()})


def _split(text: str) -> list[str]:
    if not text:
        return []
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]
