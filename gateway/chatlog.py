"""The chat log (`AOA_CHAT_LOG=<path>`): one JSON line per chat or completion request.

    AOA_CHAT_LOG_MAX_BYTES  size at which the file is rotated to `<path>.1` (default 100 MiB)
    AOA_CHAT_LOG_BACKUPS    rotated files kept, `<path>.1` … `<path>.N` (default 3)
    AOA_CHAT_LOG_REDACT     true: message and reply text replaced by their length

A line holds `time`, `id`, `request_id`, `model` (upstream), `client_model`, `messages` (or
`prompt`), `params` (every other request field), `reply` (the assembled chat.completion or
completion, streams included), `usage`, `status`, `stream` and `cache` ("hit" when served from
the cache). Keys and headers are never written. Lines are handed to one writer thread through a
bounded queue: the event loop never waits for the disk; when the disk falls behind by
`QUEUE_MAX` lines, new lines are dropped and counted (`dropped`), with a warning.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from providers import core

log = logging.getLogger("aoa.chatlog")
QUEUE_MAX = 10_000
_encode = msgspec.json.encode
_any = msgspec.json.Decoder()
_TEXT_FIELDS = ("messages", "prompt")
_STOP = object()


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    max_bytes: int = 100 * 1024 * 1024
    backups: int = 3
    redact: bool = False


def load(env: Mapping[str, str]) -> Settings | None:
    path = env.get("AOA_CHAT_LOG", "").strip()
    if not path:
        return None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise core.ConfigError(f"AOA_CHAT_LOG={path!r}: the folder {folder!r} does not exist")
    return Settings(
        path=path,
        max_bytes=core.parse_int(env, "AOA_CHAT_LOG_MAX_BYTES", 100 * 1024 * 1024, low=1024),
        backups=core.parse_int(env, "AOA_CHAT_LOG_BACKUPS", 3, low=0),
        redact=core.parse_bool(env, "AOA_CHAT_LOG_REDACT", False),
    )


def _redacted(value: Any) -> Any:
    """Every string under `content`, `text`, `arguments`, `prompt` or `reasoning_content` → its length."""
    if isinstance(value, dict):
        return {k: (f"[{len(v)} chars]" if isinstance(v, str) and k in _SECRET_TEXT else _redacted(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


_SECRET_TEXT = frozenset({"content", "text", "arguments", "prompt", "reasoning_content", "refusal", "input"})


def _open(path: str):
    # Conversations are private: a new file is readable by its owner only.
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")


class ChatLog:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue: queue.Queue[Any] = queue.Queue(QUEUE_MAX)
        self.dropped = 0
        self._warned = 0.0
        self.thread = threading.Thread(target=self._run, name="aoa-chatlog", daemon=True)
        self.thread.start()

    def record(self, *, call: core.Call, request_id: str, status: int, reply: bytes | None, cache: str = "") -> None:
        """Queue one line; never blocks. The decoding and encoding happen on the writer thread."""
        item = (time.time(), call.id, request_id, call.model, call.client_model, call.fields, call.stream, status, reply, cache)
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            now = time.monotonic()
            if now - self._warned > 30:
                self._warned = now
                log.warning("chat log is behind; %d lines dropped so far", self.dropped)

    def _line(self, item: tuple) -> bytes:
        when, cid, rid, model, client_model, fields, stream, status, reply, cache = item
        texts = {n: _any.decode(fields[n]) for n in _TEXT_FIELDS if n in fields}
        params = {k: _any.decode(v) for k, v in fields.items() if k not in _TEXT_FIELDS and k != "model"}
        answer: Any = None
        if reply:
            try:
                answer = _any.decode(reply)
            except msgspec.DecodeError:
                answer = None
        usage = answer.pop("usage", None) if isinstance(answer, dict) else None
        if self.settings.redact:
            texts, answer = _redacted(texts), _redacted(answer)
        line: dict[str, Any] = {
            "time": round(when, 3), "id": cid, "request_id": rid, "model": model, "client_model": client_model,
            **texts, "params": params, "reply": answer, "usage": usage, "status": status, "stream": stream,
        }
        if cache:
            line["cache"] = cache
        return _encode(line) + b"\n"

    def _run(self) -> None:
        path = self.settings.path
        f = _open(path)
        size = f.tell()
        while True:
            item = self.queue.get()
            if item is _STOP:
                break
            try:
                data = self._line(item)
                if size and size + len(data) > self.settings.max_bytes:
                    f.close()
                    self._rotate()
                    f = _open(path)
                    size = 0
                f.write(data)
                size += len(data)
                if self.queue.empty():
                    f.flush()
            except Exception:  # a malformed value or a full disk must not stop the writer
                log.exception("chat log line could not be written")
            finally:
                self.queue.task_done()
        f.close()

    def _rotate(self) -> None:
        path, n = self.settings.path, self.settings.backups
        if n == 0:
            os.remove(path)
            return
        for i in range(n - 1, 0, -1):
            if os.path.exists(f"{path}.{i}"):
                os.replace(f"{path}.{i}", f"{path}.{i + 1}")
        os.replace(path, f"{path}.1")

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the thread."""
        try:
            self.queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return
        self.thread.join(timeout)
