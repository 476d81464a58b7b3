"""Every provider module keeps the host contract: it exposes the names the IO layer calls, and
it is pure — no sockets, event loop, logging, environment, clock or randomness of its own."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import providers

PROVIDERS_DIR = Path(providers.__file__).parent
MODULE_FILES = sorted(p for p in PROVIDERS_DIR.rglob("*.py"))

# Modules that would let a provider do IO, keep time or draw randomness by itself.
FORBIDDEN = {
    "socket", "ssl", "asyncio", "aiohttp", "aiohttp_socks", "logging", "os", "time", "random",
    "datetime", "threading", "subprocess", "urllib.request", "http.client", "requests", "httpx",
    "uuid", "secrets",
}
# The mock draws its embedding vectors from a random.Random seeded by the input's hash: pure.
ALLOWED = {("mock.py", "random")}


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


@pytest.mark.parametrize("path", MODULE_FILES, ids=lambda p: str(p.relative_to(PROVIDERS_DIR)))
def test_provider_module_is_pure(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = str(path.relative_to(PROVIDERS_DIR))
    bad = []
    for line, name in _imports(tree):
        top = name.split(".")[0]
        if (name in FORBIDDEN or top in FORBIDDEN) and (rel, top) not in ALLOWED:
            bad.append(f"{rel}:{line} imports {name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            bad.append(f"{rel}:{node.lineno} reads the environment")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("__import__", "open", "print", "input", "exec", "eval"):
            bad.append(f"{rel}:{node.lineno} calls {node.func.id}")
    assert not bad, "\n".join(bad)


def test_mock_uses_only_seeded_random():
    src = (PROVIDERS_DIR / "mock.py").read_text()
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "random":
            assert node.attr == "Random", f"mock.py:{node.lineno} uses random.{node.attr}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Random":
            assert node.args, f"mock.py:{node.lineno}: random.Random() without a seed"


@pytest.mark.parametrize("kind", sorted(providers.KINDS))
def test_kind_exposes_contract(kind: str):
    mod = providers.load(kind)
    local = bool(getattr(mod, "LOCAL", False))
    names = providers.REQUIRED_LOCAL if local else providers.REQUIRED
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, f"{kind} lacks {missing}"
    assert isinstance(mod.PREFIX, str) and mod.PREFIX.isupper()
    assert "common" in mod.Settings.__struct_fields__
    if not local:
        for fn in ("chat", "chat_result", "embeddings", "embeddings_result", "models", "models_result", "error"):
            assert callable(getattr(mod, fn)), fn
        assert hasattr(mod.ChatStream, "feed") and hasattr(mod.ChatStream, "close")
    present = [n for n in providers.COMPLETIONS if hasattr(mod, n)]
    assert present in ([], list(providers.COMPLETIONS)), f"{kind}: partial completions surface {present}"
    assert mod.__doc__ and len(mod.__doc__.strip()) > 40, f"{kind}: module docstring says what the vendor is"


@pytest.mark.parametrize("kind", sorted(providers.KINDS))
def test_load_settings_reads_only_the_mapping(kind: str):
    mod = providers.load(kind)
    env = {"AZURE_ENDPOINT": "https://r.openai.azure.com"} if kind == "azure" else {}
    seen: list[str] = []

    class Spy(dict):
        def get(self, key, default=None):
            seen.append(key)
            return super().get(key, default)

        def __getitem__(self, key):
            seen.append(key)
            return super().__getitem__(key)

    settings = mod.load_settings(Spy(env))
    assert settings.common.prefix == mod.PREFIX
    assert all(k.startswith(mod.PREFIX + "_") for k in seen), seen


def test_every_kind_module_is_in_the_package():
    for kind, module in providers.KINDS.items():
        assert (PROVIDERS_DIR / f"{module}.py").exists() or (PROVIDERS_DIR / module / "__init__.py").exists(), kind
        assert importlib.import_module(f"providers.{module}") is providers.load(kind)
        assert inspect.ismodule(providers.load(kind))

