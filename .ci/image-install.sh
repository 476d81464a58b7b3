#!/bin/sh
# The container image's install step (Dockerfile `RUN`), kept as a script so CI runs the very same
# step outside Docker: install the built wheel (never the source tree) with the given Python, then
# prove every shipped package imports, so a missing sub-package fails the build, not a request.
#   .ci/image-install.sh <dir holding aoa-*.whl> [python] [extras, e.g. redis,vertex]
set -eu
dist="$1"
python="${2:-python}"
extras="${3:-}"
set -- "$dist"/aoa-*.whl
[ "$#" -eq 1 ] && [ -f "$1" ] || { echo "image-install: expected exactly one aoa-*.whl in $dist" >&2; exit 1; }
"$python" -m pip install -q --no-cache-dir --disable-pip-version-check "$1${extras:+[$extras]}"
# From / so that a source tree in the current directory cannot stand in for the install.
cd /
"$python" - <<'PY'
import importlib, pkgutil, sys
import aoa, gateway, providers
for module in (aoa, gateway, providers):
    if "site-packages" not in module.__file__:
        sys.exit(f"image-install: {module.__name__} imported from {module.__file__}, not from the install")
for kind in providers.KINDS:
    providers.load(kind)
import gateway
for m in pkgutil.iter_modules(gateway.__path__):
    importlib.import_module(f"gateway.{m.name}")
PY
