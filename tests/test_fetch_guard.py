"""SSRF: with AOA_FETCH_PRIVATE=false no hop of a media fetch may reach an address inside aoa's
network — not the first URL, not a redirect, not an IP literal (which aiohttp never resolves),
not a name resolving there.

Loopback only: `public.test` is mapped by a test resolver to 127.0.0.2, a loopback server that
the test's guard treats as a public host; the "internal" service holding a secret listens on
127.0.0.1 (and ::1), which the guard must refuse exactly as in production.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading

import httpx
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver

import aoa
from gateway.fetch import open_fetcher, public
from providers import core
from tests.fakes.gemini_api import FakeGemini

PUBLIC_IP = "127.0.0.2"
SECRET = b"internal-metadata-secret"
PNG = b"\x89PNG\r\n\x1a\npublic-image"


class Loopback:
    """An aiohttp app on one loopback address (127.0.0.2 or ::1 as well as 127.0.0.1)."""

    def __init__(self, app: web.Application, hosts: tuple[str, ...]) -> None:
        self.app, self.hosts = app, hosts
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.runner = web.AppRunner(app, access_log=None)
            self.loop.run_until_complete(self.runner.setup())
            with socket.socket() as s:
                s.bind((hosts[0], 0))
                self.port = s.getsockname()[1]
            for h in hosts:
                try:
                    self.loop.run_until_complete(web.TCPSite(self.runner, h, self.port).start())
                except OSError:
                    pass  # e.g. no IPv6 on this machine: the guard must refuse the hop anyway
            ready.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self.runner.cleanup())

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class MapResolver(AbstractResolver):
    """Test names → loopback addresses; anything else through the system resolver."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.inner = None

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        if host in self.names:
            ip = self.names[host]
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            return [{"hostname": host, "host": ip, "port": port, "family": fam, "proto": 0, "flags": socket.AI_NUMERICHOST}]
        from aiohttp import DefaultResolver

        self.inner = self.inner or DefaultResolver()
        return await self.inner.resolve(host, port, family)

    async def close(self) -> None:
        if self.inner:
            await self.inner.close()


def test_allowed(ip: str) -> bool:
    return ip == PUBLIC_IP or public(ip)


test_allowed.__test__ = False  # a helper, not a test


@pytest.fixture
def world():
    hits: list[str] = []

    async def secret(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=SECRET, content_type="image/png")

    internal_app = web.Application()
    internal_app.router.add_get("/{tail:.*}", secret)
    internal = Loopback(internal_app, ("127.0.0.1", "::1"))

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=int(request.query.get("status", "302")), headers={"Location": request.query["to"]})

    async def loop(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/loop"})

    public_app = web.Application()
    public_app.router.add_get("/cat.png", image)
    public_app.router.add_get("/redirect", redirect)
    public_app.router.add_get("/loop", loop)
    outside = Loopback(public_app, (PUBLIC_IP,))
    yield outside.port, internal.port, hits
    outside.stop()
    internal.stop()


class Cfg:
    fetch_private = False
    fetch_timeout = 5.0
    fetch_max_bytes = 1 << 20
    fetch_max_total_bytes = 1 << 22
    fetch_max_urls = 16


def _fetch(urls: list[str]):
    async def go():
        common = core.Common(prefix="T")
        fetcher = await open_fetcher(common, Cfg(), "t", resolver=MapResolver({"public.test": PUBLIC_IP, "internal.test": "127.0.0.1", "internal6.test": "::1"}), allowed=test_allowed)
        try:
            return await fetcher.fetch(urls)
        finally:
            await fetcher.close()

    return asyncio.run(go())


def _targets(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/s",
        f"http://[::1]:{port}/s",
        f"http://[::ffff:127.0.0.1]:{port}/s",
        f"http://[::ffff:7f00:1]:{port}/s",
        f"http://0.0.0.0:{port}/s",
        f"http://[::]:{port}/s",
        f"http://localhost:{port}/s",
        f"http://127.1:{port}/s",
        f"http://2130706433:{port}/s",
        f"http://internal.test:{port}/s",
        f"http://internal6.test:{port}/s",
    ]


def test_the_stand_in_public_host_is_fetched(world):
    pub, _, hits = world
    got = _fetch([f"http://public.test:{pub}/cat.png", f"http://public.test:{pub}/redirect?to=/cat.png"])
    assert [m.data for m in got.values()] == [PNG, PNG]


@pytest.mark.parametrize("n", range(11))
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_into_the_network_is_refused(world, n, status):
    pub, port, hits = world
    target = _targets(port)[n]
    with pytest.raises(core.Error) as exc:
        _fetch([f"http://public.test:{pub}/redirect?status={status}&to={target}"])
    assert exc.value.status == 400 and exc.value.param == "messages"
    assert hits == []


@pytest.mark.parametrize("n", range(11))
def test_a_first_hop_into_the_network_is_refused(world, n):
    _, port, hits = world
    with pytest.raises(core.Error):
        _fetch([_targets(port)[n]])
    assert hits == []


def test_two_hops_then_inside_is_refused(world):
    pub, port, hits = world
    hop2 = f"http://public.test:{pub}/redirect?to=http://127.0.0.1:{port}/s"
    with pytest.raises(core.Error):
        _fetch([f"http://public.test:{pub}/redirect?to={hop2}"])
    assert hits == []


def test_redirects_are_bounded(world):
    pub, _, _ = world
    with pytest.raises(core.Error) as exc:
        _fetch([f"http://public.test:{pub}/loop"])
    assert "redirects" in exc.value.message


@pytest.mark.parametrize(
    "ip,ok",
    [
        ("8.8.8.8", True), ("2606:4700::1111", True), ("127.0.0.1", False), ("0.0.0.0", False), ("::", False),
        ("::1", False), ("10.0.0.1", False), ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False),
        ("100.64.0.1", False), ("224.0.0.1", False), ("239.255.255.250", False), ("240.0.0.1", False),
        ("255.255.255.255", False), ("fc00::1", False), ("fd12::1", False), ("fe80::1%eth0", False), ("ff02::1", False),
        ("ff0e::1", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False), ("::127.0.0.1", False),
        ("64:ff9b::7f00:1", False), ("64:ff9b::a9fe:a9fe", False), ("2002:7f00:1::1", False), ("2002:c0a8:101::1", False),
        ("192.0.2.1", False), ("198.18.0.1", False), ("2001:db8::1", False), ("not-an-ip", False),
    ],
)
def test_public_table(ip, ok):
    assert public(ip) is ok


def test_through_aoa_nothing_private_reaches_the_vendor(world, serve, aoa_server):
    pub, port, hits = world
    fake = FakeGemini(key="AIza-up")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "gemini", "GEMINI_ENDPOINT": up.url, "GEMINI_API_KEY": "AIza-up"})

    async def swap() -> None:
        st = srv.app[aoa.STATE]
        await st.fetcher.close()
        st.fetcher = await open_fetcher(st.common, st.config, "t", resolver=MapResolver({"public.test": PUBLIC_IP}), allowed=test_allowed)

    srv.call(swap())

    def ask(url: str) -> httpx.Response:
        content = [{"type": "text", "text": "what"}, {"type": "image_url", "image_url": {"url": url}}]
        return httpx.post(srv.url + "/v1/chat/completions", json={"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": content}]}, timeout=20)

    for target in (f"http://127.0.0.1:{port}/s", f"http://[::ffff:127.0.0.1]:{port}/s", f"http://0.0.0.0:{port}/s"):
        r = ask(f"http://public.test:{pub}/redirect?to={target}")
        assert r.status_code == 400 and r.json()["error"]["param"] == "messages", r.text
    assert hits == [] and fake.requests == []
    r = ask(f"http://public.test:{pub}/cat.png")
    assert r.status_code == 200, r.text
    assert fake.last.json["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}}
    assert SECRET not in fake.last.body
