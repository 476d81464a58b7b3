"""Closed-loop load generator: fixed concurrency, per-request latency, errors; for streams the
time to first chunk and chunks per second. Prints one JSON object.

Usage: python loadgen.py '{"url": ..., "body_file": ..., "concurrency": 1, "duration": 2.0,
                           "requests": 0, "warmup": 0.5, "stream": false}'
`requests` > 0 runs that many requests instead of `duration` seconds.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import aiohttp


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def one(session: aiohttp.ClientSession, url: str, body: bytes, stream: bool, rec: dict) -> None:
    t0 = time.perf_counter()
    try:
        async with session.post(url, data=body, headers={"Content-Type": "application/json", "Authorization": "Bearer x"}) as resp:
            if stream:
                first = None
                chunks = 0
                async for data in resp.content.iter_any():
                    if first is None:
                        first = time.perf_counter()
                    chunks += data.count(b"\n\n")
                end = time.perf_counter()
                if resp.status != 200 or first is None:
                    rec["errors"] += 1
                    return
                rec["ttfc"].append(first - t0)
                rec["chunks"] += chunks
                rec["stream_s"] += end - t0
            else:
                await resp.read()
                end = time.perf_counter()
                if resp.status != 200:
                    rec["errors"] += 1
                    return
            overhead = resp.headers.get("X-AOA-Overhead-Ms")
            if overhead is not None:
                rec["overhead"].append(float(overhead))
            rec["lat"].append(end - t0)
    except (aiohttp.ClientError, asyncio.TimeoutError):
        rec["errors"] += 1


async def run(cfg: dict) -> dict:
    url = cfg["url"]
    with open(cfg["body_file"], "rb") as f:
        body = f.read()
    stream = bool(cfg.get("stream"))
    conc = int(cfg.get("concurrency", 1))
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def phase(duration: float, requests: int) -> tuple[dict, float]:
            rec = {"lat": [], "ttfc": [], "overhead": [], "errors": 0, "chunks": 0, "stream_s": 0.0}
            left = [requests]
            deadline = time.perf_counter() + duration

            async def worker() -> None:
                while True:
                    if requests:
                        if left[0] <= 0:
                            return
                        left[0] -= 1
                    elif time.perf_counter() >= deadline:
                        return
                    await one(session, url, body, stream, rec)

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(conc)))
            return rec, time.perf_counter() - t0

        warm = float(cfg.get("warmup", 0.5))
        if warm > 0:
            await phase(warm, 0)
        rec, wall = await phase(float(cfg.get("duration", 2.0)), int(cfg.get("requests", 0)))
    lat = rec["lat"]
    ms = 1000.0
    return {
        "n": len(lat),
        "errors": rec["errors"],
        "wall_s": wall,
        "rps": len(lat) / wall if wall else 0.0,
        "p50_ms": pct(lat, 0.5) * ms,
        "p99_ms": pct(lat, 0.99) * ms,
        "mean_ms": (statistics.fmean(lat) * ms) if lat else float("nan"),
        "ttfc_p50_ms": pct(rec["ttfc"], 0.5) * ms,
        "chunks_per_s": rec["chunks"] / rec["stream_s"] if rec["stream_s"] else 0.0,
        "overhead_mean_ms": statistics.fmean(rec["overhead"]) if rec["overhead"] else None,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))
