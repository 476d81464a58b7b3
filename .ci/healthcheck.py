"""The container's HEALTHCHECK (the slim image has no curl; Python is there anyway).

Exit 0 when aoa answers 200 on /healthz at 127.0.0.1:$AOA_PORT within 2 s, else 1. CI runs it
outside Docker against a freshly installed wheel.
"""

import os
import sys
import urllib.request

url = f"http://127.0.0.1:{os.environ.get('AOA_PORT', '8080')}/healthz"
try:
    with urllib.request.urlopen(url, timeout=2) as resp:
        sys.exit(0 if resp.status == 200 else 1)
except Exception as exc:  # any failure is "unhealthy"; say which for `docker inspect`
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
