"""Runs inside the zipapp before aoa is imported (shiv's --preamble).

The zipapp carries compiled extension modules (msgspec, aiohttp, …) for the one Python version
and platform it was built with. On any other interpreter the import would fail deep inside
(`No module named 'msgspec._core'`); say what is wrong in one line instead.
"""

import importlib.machinery
import platform
import sys
from pathlib import Path

site = Path(globals().get("site_packages") or ".")
built = sorted(p.name for p in (site / "msgspec").glob("_core*") if p.suffix in (".so", ".pyd"))
# A bare ".so" matches any build; only the tagged suffixes (".cpython-311-x86_64-linux-gnu.so",
# ".abi3.so") tell whether this interpreter can load it.
tagged = tuple(s for s in importlib.machinery.EXTENSION_SUFFIXES if s.count(".") >= 2)
if built and not any(name.endswith(tagged) for name in built):
    tag = built[0].split(".")[1] if built[0].count(".") >= 2 else built[0]
    here = f"Python {sys.version_info[0]}.{sys.version_info[1]} on {sys.platform}-{platform.machine()}"
    print(
        f"aoa: this zipapp was built for {tag} and cannot run on {here}; run it with that Python, "
        f"or build one for this Python with `make zipapp PYTHON={Path(sys.executable).name}`.",
        file=sys.stderr,
    )
    sys.exit(2)
