"""`<P>_HTTP_PROXY` / `<P>_SOCKS_PROXY` are read and used, with credentials, over one reused
connection (seed defect 3: the names were never read and every request built a new transport)."""

from __future__ import annotations

import openai
import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.proxies import HTTPProxy, SOCKS5Proxy


@pytest.fixture
def proxies():
    started = []

    def start(cls, **kw):
        p = cls(**kw).start()
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def _drive(url: str) -> None:
    c = openai.OpenAI(base_url=url + "/v1", api_key="client", max_retries=0)
    r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "one"}])
    assert r.choices[0].message.content == "echo: one"
    text = "".join(
        ch.choices[0].delta.content or ""
        for ch in c.chat.completions.create(model="m", messages=[{"role": "user", "content": "two"}], stream=True)
        if ch.choices
    )
    assert text == "echo: two"
    r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "three"}])
    assert r.choices[0].message.content == "echo: three"


@pytest.mark.parametrize("kind,var", [(HTTPProxy, "OPENAI_HTTP_PROXY"), (SOCKS5Proxy, "OPENAI_SOCKS_PROXY")])
def test_proxy_used_with_auth_and_one_connection(serve, aoa_server, proxies, kind, var):
    fake = FakeOpenAI(key="sk-up")
    up = serve(fake.app())
    proxy = proxies(kind, user="pu", password="p@ssw0rd")
    aoa = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up", var: proxy.url})
    _drive(aoa.url)
    assert len(fake.requests) == 3
    # Every request went through the proxy, authenticated, over a single reused connection.
    assert len(proxy.connections) == 1, proxy.connections
    seen = proxy.connections[0]
    assert seen.auth == "pu:p@ssw0rd"
    assert seen.target == f"127.0.0.1:{up.port}"
    # The proxy credentials are not forwarded to the origin (later requests on the kept-alive
    # connection are relayed blindly by the test proxy, so only the first is checked).
    assert "Proxy-Authorization" not in fake.requests[0].headers


def test_socks_wins_over_http(serve, aoa_server, proxies):
    fake = FakeOpenAI()
    up = serve(fake.app())
    http = proxies(HTTPProxy)
    socks = proxies(SOCKS5Proxy)
    aoa = aoa_server({
        "AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1",
        "OPENAI_HTTP_PROXY": http.url, "OPENAI_SOCKS_PROXY": socks.url,
    })
    _drive(aoa.url)
    assert len(socks.connections) == 1 and not http.connections


def test_socks_wrong_password_is_502(serve, aoa_server, proxies):
    fake = FakeOpenAI()
    up = serve(fake.app())
    proxy = proxies(SOCKS5Proxy, user="pu", password="right-one")
    bad = proxy.url.replace("right-one", "wrong-one")
    aoa = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_SOCKS_PROXY": bad})
    c = openai.OpenAI(base_url=aoa.url + "/v1", api_key="client", max_retries=0)
    with pytest.raises(openai.APIStatusError) as info:
        c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 502
    assert "wrong-one" not in info.value.response.text
    assert proxy.connections and proxy.connections[0].refused
    assert not fake.requests


def test_http_proxy_for_yi_and_azure(serve, aoa_server, proxies):
    """The proxy variables follow each vendor's prefix."""
    for env_kind, env in (
        ("yi", lambda up, p: {"AOA_TYPE": "yi", "YI_ENDPOINT": up.url + "/v1", "YI_HTTP_PROXY": p.url}),
        ("azure", lambda up, p: {"AOA_TYPE": "azure", "AZURE_ENDPOINT": up.url, "AZURE_MODEL": "gpt-4o-mini", "AZURE_HTTP_PROXY": p.url}),
    ):
        fake = FakeOpenAI(flavor="azure" if env_kind == "azure" else "openai")
        up = serve(fake.app())
        proxy = proxies(HTTPProxy)
        aoa = aoa_server(env(up, proxy))
        c = openai.OpenAI(base_url=aoa.url + "/v1", api_key="client", max_retries=0)
        r = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert r.choices[0].message.content == "echo: hi"
        assert len(proxy.connections) == 1, env_kind
