"""amazing-openai-api's variables are our users' contract: one test per variable it documents
or reads (`/work`'s seed notes: README and `models/*/define.go`), each either honoured or refused
with the reason."""

from __future__ import annotations

import openai
import pytest

import aoa
from providers import core
from tests.fakes.openai_api import FakeOpenAI

AZ = {"AOA_TYPE": "azure", "AZURE_ENDPOINT": "https://res.openai.azure.com/"}


def cfg(env):
    return aoa.load_config(env)


# --- global ---------------------------------------------------------------------------------

def test_AOA_TYPE():
    assert cfg({"AZURE_ENDPOINT": "https://r.openai.azure.com/"}).kind == "azure"  # the seed's default
    assert cfg({"AOA_TYPE": "Gemini"}).kind == "gemini"  # lower-cased, as the seed did
    with pytest.raises(core.ConfigError, match="choose one of"):
        cfg({"AOA_TYPE": "claude-typo"})  # the seed silently fell back to azure


def test_AOA_PORT():
    assert cfg({"AOA_TYPE": "mock", "AOA_PORT": "9000"}).port == 9000
    with pytest.raises(core.ConfigError, match="AOA_PORT"):
        cfg({"AOA_TYPE": "mock", "AOA_PORT": "70000"})  # the seed fell back to 8080


def test_AOA_HOST():
    assert cfg({"AOA_TYPE": "mock", "AOA_HOST": "127.0.0.1"}).host == "127.0.0.1"
    assert cfg({"AOA_TYPE": "mock"}).host == "0.0.0.0"
    with pytest.raises(core.ConfigError, match="AOA_HOST"):
        cfg({"AOA_TYPE": "mock", "AOA_HOST": "http://0.0.0.0"})  # the seed fell back to 0.0.0.0


def test_AOA_VISION_is_harmless():
    # Read by the seed and never used (AZURE_VISION is the switch); accepted so compose files start.
    assert cfg({**AZ, "AOA_VISION": "true"}).settings.vision is False


# --- Azure ----------------------------------------------------------------------------------

def test_AZURE_ENDPOINT():
    assert cfg(AZ).settings.common.endpoint == "https://res.openai.azure.com"
    with pytest.raises(core.ConfigError, match="AZURE_ENDPOINT"):
        cfg({**AZ, "AZURE_ENDPOINT": "res.openai.azure.com"})


def test_AZURE_API_KEY():
    assert cfg({**AZ, "AZURE_API_KEY": "k-1"}).settings.common.api_key == "k-1"


def test_AZURE_MODEL():
    assert cfg({**AZ, "AZURE_MODEL": "gpt-4"}).settings.common.model == "gpt-4"


def test_AZURE_API_VER():
    assert cfg({**AZ, "AZURE_API_VER": "2023-05-15"}).settings.api_ver == "2023-05-15"


def test_AZURE_IGNORE_API_VERSION_CHECK():
    assert cfg({**AZ, "AZURE_IGNORE_API_VERSION_CHECK": "true", "AZURE_API_VER": "2099-01-01"}).settings.api_ver == "2099-01-01"


def test_AZURE_MODEL_ALIAS():
    assert cfg({**AZ, "AZURE_MODEL_ALIAS": "gpt-3.5-turbo:gpt-35,gpt-4:gpt-35"}).settings.common.aliases == {"gpt-3.5-turbo": "gpt-35", "gpt-4": "gpt-35"}


def test_AZURE_VISION():
    assert cfg({**AZ, "AZURE_VISION": "yes"}).settings.vision is True


@pytest.mark.parametrize("prefix, extra", [("AZURE", AZ), ("YI", {"AOA_TYPE": "yi"}), ("GEMINI", {"AOA_TYPE": "gemini"})])
def test_HTTP_PROXY_and_SOCKS_PROXY(prefix, extra):
    common = cfg({**extra, f"{prefix}_HTTP_PROXY": "http://p:3128", f"{prefix}_SOCKS_PROXY": "socks5://p:1080"}).settings.common
    assert (common.http_proxy, common.socks_proxy) == ("http://p:3128", "socks5://p:1080")


# --- Yi -------------------------------------------------------------------------------------

def test_YI_ENDPOINT_host_only_gets_the_version_path(serve, aoa_server):
    """The seed's compose file gives a host; the Go project kept the client's /v1/… path."""
    fake = FakeOpenAI(key="yk-1")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "yi", "YI_ENDPOINT": up.url, "YI_API_KEY": "yk-1"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0)
    assert c.chat.completions.create(model="yi-34b-chat", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content == "echo: hi"
    assert fake.last.path == "/v1/chat/completions"
    assert fake.last.headers["Authorization"] == "Bearer yk-1"  # the seed forgot "Bearer"
    assert cfg({"AOA_TYPE": "yi", "YI_ENDPOINT": "https://gw.example/yi/v1/"}).settings.common.endpoint == "https://gw.example/yi/v1"


def test_YI_API_VER():
    assert cfg({"AOA_TYPE": "yi", "YI_API_VER": "v1"}).settings.common.endpoint == "https://api.lingyiwanwu.com/v1"
    assert cfg({"AOA_TYPE": "yi", "YI_ENDPOINT": "https://api.01.ai", "YI_API_VER": "v2"}).settings.common.endpoint == "https://api.01.ai/v2"
    for bad in ("2023-12-15-preview", "v1beta"):  # the Go default, and the value its README suggested
        with pytest.raises(core.ConfigError, match="YI_API_VER") as info:
            cfg({"AOA_TYPE": "yi", "YI_API_VER": bad})
        assert "api-version" in str(info.value)
    with pytest.raises(core.ConfigError, match="contradicts"):
        cfg({"AOA_TYPE": "yi", "YI_ENDPOINT": "https://api.01.ai/v1", "YI_API_VER": "v2"})


def test_YI_API_KEY():
    assert cfg({"AOA_TYPE": "yi", "YI_API_KEY": "yk"}).settings.common.api_key == "yk"


def test_YI_MODEL():
    assert cfg({"AOA_TYPE": "yi", "YI_MODEL": "yi-34b-chat"}).settings.common.model == "yi-34b-chat"


def test_YI_MODEL_ALIAS():
    assert cfg({"AOA_TYPE": "yi", "YI_MODEL_ALIAS": "gpt-4:yi-34b-chat"}).settings.common.aliases == {"gpt-4": "yi-34b-chat"}


# --- Gemini ---------------------------------------------------------------------------------

def test_GEMINI_API_KEY():
    assert cfg({"AOA_TYPE": "gemini", "GEMINI_API_KEY": "gk"}).settings.common.api_key == "gk"


def test_GEMINI_ENDPOINT():
    assert cfg({"AOA_TYPE": "gemini"}).settings.common.endpoint == "https://generativelanguage.googleapis.com"
    assert cfg({"AOA_TYPE": "gemini", "GEMINI_ENDPOINT": "https://gw.example/g/"}).settings.common.endpoint == "https://gw.example/g"


def test_GEMINI_API_VER():
    assert cfg({"AOA_TYPE": "gemini", "GEMINI_API_VER": "v1"}).settings.api_version == "v1"
    with pytest.raises(core.ConfigError, match="GEMINI_API_VER"):
        cfg({"AOA_TYPE": "gemini", "GEMINI_API_VER": "v2"})  # the seed fell back to v1beta


def test_GEMINI_MODEL():
    assert cfg({"AOA_TYPE": "gemini", "GEMINI_MODEL": "gemini-2.5-pro"}).settings.common.model == "gemini-2.5-pro"


def test_GEMINI_MODEL_ALIAS():
    assert cfg({"AOA_TYPE": "gemini", "GEMINI_MODEL_ALIAS": "gpt-3.5-turbo:gemini-pro"}).settings.common.aliases == {"gpt-3.5-turbo": "gemini-pro"}


def test_GEMINI_SAFETY():
    assert cfg({"AOA_TYPE": "gemini", "GEMINI_SAFETY": "BLOCK_NONE"}).settings.safety == "BLOCK_NONE"
    with pytest.raises(core.ConfigError, match="GEMINI_SAFETY"):
        cfg({"AOA_TYPE": "gemini", "GEMINI_SAFETY": "BLOCK_SOME"})


def test_lowercase_https_proxy_from_the_gemini_compose_file(monkeypatch):
    from gateway.upstream import env_proxy

    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.setenv("https_proxy", "http://10.11.12.90:7890")
    proxy, _ = env_proxy("https://generativelanguage.googleapis.com")
    assert proxy == "http://10.11.12.90:7890"
