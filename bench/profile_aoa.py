"""Profiles aoa under scenario 2 (concurrency 64) with pyinstrument and prints the text report.
Usage: python bench/profile_aoa.py [seconds] [openai|gemini|anthropic]"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import run


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    kind = sys.argv[2] if len(sys.argv) > 2 else "openai"
    b = run.bodies()
    upstream = run.free_port()
    fake = run.spawn(0, [run.PY, str(run.HERE / "fake_upstream.py"), str(upstream)], name="fake")
    run.wait_ready(fake, upstream, 10)
    port = run.free_port()
    report = run.TMP / "profile.txt"
    argv = [run.PY, "-m", "pyinstrument", "--renderer", "text", "--outfile", str(report),
            "-c", "import sys, aoa; sys.exit(aoa.main([]))"]
    aoa = run.spawn(1, argv, run.aoa_env(kind, upstream, port), "aoa-profile")
    run.wait_ready(aoa, port, 30)
    stats = run.load(f"http://127.0.0.1:{port}/v1/chat/completions", b["small"], concurrency=64, duration=seconds)
    aoa.send_signal(signal.SIGINT)
    try:
        aoa.wait(30)
    except subprocess.TimeoutExpired:
        aoa.kill()
    time.sleep(0.2)
    print(f"{stats['rps']:.0f} req/s under the profiler, {stats['errors']} errors\n")
    print(report.read_text() if report.exists() else (run.TMP / "aoa-profile.log").read_text())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        for p in run.PROCS:
            run.stop(p)
