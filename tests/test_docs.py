"""Every environment variable the code reads is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A literal variable name in the code: a known prefix, then upper-case words.
VAR = re.compile(r"[\"'](?:AOA|AZURE|OPENAI|YI|GEMINI|QWEN|ANTHROPIC|DEEPSEEK|MOONSHOT|ZHIPU|MINIMAX|QIANFAN|SPARK|ROUTER|MOCK|GOOGLE)_[A-Z0-9_]*[A-Z0-9][\"']")


def _sources() -> list[Path]:
    return [ROOT / "aoa.py", *sorted((ROOT / "gateway").rglob("*.py")), *sorted((ROOT / "providers").rglob("*.py"))]


def test_every_variable_read_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    found = {m.group(0)[1:-1] for path in _sources() for m in VAR.finditer(path.read_text())}
    assert found, "the scan found no variables at all"
    missing = sorted(v for v in found if v not in readme)
    assert not missing, f"read by the code but not in README.md: {missing}"
