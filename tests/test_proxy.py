"""`<P>_HTTP_PROXY` / `<P>_SOCKS_PROXY` are read and used, with credentials, over one reused
connection (seed defect 3: the names were never read and every request built a new transport)."""

from __future__ import annotations

import asyncio
import ssl

import openai
import pytest
from aiohttp import web

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.proxies import HTTPProxy, SOCKS5Proxy
from tests.support import ServerThread
from tests.test_server_process import processes  # noqa: F401 - fixture


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


class _TLSServerThread(ServerThread):
    """ServerThread serving HTTPS with a certificate from a throwaway test CA."""

    def __init__(self, app, ssl_context) -> None:
        super().__init__(app)
        self.ssl_context = ssl_context
        self.url = f"https://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app, handler_cancellation=True, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, ssl_context=self.ssl_context)
        self.loop.run_until_complete(site.start())
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()


def test_https_upstream_through_http_connect_proxy(tmp_path, processes, proxies):
    """An https upstream behind an HTTP proxy is reached with CONNECT (a real tunnel, TLS to
    the origin), authenticated, over one reused tunnel. aoa runs as a process so that
    SSL_CERT_FILE makes it trust the test CA, as it would a corporate one."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    fake = FakeOpenAI(key="sk-tls")
    up = _TLSServerThread(fake.app(), server_ctx).start()
    try:
        proxy = proxies(HTTPProxy, user="tunnel", password="t0p-secret")
        p = processes({
            "AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-tls",
            "OPENAI_HTTP_PROXY": proxy.url, "SSL_CERT_FILE": str(ca_file),
        })
        _drive(p.url)
        assert len(fake.requests) == 3
        assert [(c.method, c.auth, c.target) for c in proxy.connections] == [("CONNECT", "tunnel:t0p-secret", f"127.0.0.1:{up.port}")]
        code, log = p.stop()
        assert code == 0 and "t0p-secret" not in log
    finally:
        up.stop()
