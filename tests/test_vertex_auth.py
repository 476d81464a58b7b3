"""The service-account token exchange (gateway/google_auth.py) against a hostile or broken token
endpoint, and the secrets it handles: every odd answer is a clear 502, a burst of requests waits
for one exchange (and fails with it), and the access token and private key never reach an error
body or a log line."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import openai
import pytest
from aiohttp import web

from gateway import google_auth
from gateway.redact import RedactingFilter, Redactor
from providers import core, gemini
from tests.fakes.vertex_api import FakeTokenEndpoint, FakeVertex, service_account_key

PROJECT = "aoa-test-project"


class Scripted:
    """A token endpoint answering whatever the test says, after an optional pause."""

    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = b'{"access_token":"ya29.scripted","expires_in":3600}'
        self.delay = 0.0
        self.calls = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self._token)
        return app

    async def _token(self, request: web.Request) -> web.StreamResponse:
        await request.post()
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.status, body=self.body, content_type="application/json")


@pytest.fixture
def account(serve, tmp_path):
    """(ServiceAccount whose token_uri is a Scripted endpoint, the endpoint, the key file's info)."""
    endpoint = Scripted()
    srv = serve(endpoint.app())
    info, _ = service_account_key(srv.url + "/token", PROJECT)
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    acct = google_auth.load({"GOOGLE_APPLICATION_CREDENTIALS": str(path)}, gemini.load_settings({"GEMINI_VERTEX": "true"}))
    return acct, endpoint, info


@pytest.fixture
def vertex(serve, aoa_server, tmp_path):
    """aoa on a fake Vertex project with a fake token endpoint: (openai client, fake, token endpoint)."""
    token_app = FakeTokenEndpoint(None, "")  # type: ignore[arg-type]
    tok = serve(token_app.app())
    info, public = service_account_key(tok.url + "/token", PROJECT)
    token_app.public_key, token_app.email = public, info["client_email"]
    fake = FakeVertex(tokens=token_app, project=PROJECT)
    up = serve(fake.app())
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    srv = aoa_server({"AOA_TYPE": "gemini", "GEMINI_VERTEX": "true", "GEMINI_VERTEX_LOCATION": "us-central1",
                      "GOOGLE_APPLICATION_CREDENTIALS": str(path), "GEMINI_ENDPOINT": up.url})
    return openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0), fake, token_app


def _run(coro_fn, *, timeout: float = 30.0, clock=time.time):
    """Run coro_fn(source) with a TokenSource on its own session, in a fresh loop."""

    async def main(acct):
        async with aiohttp.ClientSession() as session:
            return await coro_fn(google_auth.TokenSource(acct, session, timeout=timeout, clock=clock))

    return main


@pytest.mark.parametrize(("status", "body", "why"), [
    (200, b"<html>hello</html>", "unexpected body"),
    (200, b'{"access_token":', "unexpected body"),
    (200, b"[1, 2]", "unexpected body"),
    (200, b'{"expires_in":3600}', "unexpected body"),
    (200, b'{"access_token":"ya29.x","expires_in":"3600"}', "unexpected body"),
    (200, b'{"access_token":"","expires_in":3600}', "usable token"),
    (200, b'{"access_token":"ya29.x\\r\\nX-Injected: 1","expires_in":3600}', "usable token"),
    (200, b'{"access_token":"ya29 x","expires_in":3600}', "usable token"),
    (200, b'{"access_token":"ya29.x","expires_in":-5}', "already expired"),
    (200, b'{"access_token":"ya29.x","expires_in":0}', "already expired"),
    (200, b'{"access_token":"ya29.x","expires_in":1e999}', "unexpected body"),
    (200, b"[" * 30_000 + b"]" * 30_000, "unexpected body"),
    (200, b'{"access_token":"' + b"a" * 2_000_000 + b'"}', "larger than"),
    (400, b"[" * 60_000, "HTTP 400"),
    (500, b"x" * 5_000_000, "larger than"),
])
def test_token_endpoint_garbage_is_a_clear_502(account, status, body, why):
    acct, endpoint, info = account
    endpoint.status, endpoint.body = status, body

    async def go(src):
        with pytest.raises(core.Error) as exc:
            await src.token()
        return exc.value

    err = asyncio.run(_run(go)(acct))
    assert err.status == 502 and err.code == "upstream_auth_failed"
    assert why in err.message and len(err.message) < 600
    assert "PRIVATE KEY" not in err.message


def test_a_huge_expires_in_is_trusted_no_further_than_an_hour(account):
    acct, endpoint, _ = account
    endpoint.body = b'{"access_token":"ya29.long","expires_in":1e15}'
    now = [1_000_000.0]

    async def go(src):
        await src.token()
        now[0] += google_auth.MAX_TOKEN_LIFETIME - google_auth.REFRESH_MARGIN + 1
        await src.token()
        return src.exchanges

    assert asyncio.run(_run(go, clock=lambda: now[0])(acct)) == 2


def test_a_burst_waits_for_one_exchange_and_fails_with_it(account):
    # A slow endpoint: ten requests must not queue behind one another, one timeout each.
    acct, endpoint, _ = account
    endpoint.delay = 5.0

    async def go(src):
        t0 = time.perf_counter()
        results = await asyncio.gather(*(src.token() for _ in range(10)), return_exceptions=True)
        return time.perf_counter() - t0, results, src.exchanges

    elapsed, results, exchanges = asyncio.run(_run(go, timeout=0.5)(acct))
    assert exchanges == 1 and elapsed < 3.0
    assert all(isinstance(r, core.Error) and r.status == 504 and "did not answer" in r.message for r in results)
    # The failure is not cached: the next request tries again.
    endpoint.delay = 0.0

    async def twice(src):
        src.timeout, endpoint.delay = 0.5, 5.0
        with pytest.raises(core.Error):
            await src.token()
        endpoint.delay = 0.0
        return await src.token(), src.exchanges

    assert asyncio.run(_run(twice)(acct)) == ("ya29.scripted", 2)


def test_a_waiter_giving_up_does_not_cancel_the_exchange(account):
    acct, endpoint, _ = account
    endpoint.delay = 0.3

    async def go(src):
        first = asyncio.ensure_future(src.token())
        second = asyncio.ensure_future(src.token())
        await asyncio.sleep(0.05)
        first.cancel()
        return await second, src.exchanges

    assert asyncio.run(_run(go)(acct)) == ("ya29.scripted", 1)


def test_private_key_and_minted_tokens_are_scrubbed_by_every_redactor(account):
    acct, endpoint, info = account
    endpoint.body = b'{"access_token":"ya29.minted-secret-token","expires_in":3600}'

    async def go(src):
        return await src.token()

    token = asyncio.run(_run(go)(acct))
    redact = Redactor([])  # a Redactor made before or after: both know the runtime secrets
    pem = info["private_key"]
    body_line = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    for leaked in (f"token {token} refused", f"key {pem}", f"key {json.dumps(pem)}", f"b64 {body_line}"):
        out = redact(leaked)
        assert token not in out and body_line[:40] not in out and "[redacted]" in out
    record = logging.LogRecord("aoa", logging.WARNING, __file__, 1, "upstream said %s", (f"bad token {token}",), None)
    RedactingFilter(Redactor([])).filter(record)
    assert token not in record.getMessage()


def test_an_upstream_echoing_the_access_token_is_redacted_in_the_error_body(vertex):
    client, fake, token_app = vertex
    client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    minted = token_app.issued[-1]
    fake.reply_error(401, f"Request had invalid credentials: {minted}", "UNAUTHENTICATED")
    with pytest.raises(openai.AuthenticationError) as exc:
        client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    text = json.dumps(exc.value.body)
    assert minted not in text and "[redacted]" in text


def test_a_refused_token_is_replaced_on_the_next_request(vertex):
    # Revoked, or minted by a clock far from Google's: Vertex answers 401 UNAUTHENTICATED, and
    # waiting for the token's own expiry would fail every request for up to an hour.
    client, fake, token_app = vertex
    fake.reply_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    r = client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "again"}])
    assert r.choices[0].message.content == "echo: again"
    assert token_app.issued == ["ya29.fake-1", "ya29.fake-2"]
    assert fake.last.headers["Authorization"] == "Bearer ya29.fake-2"
