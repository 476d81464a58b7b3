"""Configuration: env → settings, refusal of bad values naming the variable, `aoa --check`,
`aoa --version`, the mock fallback, and the open-key warning."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import aoa
from providers import core

ROOT = Path(aoa.__file__).parent


def run_aoa(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "aoa", *args], env={**base, **env}, capture_output=True, text=True, timeout=30, cwd=ROOT)


def test_unknown_type_refused_listing_kinds():
    with pytest.raises(core.ConfigError) as info:
        aoa.load_config({"AOA_TYPE": "gemeni"})
    msg = str(info.value)
    assert "AOA_TYPE" in msg and "gemeni" in msg
    for kind in ("azure", "openai", "yi", "mock"):
        assert kind in msg
    p = run_aoa({"AOA_TYPE": "gemeni"}, "--check")
    assert p.returncode != 0 and "AOA_TYPE" in p.stderr and "mock" in p.stderr


def test_unset_type_without_azure_endpoint_falls_back_to_mock(caplog):
    cfg = aoa.load_config({})
    assert cfg.kind == "mock" and cfg.fallback
    with caplog.at_level(logging.INFO, logger="aoa"):
        aoa.banner(cfg)
    assert any(r.levelno == logging.WARNING and "mock" in r.getMessage() for r in caplog.records)
    cfg = aoa.load_config({"AZURE_ENDPOINT": "https://r.openai.azure.com/"})
    assert cfg.kind == "azure" and not cfg.fallback
    assert cfg.settings.common.endpoint == "https://r.openai.azure.com"
    # An explicit choice is never a fallback.
    assert not aoa.load_config({"AOA_TYPE": "mock"}).fallback


def test_type_is_trimmed_and_case_insensitive():
    assert aoa.load_config({"AOA_TYPE": "  Mock "}).kind == "mock"


def test_defaults():
    cfg = aoa.load_config({"AOA_TYPE": "mock"})
    assert (cfg.host, cfg.port) == ("0.0.0.0", 8080)
    assert cfg.api_keys == () and cfg.max_body >= 32 * 1024 * 1024
    az = aoa.load_config({"AOA_TYPE": "azure", "AZURE_ENDPOINT": "https://r.openai.azure.com"}).settings
    assert az.api_ver == "2024-10-21" and az.vision is False and az.normalize is True
    yi = aoa.load_config({"AOA_TYPE": "yi"}).settings.common
    assert yi.endpoint == "https://api.lingyiwanwu.com/v1" and yi.model
    oa = aoa.load_config({"AOA_TYPE": "openai"}).settings.common
    assert oa.endpoint == "https://api.openai.com/v1"


@pytest.mark.parametrize("raw,value", [("true", True), (" TRUE ", True), ("1", True), ("on", True), ("yes", True),
                                       ("false", False), ("0", False), ("off", False), ("No", False), ("", False)])
def test_booleans(raw, value):
    env = {"AOA_TYPE": "azure", "AZURE_ENDPOINT": "https://r.openai.azure.com", "AZURE_VISION": raw}
    assert aoa.load_config(env).settings.vision is value


def test_aliases_parsed():
    cfg = aoa.load_config({"AOA_TYPE": "yi", "YI_MODEL_ALIAS": " gpt-3.5-turbo : yi-34b , gpt-4:yi-large,"})
    assert cfg.settings.common.aliases == {"gpt-3.5-turbo": "yi-34b", "gpt-4": "yi-large"}


@pytest.mark.parametrize(
    "env,var",
    [
        ({"AOA_TYPE": "yi", "YI_MODEL_ALIAS": "gpt-4"}, "YI_MODEL_ALIAS"),
        ({"AOA_TYPE": "yi", "YI_MODEL_ALIAS": "a:b,a:c"}, "YI_MODEL_ALIAS"),
        ({"AOA_TYPE": "azure", "AZURE_ENDPOINT": "r.openai.azure.com"}, "AZURE_ENDPOINT"),
        ({"AOA_TYPE": "azure"}, "AZURE_ENDPOINT"),
        ({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": "ftp://x"}, "OPENAI_ENDPOINT"),
        ({"AOA_TYPE": "mock", "AOA_PORT": "eighty"}, "AOA_PORT"),
        ({"AOA_TYPE": "mock", "AOA_PORT": "70000"}, "AOA_PORT"),
        ({"AOA_TYPE": "mock", "AOA_IDLE_TIMEOUT": "soon"}, "AOA_IDLE_TIMEOUT"),
        ({"AOA_TYPE": "mock", "AOA_MAX_BODY": "-1"}, "AOA_MAX_BODY"),
        ({"AOA_TYPE": "azure", "AZURE_ENDPOINT": "https://r.openai.azure.com", "AZURE_VISION": "maybe"}, "AZURE_VISION"),
        ({"AOA_TYPE": "mock", "AOA_LOG_LEVEL": "loud"}, "AOA_LOG_LEVEL"),
        ({"AOA_TYPE": "yi", "YI_SOCKS_PROXY": "http://u:pw-secret@h:1"}, "YI_SOCKS_PROXY"),
        ({"AOA_TYPE": "yi", "YI_HTTP_PROXY": "socks5://u:pw-secret@h:1"}, "YI_HTTP_PROXY"),
    ],
)
def test_invalid_config_names_the_variable(env, var):
    with pytest.raises(core.ConfigError) as info:
        aoa.load_config(env)
    assert var in str(info.value)
    assert "pw-secret" not in str(info.value)
    p = run_aoa(env, "--check")
    assert p.returncode == 2
    assert var in p.stderr and "pw-secret" not in p.stderr
    assert p.stdout == ""


def test_check_prints_redacted_config():
    env = {
        "AOA_TYPE": "azure",
        "AZURE_ENDPOINT": "https://r.openai.azure.com/",
        "AZURE_API_KEY": "az-secret-key-111",
        "AZURE_SOCKS_PROXY": "socks5://proxyuser:proxy-pass-222@127.0.0.1:1080",
        "AOA_API_KEYS": "access-key-333,access-key-444",
        "AZURE_MODEL_ALIAS": "gpt-4:dep4",
    }
    p = run_aoa(env, "--check")
    assert p.returncode == 0, p.stderr
    for secret in ("az-secret-key-111", "proxy-pass-222", "access-key-333", "access-key-444"):
        assert secret not in p.stdout + p.stderr
    doc = json.loads(p.stdout)
    assert doc["kind"] == "azure"
    assert doc["settings"]["common"]["aliases"] == {"gpt-4": "dep4"}
    assert doc["settings"]["common"]["endpoint"] == "https://r.openai.azure.com"
    assert "127.0.0.1:1080" in doc["settings"]["common"]["socks_proxy"]
    assert "2" in doc["api_keys"]


def test_version():
    p = run_aoa({}, "--version")
    assert p.returncode == 0 and p.stdout.strip() == f"aoa {aoa.__version__}"


@pytest.mark.parametrize(
    "env,warned",
    [
        ({"AOA_TYPE": "openai", "OPENAI_API_KEY": "sk-x"}, True),
        ({"AOA_TYPE": "openai", "OPENAI_API_KEY": "sk-x", "AOA_HOST": "127.0.0.1"}, False),
        ({"AOA_TYPE": "openai", "OPENAI_API_KEY": "sk-x", "AOA_HOST": "localhost"}, False),
        ({"AOA_TYPE": "openai", "OPENAI_API_KEY": "sk-x", "AOA_API_KEYS": "k1"}, False),
        ({"AOA_TYPE": "openai"}, False),
    ],
)
def test_open_key_warning(caplog, env, warned):
    with caplog.at_level(logging.INFO, logger="aoa"):
        aoa.banner(aoa.load_config(env))
    hits = [r for r in caplog.records if r.levelno == logging.WARNING and "AOA_API_KEYS" in r.getMessage()]
    assert bool(hits) is warned
    assert all("sk-x" not in r.getMessage() for r in caplog.records)
