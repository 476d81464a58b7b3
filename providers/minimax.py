"""MiniMax: an OpenAI-compatible API (https://platform.minimaxi.com/docs/api-reference/text-openai-api,
international https://platform.minimax.io/docs/api-reference/text-openai-api).

Bases: `https://api.minimaxi.com/v1` (China), `https://api.minimax.io/v1` (international).
`POST /chat/completions` only: MiniMax's embeddings API is not OpenAI-shaped and there is no
model list.

Reasoning: M2-family models put their thinking inside `content` as `<think>…</think>`. aoa moves
it to `reasoning_content` (stream and not), and in later requests wraps an assistant turn's
`reasoning_content` back into `<think>…</think>` in front of its content, because MiniMax needs
the whole earlier answer, thinking included, in tool loops (same page, "Important Note"). A client
that sets MiniMax's own `reasoning_split` gets `reasoning_details` relayed as MiniMax sends them,
and their text as `reasoning_content` as well.

Errors: MiniMax reports failures inside an HTTP 200 as `base_resp.status_code` ≠ 0
(https://platform.minimax.io/docs/api-reference/errorcode); aoa turns them into HTTP errors.
Not supported upstream: `temperature` 0 (range (0, 1]), `n` > 1, `reasoning_effort`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from . import compat
from .compat import Ctx, number, refuse, relay
from .core import Error

PREFIX = "MINIMAX"

# https://platform.minimax.io/docs/api-reference/text-openai-api (parameters)
PARAMS: dict[str, compat.Rule] = {
    **compat.BOOKKEEPING,
    "temperature": number(0, 1, low_open=True),  # (0.0, 1.0]; 0 is an error, no greedy switch
    "top_p": number(0, 1, low_open=True),
    "n": compat.whole(1, 1),  # "only 1 is supported"
    "max_tokens": relay,
    "max_completion_tokens": relay,
    "stop": relay,
    "tools": relay,
    "tool_choice": relay,
    "parallel_tool_calls": relay,
    "response_format": relay,
    "seed": relay,
    "modalities": relay,
    "presence_penalty": relay,
    "frequency_penalty": relay,
    "reasoning_effort": refuse("MiniMax has no effort control; M2 models always think."),
    "logprobs": refuse("MiniMax returns no log probabilities."),
    "top_logprobs": refuse("MiniMax returns no log probabilities."),
    "logit_bias": refuse("MiniMax has no logit_bias."),
    "audio": refuse("MiniMax chat answers text only."),
    "prediction": refuse("MiniMax has no predicted outputs."),
    "web_search_options": refuse("MiniMax's chat API has no web search."),
    "verbosity": refuse("MiniMax has no verbosity control."),
}

# https://platform.minimax.io/docs/api-reference/errorcode
ERRORS: dict[str, tuple[int, str | None]] = {
    "1000": (500, "server_error"),
    "1001": (504, "timeout"),
    "1002": (429, "rate_limit_exceeded"),
    "1004": (401, "invalid_api_key"),
    "1008": (429, "insufficient_quota"),
    "1024": (500, "server_error"),
    "1026": (400, "content_filter"),  # input sensitive
    "1027": (400, "content_filter"),  # output sensitive
    "1033": (500, "server_error"),
    "1039": (429, "rate_limit_exceeded"),  # token limit
    "1041": (429, "rate_limit_exceeded"),  # connection limit
    "1042": (400, "invalid_parameter"),
    "1043": (400, "invalid_parameter"),
    "2013": (400, "invalid_parameter"),
    "2045": (429, "rate_limit_exceeded"),
    "2049": (401, "invalid_api_key"),
}
RETRY_CODES = frozenset({"rate_limit_exceeded", "server_error", "timeout"})


class _BaseResp(msgspec.Struct):
    status_code: int = 0
    status_msg: str = ""


class _WithBaseResp(msgspec.Struct):
    base_resp: _BaseResp | None = None


_base_resp = msgspec.json.Decoder(_WithBaseResp)


def _inband(body: bytes) -> Error | None:
    if b'"base_resp"' not in body:
        return None
    try:
        resp = _base_resp.decode(body).base_resp
    except msgspec.DecodeError:
        return None
    if resp is None or resp.status_code == 0:
        return None
    return compat.vendor_error(VENDOR, 200, body)


OPEN, CLOSE = "<think>", "</think>"
# At most this many characters wait for the next chunk (a maybe-tag, newlines before </think>):
# an upstream streaming blank lines one by one must not make each chunk re-copy all before it.
_HOLD = 16


def _held(text: str, tag: str) -> int:
    """How many trailing characters of `text` could be the start of `tag` split across chunks."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


def _details_text(details: Any) -> str:
    if not isinstance(details, list):
        return ""
    return "".join(d["text"] for d in details if isinstance(d, dict) and isinstance(d.get("text"), str))


class ThinkSplitter:
    """Moves a leading `<think>…</think>` of `content` into `reasoning_content`; with MiniMax's
    `reasoning_split`, copies the text of `reasoning_details` there too."""

    def __init__(self) -> None:
        self.state: dict[int, str] = {}  # choice → "start" | "open" | "think" | "after" | "answer"
        self.pending: dict[int, str] = {}
        # reasoning_details text so far per choice, while it may be cumulative; None once not.
        self.details: dict[int, str | None] = {}
        self.done = False  # every choice past its thinking: nothing left to decode

    def needs(self, payload: bytes) -> bool:
        return (
            (not self.done and (b'"content"' in payload or (bool(self.pending) and b'"finish_reason"' in payload)))
            or b"<think>" in payload
            or b'"reasoning_details"' in payload
        )

    def message(self, msg: dict[str, Any]) -> None:
        if "reasoning_details" in msg and "reasoning_content" not in msg:
            msg["reasoning_content"] = _details_text(msg["reasoning_details"])
        content = msg.get("content")
        if isinstance(content, str) and content.lstrip().startswith(OPEN):
            head = content.lstrip()[len(OPEN):]
            thought, sep, answer = head.partition(CLOSE)
            if sep:
                msg["reasoning_content"] = thought.strip("\n")
                msg["content"] = answer.lstrip("\n")

    def _delta_details(self, i: int, delta: dict[str, Any]) -> str:
        # MiniMax's streaming example treats each `reasoning_details[].text` as the text so far
        # (platform.minimax.io text-openai-api, "Streaming Response"), while callers report
        # increments (github.com/MiniMax-AI/MiniMax-M2/issues/95): take the new part either way.
        text = _details_text(delta.get("reasoning_details"))
        seen = self.details.get(i, "")
        if seen is None:  # increments: nothing to compare against, nothing kept
            return text
        if seen and text.startswith(seen):
            self.details[i] = text
            return text[len(seen):]
        # Not the text so far: increments. Keeping and re-joining them would grow
        # quadratically with the stream.
        self.details[i] = None if seen else text
        return text

    def flush(self) -> list[tuple[int, dict[str, Any]]]:
        """What is still held back, as the deltas that end each choice's text."""
        out = []
        for i in list(self.pending):
            delta: dict[str, Any] = {}
            self.delta(i, delta, True)
            if delta:
                out.append((i, delta))
        return out

    def delta(self, i: int, delta: dict[str, Any], finishing: bool) -> None:
        # States per choice: start → open (just after <think>) → think → after (just after
        # </think>) → answer; a stream without a leading <think> goes start → answer.
        if "reasoning_details" in delta:
            if thought := self._delta_details(i, delta):
                delta["reasoning_content"] = thought
        state = self.state.get(i, "start")
        content = delta.get("content")
        text = self.pending.pop(i, "") + (content if isinstance(content, str) else "")
        reasoning = answer = ""
        if state == "start":
            stripped = text.lstrip()
            if stripped.startswith(OPEN):
                state, text = "open", stripped[len(OPEN):]
            elif OPEN.startswith(stripped) and not finishing and len(text) <= _HOLD:
                if text:
                    self.pending[i] = text  # maybe the first characters of <think>
                text = ""
            else:
                state = "answer"
        if state == "open":
            text = text.lstrip("\n")
            if text:
                state = "think"
        if state == "think" and text:
            thought, sep, rest = text.partition(CLOSE)
            if sep:
                reasoning, state, text = thought.rstrip("\n"), "after", rest
            else:
                keep = 0 if finishing else _held(thought, CLOSE)
                while not finishing and keep < min(len(thought), _HOLD) and thought[len(thought) - keep - 1] == "\n":
                    keep += 1  # a newline just before </think> is not part of the thought
                reasoning = thought[: len(thought) - keep]
                if keep:
                    self.pending[i] = thought[len(thought) - keep:]
                text = ""
        if state == "after":
            text = text.lstrip("\n")
            if text or finishing:
                state = "answer"
        if state == "answer":
            answer = text
        self.state[i] = state
        if reasoning:
            delta["reasoning_content"] = delta.get("reasoning_content", "") + reasoning
        if answer:
            delta["content"] = answer
        elif "content" in delta:
            del delta["content"]
        self.done = all(s == "answer" for s in self.state.values()) and not self.pending


def _history(ctx: Ctx) -> None:
    raw = ctx.fields.get("messages")
    if raw is None or b'"reasoning_content"' not in ctx.call.body:
        return
    messages = compat.decode_messages(raw)
    changed = False
    for m in messages:
        thought = m.pop("reasoning_content", None)
        if thought is None:
            continue
        changed = True
        if "reasoning_details" in m:
            continue  # MiniMax's own form of the same thinking, sent back as it is
        text = compat.decode_value(thought, "messages")
        content = compat.decode_value(m["content"], "messages") if "content" in m else None
        if isinstance(text, str) and text and (content is None or isinstance(content, str)):
            m["content"] = msgspec.Raw(msgspec.json.encode(f"{OPEN}\n{text}\n{CLOSE}\n\n{content or ''}"))
    if changed:
        ctx.fields["messages"] = msgspec.Raw(msgspec.json.encode(messages))


VENDOR = compat.Vendor(
    name="MiniMax",
    prefix=PREFIX,
    endpoint="https://api.minimaxi.com/v1",
    model="MiniMax-M3",
    params=PARAMS,
    history=_history,
    errors=ERRORS,
    inband=_inband,
    reasoning=ThinkSplitter,
)

Settings = compat.Settings

def load_settings(env: Mapping[str, str]) -> Settings:
    return compat.load_settings(VENDOR, env)


chat, chat_result, ChatStream, embeddings, embeddings_result, models, models_result, error = compat.contract(VENDOR)
