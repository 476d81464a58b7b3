"""A fake Anthropic Messages API upstream on loopback.

Wire format as the official `anthropic` SDK sends and parses it
(https://github.com/anthropics/anthropic-sdk-python, `anthropic/types/`): `x-api-key` and
`anthropic-version` headers (SDK 2.x sends the key as `Authorization: Bearer`; both are
accepted), `POST /v1/messages`, named SSE events (`event: message_start` …
`message_stop`, a `ping` after the first block starts) whose JSON is padded with spaces before
the closing brace as real streams are, `GET /v1/models?limit=&after_id=` pages, and the error
body `{"type":"error","error":{"type","message"},"request_id"}`. `tests/test_anthropic_fake.py`
drives it with the SDK.

Without a script it answers like a small echo model and checks what the real API checks that
aoa could get wrong: `max_tokens` present, roles user/assistant only, temperature in [0, 1],
no empty text blocks, a thinking budget of at least 1024 below max_tokens, tool results that
answer the previous turn's tool_use ids and open their user turn, and — with thinking on — a
last assistant tool turn that starts with the very thinking block (text and signature) the fake
issued. Prompt caching is simulated from `cache_control` breakpoints.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.openai_api import Recorded

PAD = b"     "  # real Anthropic streams pad some events' JSON: `{...}     }`


def signature(thinking: str) -> str:
    """What the fake signs a thinking text with: base64, with `+`, `/` and `=` in it."""
    digest = hashlib.sha256(b"fake-anthropic:" + thinking.encode()).digest()
    return base64.b64encode(b"\xfb\xff" + digest + b"\xbf").decode()


def anthropic_error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake0123456789"}


def event(name: str, data: dict[str, Any], pad: bool = False) -> bytes:
    raw = json.dumps(data, separators=(",", ":")).encode()
    if pad:
        raw = raw[:-1] + PAD + b"}"
    return b"event: " + name.encode() + b"\ndata: " + raw + b"\n\n"


@dataclass
class Reply:
    kind: str  # json | sse
    status: int = 200
    body: Any = None
    headers: dict[str, str] | None = None
    delay: float = 0.0


class Invalid(Exception):
    pass


class FakeAnthropic:
    def __init__(self, *, key: str | None = None, models: tuple[str, ...] = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-haiku-20241022"), page_size: int | None = None, prefix: str = "") -> None:
        self.key = key
        self.models = models
        self.page_size = page_size
        self.prefix = prefix
        self.requests: list[Recorded] = []
        self.script: deque[Reply] = deque()
        self.cache: set[str] = set()
        self.counter = 0

    # --- scripting --------------------------------------------------------------------
    def reply_json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.script.append(Reply("json", status, body, headers))

    def reply_error(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.reply_json(anthropic_error(kind, message), status, headers)

    def reply_sse(self, events: list[bytes] | bytes, delay: float = 0.0) -> None:
        self.script.append(Reply("sse", 200, [events] if isinstance(events, bytes) else events, delay=delay))

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    # --- the app ----------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(self.prefix + "/v1/messages", self._messages)
        app.router.add_get(self.prefix + "/v1/models", self._list)
        return app

    async def _record(self, request: web.Request) -> Recorded:
        rec = Recorded(method=request.method, path=request.path, query=dict(request.query), headers=dict(request.headers), body=await request.read())
        self.requests.append(rec)
        return rec

    def _auth(self, request: web.Request) -> web.Response | None:
        if not request.headers.get("anthropic-version"):
            return web.json_response(anthropic_error("invalid_request_error", "anthropic-version: header is required"), status=400)
        if self.key is None or self.key in (request.headers.get("x-api-key"), request.headers.get("Authorization", "")[7:]):
            return None
        return web.json_response(anthropic_error("authentication_error", "invalid x-api-key"), status=401)

    async def _list(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (err := self._auth(request)) is not None:
            return err
        size = int(request.query.get("limit", "20"))
        if self.page_size:
            size = min(size, self.page_size)
        after = request.query.get("after_id")
        start = self.models.index(after) + 1 if after in self.models else 0
        page = self.models[start : start + size]
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"} for m in page]
        return web.json_response({
            "data": data, "has_more": start + size < len(self.models),
            "first_id": page[0] if page else None, "last_id": page[-1] if page else None,
        })

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        if (err := self._auth(request)) is not None:
            return err
        if self.script:
            return await self._scripted(request, self.script.popleft())
        try:
            body = json.loads(rec.body)
            self._validate(body, request.headers["anthropic-version"])
        except ValueError:
            return web.json_response(anthropic_error("invalid_request_error", "invalid JSON body"), status=400)
        except Invalid as exc:
            return web.json_response(anthropic_error("invalid_request_error", str(exc)), status=400)
        message = self._answer(body)
        if body.get("stream"):
            return await self._stream(request, message)
        return web.json_response(message)

    async def _scripted(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if reply.kind == "json":
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await resp.prepare(request)
        for item in reply.body:
            if reply.delay:
                await asyncio.sleep(reply.delay)
            await resp.write(item)
        await resp.write_eof()
        return resp

    # --- what the real API refuses ----------------------------------------------------
    def _validate(self, body: dict[str, Any], version: str) -> None:
        if not isinstance(body.get("max_tokens"), int):
            raise Invalid("max_tokens: Field required")
        for name in ("temperature", "top_p", "top_k"):
            # From API version 2026-10-21 sampling parameters are refused on every model.
            if name in body and version >= "2026-10-21":
                raise Invalid(f"{name}: Extra inputs are not permitted")
        msgs = body.get("messages") or []
        if not msgs:
            raise Invalid("messages: at least one message is required")
        t = body.get("temperature")
        if t is not None and not 0 <= t <= 1:
            raise Invalid("temperature: range: 0..1")
        thinking = body.get("thinking") or {}
        if thinking.get("type") == "enabled":
            budget = thinking.get("budget_tokens", 0)
            if budget < 1024 or budget >= body["max_tokens"]:
                raise Invalid("thinking.budget_tokens: must be ≥ 1024 and less than max_tokens")
        if thinking.get("type") in ("enabled", "adaptive") and (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
            raise Invalid("Thinking may not be enabled when tool_choice forces tool use.")
        prev_uses: set[str] = set()
        for n, m in enumerate(msgs):
            if m.get("role") not in ("user", "assistant"):
                raise Invalid(f"messages.{n}.role: Input should be 'user' or 'assistant'")
            blocks = m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]
            seen_other = False
            for k, b in enumerate(blocks):
                if b.get("type") == "text" and not b.get("text"):
                    raise Invalid(f"messages.{n}.content.{k}.text: text content blocks must be non-empty")
                if b.get("type") == "tool_result":
                    if seen_other:
                        raise Invalid(f"messages.{n}: tool_result blocks must come first")
                    if b.get("tool_use_id") not in prev_uses:
                        raise Invalid(f"messages.{n}.content.{k}: unexpected `tool_use_id` found in `tool_result` blocks: {b.get('tool_use_id')}")
                else:
                    seen_other = True
            prev_uses = {b["id"] for b in blocks if b.get("type") == "tool_use"} if m["role"] == "assistant" else set()
        if thinking.get("type") in ("enabled", "adaptive"):
            self._check_thinking_replay(msgs)

    def _check_thinking_replay(self, msgs: list[dict[str, Any]]) -> None:
        for n, m in enumerate(msgs):
            if m["role"] != "assistant" or not isinstance(m["content"], list):
                continue
            if not any(b.get("type") == "tool_use" for b in m["content"]) or n != len(msgs) - 2:
                continue
            first = m["content"][0]
            if first.get("type") not in ("thinking", "redacted_thinking"):
                raise Invalid(f"messages.{n}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first.get('type')}`.")
            for k, b in enumerate(m["content"]):
                if b.get("type") == "thinking" and b.get("signature") != signature(b.get("thinking", "")):
                    raise Invalid(f"messages.{n}.content.{k}: Invalid `signature` in `thinking` block")
                if b.get("type") == "redacted_thinking" and not b.get("data", "").startswith("EmwKAhgB"):
                    raise Invalid(f"messages.{n}.content.{k}: Invalid `data` in `redacted_thinking` block")

    # --- the echo model ---------------------------------------------------------------
    def _last_user_text(self, body: dict[str, Any]) -> str:
        for m in reversed(body["messages"]):
            if m["role"] != "user":
                continue
            if isinstance(m["content"], str):
                return m["content"]
            texts = [b["text"] for b in m["content"] if b.get("type") == "text"]
            if any(b.get("type") == "tool_result" for b in m["content"]):
                texts = ["tool said " + self._result_text(b) for b in m["content"] if b.get("type") == "tool_result"] + texts
            kinds = [b["type"] for b in m["content"] if b.get("type") in ("image", "document")]
            return " ".join(texts + [f"[{k}]" for k in kinds])
        return ""

    @staticmethod
    def _result_text(b: dict[str, Any]) -> str:
        c = b.get("content")
        return c if isinstance(c, str) else " ".join(x.get("text", "") for x in c or [])

    def _usage(self, body: dict[str, Any], out_text: str) -> dict[str, Any]:
        seq: list[str] = []
        breakpoints: list[int] = []
        for t in body.get("tools") or []:
            seq.append(json.dumps(t.get("name")))
            if t.get("cache_control"):
                breakpoints.append(len(seq))
        system = body.get("system") or []
        for b in [{"type": "text", "text": system}] if isinstance(system, str) else system:
            seq.append(json.dumps(b.get("text")))
            if b.get("cache_control"):
                breakpoints.append(len(seq))
        for m in body["messages"]:
            for b in m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]:
                seq.append(m["role"] + json.dumps({k: v for k, v in b.items() if k != "cache_control"}, sort_keys=True))
                if b.get("cache_control"):
                    breakpoints.append(len(seq))
        words = [max(1, len(s.split())) for s in seq]
        prefix = [hashlib.sha256("\n".join(seq[:i]).encode()).hexdigest() for i in range(len(seq) + 1)]
        read = created = 0
        if breakpoints:
            last = breakpoints[-1]
            hit = max((i for i in range(1, last + 1) if prefix[i] in self.cache), default=0)
            read = sum(words[:hit])
            created = sum(words[hit:last])
            self.cache.update(prefix[i] for i in breakpoints)
        total_in = sum(words)
        return {
            "input_tokens": total_in - read - created,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "output_tokens": max(1, len(out_text.split())),
            "service_tier": "standard",
        }

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        self.counter += 1
        text = "echo: " + self._last_user_text(body)
        content: list[dict[str, Any]] = []
        thinking = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
        if thinking:
            thought = f"Thinking about {self._last_user_text(body)!r}."
            content.append({"type": "thinking", "thinking": thought, "signature": signature(thought)})
            if "redact" in text:
                content.append({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a" + str(self.counter)})
        stop = "end_turn"
        fmt = (body.get("output_config") or {}).get("format")
        choice = body.get("tool_choice") or {}
        tools = body.get("tools") or []
        forced = choice.get("type") in ("any", "tool")
        wanted = forced or (choice.get("type", "auto") == "auto" and "weather" in text)
        if wanted and tools and not self._answered_tool(body):
            name = choice.get("name") or tools[0]["name"]
            count = 1 if choice.get("disable_parallel_tool_use") or choice.get("type") == "tool" else 2
            if not forced:
                # A forced tool use is prefilled: no text comes before it
                # (https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use).
                content.append({"type": "text", "text": "Let me look that up."})
            for k in range(count):
                args = {"answer": text} if name == "json_answer" else {"city": ["Paris", "Rome"][k]}
                content.append({"type": "tool_use", "id": f"toolu_fake{self.counter:04d}{k}", "name": name, "input": args})
            stop = "tool_use"
        elif fmt is not None:
            content.append({"type": "text", "text": json.dumps({"answer": text})})
        else:
            content.append({"type": "text", "text": text})
        for s in body.get("stop_sequences") or []:
            if s in text:
                content[-1] = {"type": "text", "text": text.split(s)[0]}
                stop = "stop_sequence"
        out_text = " ".join(b.get("text", "") or json.dumps(b.get("input", "")) for b in content)
        return {
            "id": f"msg_fake{self.counter:06d}", "type": "message", "role": "assistant", "model": body["model"],
            "content": content, "stop_reason": stop, "stop_sequence": None, "usage": self._usage(body, out_text),
        }

    @staticmethod
    def _answered_tool(body: dict[str, Any]) -> bool:
        last = body["messages"][-1]
        return isinstance(last["content"], list) and any(b.get("type") == "tool_result" for b in last["content"])

    async def _stream(self, request: web.Request, message: dict[str, Any]) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        usage = message["usage"]
        start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
        frames = [event("message_start", {"type": "message_start", "message": start}, pad=True)]
        for i, b in enumerate(message["content"]):
            kind = b["type"]
            if kind == "text":
                frames.append(event("content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}, pad=True))
                if i == 0:
                    frames.append(event("ping", {"type": "ping"}))
                words = b["text"].split(" ")
                for k, w in enumerate(words):
                    piece = w if k == 0 else " " + w
                    frames.append(event("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": piece}}, pad=k % 2 == 0))
            elif kind == "thinking":
                frames.append(event("content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}))
                frames.append(event("ping", {"type": "ping"}))
                half = len(b["thinking"]) // 2
                for piece in (b["thinking"][:half], b["thinking"][half:]):
                    frames.append(event("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "thinking_delta", "thinking": piece}}, pad=True))
                frames.append(event("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "signature_delta", "signature": b["signature"]}}))
            elif kind == "redacted_thinking":
                frames.append(event("content_block_start", {"type": "content_block_start", "index": i, "content_block": b}))
            elif kind == "tool_use":
                frames.append(event("content_block_start", {"type": "content_block_start", "index": i, "content_block": {**b, "input": {}}}, pad=True))
                raw = json.dumps(b["input"])
                for piece in ("", raw[:5], raw[5:]):
                    frames.append(event("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": piece}}))
            frames.append(event("content_block_stop", {"type": "content_block_stop", "index": i}, pad=True))
        frames.append(event("message_delta", {"type": "message_delta", "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None}, "usage": {"output_tokens": usage["output_tokens"]}}, pad=True))
        frames.append(event("message_stop", {"type": "message_stop"}, pad=True))
        for f in frames:
            await resp.write(f)
        await resp.write_eof()
        return resp
