"""aoa benchmark: runs every scenario and prints one markdown table.

Processes: a fake upstream (bench/fake_upstream.py), the proxy under test (aoa, a minimal aiohttp
forwarder, LiteLLM when installed) and a load generator (bench/loadgen.py), each its own process.
With taskset available the proxy under test runs on CPU 1, the fake upstream and the load
generator on CPU 0. `BENCH_SCALE` (default 1) multiplies durations and request counts.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
SCALE = float(os.environ.get("BENCH_SCALE", "0.2" if os.environ.get("BENCH_QUICK", "") not in ("", "0") else "1") or 1)
TASKSET = shutil.which("taskset") if (os.cpu_count() or 1) >= 2 else None
LITELLM = Path(os.environ.get("BENCH_LITELLM", HERE / ".venv-litellm" / "bin" / "litellm"))
TMP = Path(tempfile.mkdtemp(prefix="aoa-bench-"))
PROCS: list[subprocess.Popen] = []
NOTES: list[str] = []
ROUNDS = 3


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cpu: int, argv: list[str]) -> list[str]:
    return [TASKSET, "-c", str(cpu), *argv] if TASKSET else argv


def spawn(cpu: int, argv: list[str], env: dict[str, str] | None = None, name: str = "proc") -> subprocess.Popen:
    errlog = open(TMP / f"{name}.log", "wb")
    p = subprocess.Popen(pinned(cpu, argv), env={**os.environ, **(env or {})}, stdout=errlog, stderr=subprocess.STDOUT)
    PROCS.append(p)
    return p


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def healthy(port: int, path: str = "/healthz") -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def wait_ready(p: subprocess.Popen, port: int, timeout: float, path: str = "/healthz") -> float:
    """Seconds from now until the first 200, or raise."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if p.poll() is not None:
            raise RuntimeError(f"exited with {p.returncode}")
        if healthy(port, path):
            return time.perf_counter() - t0
        time.sleep(0.005)
    raise RuntimeError(f"not ready after {timeout:.0f}s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def body_file(name: str, payload: dict) -> str:
    path = TMP / f"{name}.json"
    path.write_bytes(json.dumps(payload, separators=(",", ":")).encode())
    return str(path)


def load(url: str, body: str, *, concurrency: int = 1, duration: float = 2.0, requests: int = 0,
         warmup: float = 0.5, stream: bool = False) -> dict:
    cfg = {"url": url, "body_file": body, "concurrency": concurrency, "duration": duration * SCALE,
           "requests": requests, "warmup": warmup, "stream": stream}
    out = subprocess.run(pinned(0, [PY, str(HERE / "loadgen.py"), json.dumps(cfg)]),
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "load generator failed")
    return json.loads(out.stdout)


# --- contenders ---------------------------------------------------------------------------


def aoa_env(kind: str, upstream: int, port: int) -> dict[str, str]:
    env = {"AOA_TYPE": kind, "AOA_HOST": "127.0.0.1", "AOA_PORT": str(port), "AOA_LOG_LEVEL": "warning"}
    if kind == "openai":
        # translate: the Responses scenarios measure aoa's Responses ⇄ chat translation.
        env |= {"OPENAI_ENDPOINT": f"http://127.0.0.1:{upstream}/v1", "OPENAI_API_KEY": "x", "OPENAI_MODEL": "bench",
                "OPENAI_RESPONSES": "translate"}
    elif kind == "router":  # `upstream` is then the port of the aoa sidecar it routes to
        env |= {"ROUTER_ROUTES": f"*:http://127.0.0.1:{upstream}/v1", "ROUTER_API_KEY": "x"}
    else:
        prefix = kind.upper()
        env |= {f"{prefix}_ENDPOINT": f"http://127.0.0.1:{upstream}", f"{prefix}_API_KEY": "x", f"{prefix}_MODEL": "bench"}
    return env


# Translating providers measured beside passthrough, each its own "aoa <kind>" column, when registered.
TRANSLATED = ("gemini", "anthropic")


# aoa runs on uvloop only with AOA_UVLOOP=true, so one interpreter measures both event loops.
HAVE_UVLOOP = os.environ.get("BENCH_UVLOOP", "1") != "0" and subprocess.run([PY, "-c", "import uvloop"], capture_output=True).returncode == 0


# Rate limits high enough never to refuse, and the in-process cache: what the policies cost on
# every request (a small chat request without temperature 0 or seed is looked at, not cached).
POLICIES_ENV = {"AOA_RATE_LIMIT": "100000000/minute", "AOA_TOKEN_LIMIT": "1000000000/minute", "AOA_CACHE": "memory"}


def start_aoa(kind: str, upstream: int, baseline: str = "", uvloop: bool = False, log: bool = False,
              extra: dict[str, str] | None = None, name: str = "") -> tuple[subprocess.Popen, int, float]:
    """`baseline`: a directory holding another aoa.py, imported first (before/after comparisons);
    `log`: the default AOA_LOG_LEVEL=info, one access line per request (to a file)."""
    port = free_port()
    env = aoa_env(kind, upstream, port) | (extra or {})
    if log:
        env["AOA_LOG_LEVEL"] = "info"
    if baseline:
        env["PYTHONPATH"] = os.pathsep.join([baseline, str(ROOT)])
    env["AOA_UVLOOP"] = "true" if uvloop else "false"
    code = "import sys, aoa; sys.exit(aoa.main([]))"
    p = spawn(1, [PY, "-c", code], env, name or f"aoa-{kind}{'-baseline' if baseline else ''}{'-uvloop' if uvloop else ''}{'-log' if log else ''}")
    return p, port, wait_ready(p, port, 30)


def start_forwarder(upstream: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    p = spawn(1, [PY, str(HERE / "forwarder.py"), str(port), f"http://127.0.0.1:{upstream}"], name="forwarder")
    wait_ready(p, port, 30)
    return p, port


def start_litellm(upstream: int) -> tuple[subprocess.Popen | None, int, str]:
    if not LITELLM.exists():
        return None, 0, "skipped: litellm[proxy] not installed (bench/.venv-litellm)"
    port = free_port()
    cfg = TMP / "litellm.yaml"
    cfg.write_text(
        "model_list:\n"
        "  - model_name: bench\n"
        "    litellm_params:\n"
        "      model: openai/bench\n"
        f"      api_base: http://127.0.0.1:{upstream}/v1\n"
        "      api_key: x\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "general_settings:\n"
        "  dangerously_permit_weak_or_unset_master_key: true\n"
    )
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "TELEMETRY": "False"}
    p = spawn(1, [str(LITELLM), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
              env, "litellm")
    try:
        wait_ready(p, port, 120, "/health/liveliness")
    except RuntimeError as exc:
        stop(p)
        tail = (TMP / "litellm.log").read_text(errors="replace").strip().splitlines()[-1:] or [""]
        return None, 0, f"skipped: LiteLLM did not start ({exc}; {tail[0][:120]})"
    return p, port, ""


# --- scenarios ----------------------------------------------------------------------------


def bodies() -> dict[str, str]:
    small = {"model": "bench", "messages": [{"role": "user", "content": "Say hi."}]}
    image = base64.b64encode(os.urandom(768 * 1024)).decode()  # ≈1 MB once base64-encoded
    vision = {"model": "bench", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}},
    ]}]}
    return {
        "small": body_file("small", small),
        "stream": body_file("stream", {**small, "model": "chunks-500", "stream": True}),
        "gap": body_file("gap", {**small, "model": "chunks-500-gap", "stream": True}),
        "vision": body_file("vision", vision),
        "resp_small": body_file("resp_small", {"model": "bench", "input": "Say hi.", "store": False}),
        "resp_stream": body_file("resp_stream", {"model": "chunks-500", "input": "Say hi.", "stream": True, "store": False}),
    }


def big_body() -> bytes:
    """100,000 same-role messages (≈ 4 MB, well under AOA_MAX_BODY): translation must stay
    linear, and big bodies are translated off the event loop."""
    msgs = [{"role": "user", "content": "hello world, a message"}] * 100_000
    return json.dumps({"model": "bench", "messages": msgs}).encode()


def big_request(root: str, body: bytes) -> tuple[float, float]:
    """(ms for one big request, worst /healthz latency in ms while it runs)."""
    import threading

    done = threading.Event()
    took: list[float] = []

    def send() -> None:
        t0 = time.perf_counter()
        req = urllib.request.Request(root + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=120).read()
        except Exception as exc:  # noqa: BLE001 - reported in the notes, the run goes on
            NOTES.append(f"big body on {root}: {exc}")
        took.append((time.perf_counter() - t0) * 1000)
        done.set()

    threading.Thread(target=send, daemon=True).start()
    worst = 0.0
    while not done.is_set():
        t0 = time.perf_counter()
        try:
            urllib.request.urlopen(root + "/healthz", timeout=60).read()
        except Exception:  # noqa: BLE001
            pass
        worst = max(worst, (time.perf_counter() - t0) * 1000)
        time.sleep(0.005)
    return took[0], worst


def median(values: list) -> float | None:
    values = sorted(v for v in values if not (isinstance(v, float) and math.isnan(v)))
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def fmt(v: float | None, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def main() -> int:
    log(f"scale {SCALE}; pinning: {'proxy on CPU 1, fake upstream + load generator on CPU 0' if TASKSET else 'none (no taskset or < 2 CPUs)'}")
    b = bodies()
    upstream = free_port()
    fake = spawn(0, [PY, str(HERE / "fake_upstream.py"), str(upstream)], name="fake")
    wait_ready(fake, upstream, 10)
    try:
        import providers

        kinds = providers.KINDS
    except ImportError:
        kinds = {}
    translated = [k for k in TRANSLATED if k in kinds]
    NOTES.extend(f"aoa {k}: skipped (no {k} provider registered)" for k in TRANSLATED if k not in kinds)

    base = f"http://127.0.0.1:{upstream}"
    baseline = os.environ.get("BENCH_AOA_BASELINE", "")
    if not HAVE_UVLOOP:
        NOTES.append("aoa openai uvloop: skipped (uvloop not importable)")
    cols = (["direct", "aiohttp fwd", "aoa openai", "aoa openai +log"] + (["aoa openai uvloop"] if HAVE_UVLOOP else [])
            + (["aoa baseline"] if baseline else [])
            + [f"aoa {k}" for k in translated] + (["aoa gemini baseline"] if "gemini" in translated and baseline else [])
            + ["aoa router", "aoa limits+cache", "LiteLLM"])
    res: dict[str, dict[str, dict]] = {c: {} for c in cols}
    chat_path = "/v1/chat/completions"
    vision_n = max(10, int(20 * SCALE))

    # 5 + 6 first, on fresh aoa processes.
    mem: dict[str, float] = {}
    p, port, _ = start_aoa("openai", upstream)
    time.sleep(0.5)
    mem["idle"] = rss_mb(p.pid)
    url = f"http://127.0.0.1:{port}{chat_path}"
    load(url, b["small"], concurrency=64, requests=1000, warmup=0)
    mem["warm"] = rss_mb(p.pid)
    n_mem = int(100_000 * SCALE)
    log(f"memory: {n_mem} requests")
    load(url, b["small"], concurrency=64, requests=n_mem, warmup=0)
    mem["after"] = rss_mb(p.pid)
    mem["n"] = n_mem
    stop(p)
    cold = []
    for _ in range(3):
        port = free_port()
        t0 = time.perf_counter()
        p = spawn(1, [PY, "-c", "import sys, aoa; sys.exit(aoa.main([]))"], aoa_env("openai", upstream, port), "aoa-cold")
        wait_ready(p, port, 30)
        cold.append(time.perf_counter() - t0)
        stop(p)
    cold_s = sum(cold) / len(cold)

    # All contenders stay up (idle ones cost nothing) and take turns, round by round, so that
    # noise from other work on the machine hits them alike; each metric is the median of rounds.
    roots = {"direct": base}
    fp, fport = start_forwarder(upstream)
    roots["aiohttp fwd"] = f"http://127.0.0.1:{fport}"
    ap, aport, _ = start_aoa("openai", upstream)
    roots["aoa openai"] = f"http://127.0.0.1:{aport}"
    lgp, lgport, _ = start_aoa("openai", upstream, log=True)
    roots["aoa openai +log"] = f"http://127.0.0.1:{lgport}"
    NOTES.append("aoa openai +log: the same with the default AOA_LOG_LEVEL=info (one access line per request, to a file); every other aoa column runs at warning")
    up = None
    if HAVE_UVLOOP:
        up, uport, _ = start_aoa("openai", upstream, uvloop=True)
        roots["aoa openai uvloop"] = f"http://127.0.0.1:{uport}"
    bp = None
    if baseline:
        bp, bport, _ = start_aoa("openai", upstream, baseline)
        roots["aoa baseline"] = f"http://127.0.0.1:{bport}"
        NOTES.append(f"aoa baseline: AOA_TYPE=openai with the aoa.py in {baseline}")
    tp = []
    for kind in translated:
        p, port, _ = start_aoa(kind, upstream)
        tp.append(p)
        roots[f"aoa {kind}"] = f"http://127.0.0.1:{port}"
    if "gemini" in translated and baseline:
        p, port, _ = start_aoa("gemini", upstream, baseline)
        tp.append(p)
        roots["aoa gemini baseline"] = f"http://127.0.0.1:{port}"
    # The router in front of the "aoa openai" sidecar: two aoa hops before the fake upstream.
    rp, rport, _ = start_aoa("router", aport)
    roots["aoa router"] = f"http://127.0.0.1:{rport}"
    pp, pport, _ = start_aoa("openai", upstream, extra=POLICIES_ENV, name="aoa-policies")
    roots["aoa limits+cache"] = f"http://127.0.0.1:{pport}"
    lp, lport, why = start_litellm(upstream)
    if lp is None:
        NOTES.append(f"LiteLLM: {why}")
        res.pop("LiteLLM")
        cols.remove("LiteLLM")
    else:
        roots["LiteLLM"] = f"http://127.0.0.1:{lport}"
    plan = [
        ("c1", "small", {"concurrency": 1, "duration": 1.0}, False),
        ("c64", "small", {"concurrency": 64, "duration": 1.5}, False),
        ("ttfc", "gap", {"concurrency": 1, "duration": 1.0}, True),
        ("stream", "stream", {"concurrency": 1, "duration": 1.0}, True),
        ("vision", "vision", {"concurrency": 1, "requests": vision_n, "warmup": 0.2}, False),
    ]
    responses_plan = [
        ("r-c1", "resp_small", {"concurrency": 1, "duration": 1.0}, False),
        ("r-c64", "resp_small", {"concurrency": 64, "duration": 1.5}, False),
        ("r-stream", "resp_stream", {"concurrency": 1, "duration": 1.0}, True),
    ]
    runs: dict[str, dict[str, list[dict]]] = {c: {} for c in cols}
    for rnd in range(ROUNDS):
        log(f"round {rnd + 1}/{ROUNDS}")
        for scen, body, kw, stream in plan:
            for col in list(cols):
                if col == "LiteLLM" and scen not in ("c1", "c64"):
                    continue
                try:
                    r = load(roots[col] + chat_path, b[body], stream=stream, **kw)
                except RuntimeError as exc:
                    NOTES.append(f"{col}: {scen} failed ({exc})")
                    continue
                runs[col].setdefault(scen, []).append(r)
        # The same work through /v1/responses (translated onto the chat path), aoa openai only.
        for scen, body, kw, stream in responses_plan:
            try:
                r = load(roots["aoa openai"] + "/v1/responses", b[body], stream=stream, **kw)
            except RuntimeError as exc:
                NOTES.append(f"aoa openai: {scen} failed ({exc})")
                continue
            runs["aoa openai"].setdefault(scen, []).append(r)
    big = big_body()
    for col in [c for c in ("aoa openai", "aoa baseline", *(f"aoa {k}" for k in TRANSLATED)) if c in roots]:
        tries = [big_request(roots[col], big) for _ in range(ROUNDS)]
        runs[col]["big"] = [{"p50_ms": t, "healthz_worst_ms": h, "errors": 0} for t, h in tries]
    for col in cols:
        for scen, rs in runs[col].items():
            res[col][scen] = {k: median([r[k] for r in rs if r[k] is not None]) for k in rs[0]}
            res[col][scen]["errors"] = sum(r["errors"] for r in rs)
    for proc in (fp, ap, lgp, rp, pp, *([up] if up else []), *([bp] if bp else []), *tp, *([lp] if lp else [])):
        stop(proc)
    stop(fake)

    # --- table ------------------------------------------------------------------------------
    d = res["direct"]

    def added(col: str, scen: str, key: str) -> float | None:
        if scen not in res[col] or res[col][scen][key] is None:
            return None
        return res[col][scen][key] - d[scen][key]

    def get(col: str, scen: str, key: str) -> float | None:
        return res[col].get(scen, {}).get(key)

    aoa = res["aoa openai"]
    fwd_rps = res["aiohttp fwd"]["c64"]["rps"]
    lite_rps = res.get("LiteLLM", {}).get("c64", {}).get("rps")
    rows: list[tuple[str, dict[str, str], str, str]] = []

    def row(label: str, fn, target: str = "", verdict: str = "", digits: int = 2) -> None:
        rows.append((label, {c: fmt(fn(c), digits) for c in cols}, target, verdict))

    def ok(cond: bool | None) -> str:
        return "–" if cond is None else ("✅ pass" if cond else "❌ miss")

    a1 = added("aoa openai", "c1", "p50_ms")
    row("1. c=1 p50 latency (ms)", lambda c: get(c, "c1", "p50_ms"), digits=3)
    row("1. c=1 added p50 vs direct (ms)", lambda c: added(c, "c1", "p50_ms"), "≤ 0.5", ok(a1 <= 0.5), digits=3)
    row("1. c=1 added p99 vs direct (ms)", lambda c: added(c, "c1", "p99_ms"), digits=3)
    row("1. X-AOA-Overhead-Ms mean vs added mean (ms)",
        lambda c: get(c, "c1", "overhead_mean_ms") if c.startswith("aoa") else None, digits=3)
    row("   added mean latency vs direct (ms)", lambda c: added(c, "c1", "mean_ms"), digits=3)
    row("2. c=64 throughput (req/s)", lambda c: get(c, "c64", "rps"), digits=0)
    row("2. c=64 p99 (ms)", lambda c: get(c, "c64", "p99_ms"))
    r_fwd = aoa["c64"]["rps"] / fwd_rps
    row("2. throughput ÷ aiohttp fwd", lambda c: get(c, "c64", "rps") / fwd_rps if get(c, "c64", "rps") else None,
        "≥ 0.9 (Gemini ≥ 0.85)", ok(r_fwd >= 0.9))
    fwd_p99 = res["aiohttp fwd"]["c64"]["p99_ms"]
    row("2. c=64 p99 ÷ aiohttp fwd", lambda c: get(c, "c64", "p99_ms") / fwd_p99 if get(c, "c64", "p99_ms") else None,
        "≤ 1.1", ok(aoa["c64"]["p99_ms"] / fwd_p99 <= 1.1))
    log_rps = res["aoa openai +log"].get("c64", {}).get("rps")
    if log_rps:
        row("2. access log cost: 1 − (+log ÷ without) (%)", lambda c: (1 - log_rps / aoa["c64"]["rps"]) * 100 if c == "aoa openai +log" else None,
            "≤ 5", ok((1 - log_rps / aoa["c64"]["rps"]) * 100 <= 5), digits=1)
    r_lite = aoa["c64"]["rps"] / lite_rps if lite_rps else None
    row("2. throughput ÷ LiteLLM", lambda c: get(c, "c64", "rps") / lite_rps if lite_rps and get(c, "c64", "rps") else None,
        "≥ 10", ok(None if r_lite is None else r_lite >= 10), digits=1)
    ttfc = added("aoa openai", "ttfc", "ttfc_p50_ms")
    row("3. stream 500 chunks: TTFC p50 (ms)", lambda c: get(c, "ttfc", "ttfc_p50_ms"), digits=3)
    row("3. added TTFC vs direct (ms)", lambda c: added(c, "ttfc", "ttfc_p50_ms"), "≤ 1", ok(ttfc <= 1), digits=3)
    cps = aoa["stream"]["chunks_per_s"]
    row("3. chunks/s relayed (c=1)", lambda c: get(c, "stream", "chunks_per_s"), "≥ 20,000", ok(cps >= 20000), digits=0)
    fwd_cps = res["aiohttp fwd"]["stream"]["chunks_per_s"]
    row("3. chunks/s ÷ aiohttp fwd", lambda c: get(c, "stream", "chunks_per_s") / fwd_cps if get(c, "stream", "chunks_per_s") else None,
        "≥ 0.85", ok(cps / fwd_cps >= 0.85))
    row("4. 1 MB vision request p50 (ms)", lambda c: get(c, "vision", "p50_ms"))
    row("4. added p50 vs direct (ms)", lambda c: added(c, "vision", "p50_ms"))
    fwd_vision = res["aiohttp fwd"]["vision"]["p50_ms"]
    row("4. added p50 vs aiohttp fwd (ms)", lambda c: get(c, "vision", "p50_ms") - fwd_vision if get(c, "vision", "p50_ms") else None,
        "≤ 1", ok(aoa["vision"]["p50_ms"] - fwd_vision <= 1))
    row("8. 4 MB body, 100k same-role messages (ms)", lambda c: get(c, "big", "p50_ms"), digits=0)
    row("8. worst /healthz latency meanwhile (ms)", lambda c: get(c, "big", "healthz_worst_ms"), digits=1)
    # Scale-out: the router adds one aoa hop; limits and cache must stay cheap.
    r_add = added("aoa router", "c1", "p50_ms")
    row("9. router + sidecar: added c=1 p50 ÷ sidecar alone's", lambda c: (added(c, "c1", "p50_ms") / a1) if c == "aoa router" and a1 else None,
        "≤ 2", ok(None if r_add is None or not a1 else r_add / a1 <= 2))
    pol_rps = get("aoa limits+cache", "c64", "rps")
    pol_cost = (1 - pol_rps / aoa["c64"]["rps"]) * 100 if pol_rps else None
    row("10. limits+cache on: c=64 throughput cost vs aoa openai (%)",
        lambda c: pol_cost if c == "aoa limits+cache" else None, "≤ 10", ok(None if pol_cost is None else pol_cost <= 10), digits=1)
    pol_add = added("aoa limits+cache", "c1", "p50_ms")
    row("10. limits+cache on: added c=1 p50 vs aoa openai (ms)",
        lambda c: (pol_add - a1) if c == "aoa limits+cache" and pol_add is not None else None, digits=3)
    errs = {c: sum(v.get("errors") or 0 for v in res[c].values()) for c in cols}
    row("errors (all scenarios)", lambda c: float(errs[c]), digits=0)

    responses_rows(aoa, rows, ok)

    growth = (mem["after"] - mem["warm"]) / mem["warm"] * 100
    only = {c: "" for c in cols}
    extra: list[tuple[str, str, str, str]] = [
        ("5. aoa openai RSS idle (MB)", fmt(mem["idle"], 1), "≤ 50", ok(mem["idle"] <= 50)),
        (f"5. RSS after 1,000 warm-up → after {mem['n']:,} more requests (MB)", f"{mem['warm']:.1f} → {mem['after']:.1f}", "", ""),
        ("5. RSS growth after warm-up (%)", fmt(growth, 1), "≤ 10", ok(growth <= 10)),
        ("6. cold start to first /healthz 200 (s, mean of 3)", fmt(cold_s, 3), "≤ 0.5", ok(cold_s <= 0.5)),
    ]
    size, size_note = zipapp_size()
    extra.append(("6. zipapp dist/aoa-….pyz (MB)", fmt(size, 1) if size else size_note, "≤ 10", ok(None if size is None else size <= 10)))

    head = ["scenario / metric", *cols, "target (aoa openai)", "result"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * len(cols) + ["---", "---"]) + "|")
    for label, vals, target, verdict in rows:
        print("| " + " | ".join([label, *(vals.get(c, "") for c in cols), target, verdict]) + " |")
    for label, value, target, verdict in extra:
        vals = {**only, "aoa openai": value}
        print("| " + " | ".join([label, *(vals[c] for c in cols), target, verdict]) + " |")
    print()
    print(f"Scale {SCALE:g}; {'proxy pinned to CPU 1, fake upstream and load generator to CPU 0' if TASKSET else 'no CPU pinning'}; "
          f"python {sys.version.split()[0]}. Added = contender − direct (load generator straight to the fake upstream).")
    for note in NOTES:
        print(f"- {note}")
    return 0


def responses_rows(aoa: dict[str, dict], rows: list, ok) -> None:
    """7. The Responses API on top of chat: what translating costs aoa openai."""
    if not all(k in aoa for k in ("r-c1", "r-c64", "r-stream")):
        return
    only = lambda v, digits=2: {"aoa openai": fmt(v, digits)}  # noqa: E731
    own_chat, own_resp = aoa["c1"].get("overhead_mean_ms"), aoa["r-c1"].get("overhead_mean_ms")
    rows.append(("7. /v1/responses c=1 p50 (ms)", only(aoa["r-c1"]["p50_ms"], 3), "", ""))
    if own_chat is not None and own_resp is not None:
        rows.append(("7. aoa's own time, responses − chat (ms, mean)", only(own_resp - own_chat, 3), "", ""))
    ratio = aoa["r-c64"]["rps"] / aoa["c64"]["rps"] if aoa["c64"]["rps"] else None
    rows.append(("7. /v1/responses c=64 throughput ÷ chat", only(ratio), "≥ 0.80", ok(None if ratio is None else ratio >= 0.8)))
    sratio = aoa["r-stream"]["chunks_per_s"] / aoa["stream"]["chunks_per_s"] if aoa["stream"]["chunks_per_s"] else None
    rows.append(("7. /v1/responses stream events/s ÷ chat chunks/s", only(sratio), "≥ 0.80", ok(None if sratio is None else sratio >= 0.8)))


def zipapp_size() -> tuple[float | None, str]:
    found = sorted((ROOT / "dist").glob("aoa-*.pyz"), key=lambda p: p.stat().st_mtime)
    pyz = found[-1] if found else ROOT / "dist" / "aoa.pyz"
    if not pyz.exists() and os.environ.get("BENCH_ZIPAPP", "1") != "0":
        log("building dist/aoa-….pyz with `make zipapp` (BENCH_ZIPAPP=0 skips)")
        try:
            subprocess.run(["make", "-C", str(ROOT), "zipapp"], capture_output=True, timeout=150, check=True)
        except (subprocess.SubprocessError, OSError) as exc:
            return None, f"skipped: make zipapp failed ({type(exc).__name__})"
        found = sorted((ROOT / "dist").glob("aoa-*.pyz"))
        pyz = found[-1] if found else pyz
    if not pyz.exists():
        return None, "skipped: no dist/aoa.pyz"
    return pyz.stat().st_size / 1e6, ""


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        for proc in PROCS:
            stop(proc)
        shutil.rmtree(TMP, ignore_errors=True)
