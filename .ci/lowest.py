"""Print a pip constraints file pinning every runtime dependency to its declared floor.

    python .ci/lowest.py > lowest.txt && pip install -c lowest.txt dist/aoa-*.whl

CI installs these once and smoke-tests them, so `aiohttp>=3.11` is a fact, not a hope. Every
runtime dependency must declare a `>=` floor; one without is an error here.
"""

import re
import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as tomli (pytest's own dependency there)
    import tomli as tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
for requirement in project["dependencies"]:
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(?:,.*)?", requirement)
    if not m:
        sys.exit(f"lowest.py: {requirement!r} has no >= floor")
    print(f"{m[1]}=={m[2]}")
