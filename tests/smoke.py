"""Start every `AOA_TYPE` from an installed artifact against a loopback fake upstream.

    python -m tests.smoke [--cwd DIR] -- <command that starts aoa> [args…]

e.g. `-- /tmp/venv/bin/aoa` (a wheel installed non-editable) or `-- python3 dist/aoa-….pyz`.
For each row of `SMOKE` it serves the kind's fake from `tests/fakes/`, starts the command with a
clean environment (only PATH, HOME and the row's variables) in an empty directory, so nothing
from this source tree can be imported by it, then sends one chat request without and one with
streaming through the official openai SDK, and stops the process with SIGTERM (exit 0 expected).

Adding a kind to `providers.KINDS` means adding its row here: `tests/test_release.py` fails
while a kind has none.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai

from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.cn_vendors import BASE as CN_BASE
from tests.fakes.cn_vendors import FakeVendor
from tests.fakes.dashscope_api import FakeDashScope
from tests.fakes.gemini_api import FakeGemini
from tests.fakes.openai_api import FakeOpenAI
from tests.support import ServerThread

KEY = "smoke-test-key"


@dataclass
class Row:
    """One kind: its fake upstream (None: the kind needs none), the variables pointing aoa at it
    (given the fake's base URL), and the model to ask for."""

    fake: Callable[[], Any] | None
    env: Callable[[str], dict[str, str]]
    model: str = "gpt-4o"
    extra: dict[str, str] = field(default_factory=dict)


SMOKE: dict[str, Row] = {
    "mock": Row(None, lambda url: {"MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"}),
    "azure": Row(
        lambda: FakeOpenAI(flavor="azure", key=KEY, deployments=("gpt-4o",)),
        lambda url: {"AZURE_ENDPOINT": url + "/", "AZURE_API_KEY": KEY},
    ),
    "openai": Row(lambda: FakeOpenAI(key=KEY), lambda url: {"OPENAI_ENDPOINT": url + "/v1", "OPENAI_API_KEY": KEY}),
    # A host-only YI_ENDPOINT, as amazing-openai-api's compose files have it.
    "yi": Row(lambda: FakeOpenAI(key=KEY), lambda url: {"YI_ENDPOINT": url, "YI_API_KEY": KEY}, model="yi-lightning"),
    "gemini": Row(lambda: FakeGemini(key=KEY), lambda url: {"GEMINI_ENDPOINT": url, "GEMINI_API_KEY": KEY}, model="gemini-2.5-flash"),
    "qwen": Row(lambda: FakeDashScope(key=KEY), lambda url: {"QWEN_ENDPOINT": url, "QWEN_API_KEY": KEY}, model="qwen-plus"),
    "anthropic": Row(lambda: FakeAnthropic(key=KEY), lambda url: {"ANTHROPIC_ENDPOINT": url, "ANTHROPIC_API_KEY": KEY}, model="claude-sonnet-4-5"),
}
# The OpenAI-compatible Chinese vendors share one fake, each at its own base path.
for _kind in ("deepseek", "moonshot", "zhipu", "minimax", "qianfan", "spark"):
    SMOKE[_kind] = Row(
        lambda k=_kind: FakeVendor(k, key=KEY),
        lambda url, k=_kind: {f"{k.upper()}_ENDPOINT": url + CN_BASE[k], f"{k.upper()}_API_KEY": KEY},
        model="m-1",
    )
# The router in front of one OpenAI-compatible backend (the fake stands in for a sidecar).
SMOKE["router"] = Row(lambda: FakeOpenAI(key=KEY), lambda url: {"ROUTER_ROUTES": f"*:{url}/v1", "ROUTER_API_KEY": KEY})
# Aliases of a kind: the same module under another AOA_TYPE name.
for _alias, _kind in (("claude", "anthropic"), ("kimi", "moonshot"), ("glm", "zhipu")):
    SMOKE[_alias] = SMOKE[_kind]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(proc: subprocess.Popen, url: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before answering")
        try:
            if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no answer on /healthz within {seconds:.0f} s")


def smoke_kind(kind: str, command: list[str], cwd: str) -> None:
    row = SMOKE[kind]
    upstream = ServerThread(row.fake().app()).start() if row.fake else None
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": cwd,
        "AOA_TYPE": kind,
        "AOA_HOST": "127.0.0.1",
        "AOA_PORT": str(port),
        **row.env(upstream.url if upstream else ""),
        **row.extra,
    }
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_healthy(proc, url)
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=20)
        messages = [{"role": "user", "content": "smoke test"}]
        reply = client.chat.completions.create(model=row.model, messages=messages)
        text = reply.choices[0].message.content or ""
        assert "smoke test" in text, f"non-stream answer {text!r}"
        chunks = list(client.chat.completions.create(model=row.model, messages=messages, stream=True))
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert "smoke test" in streamed, f"streamed answer {streamed!r}"
        assert any(c.choices and c.choices[0].finish_reason for c in chunks), "no finish_reason in the stream"
        client.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        assert proc.returncode == 0, f"exit status {proc.returncode} after SIGTERM"
    except BaseException as exc:
        if proc.poll() is None:
            proc.kill()
        out = proc.communicate()[0]
        raise RuntimeError(f"AOA_TYPE={kind}: {exc}\n--- its output ---\n{out}") from None
    finally:
        if upstream:
            upstream.stop()
    print(f"  {kind}: ok (stream and non-stream, {time.monotonic() - t0:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cwd", help="directory to start aoa in (default: a fresh empty one)")
    parser.add_argument("--kinds", help="comma-separated subset of kinds (default: every row)")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",") if args.kinds else list(SMOKE)
    with tempfile.TemporaryDirectory(prefix="aoa-smoke-") as empty:
        for kind in kinds:
            smoke_kind(kind, args.command, args.cwd or empty)
    return 0


if __name__ == "__main__":
    sys.exit(main())
