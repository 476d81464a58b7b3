"""A client's `model` must never steer the upstream URL, and a vendor must never choose aoa's
HTTP status line: checked for every provider against a recording upstream that accepts anything."""

from __future__ import annotations

import inspect
import json
import time

import httpx
import msgspec
import pytest
from aiohttp import web

from providers import core, gemini

KEY = "AIza-server-side-secret-key"
HOSTILE = ["../../x", "a?b=c", "a#b", "cachedContents/x", "files/x", "models/../files/x", "a/b", "..", "a\r\nb", "a b", "%2e%2e"]


class Recorder:
    """An upstream that records every request, whatever its path, and answers 404."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []
        self.reply: tuple[int, bytes, str] | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._any)
        return app

    async def _any(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.path_qs, await request.read()))
        if self.reply:
            status, body, ctype = self.reply
            return web.Response(status=status, body=body, content_type=ctype)
        return web.json_response({"error": {"code": 404, "message": "nothing here"}}, status=404)


@pytest.fixture
def recorder(serve):
    rec = Recorder()
    return rec, serve(rec.app())


def _post(url: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(url + path, json=body, headers={"Authorization": "Bearer client"}, timeout=10)


CHAT = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("model", HOSTILE)
@pytest.mark.parametrize("stream", [False, True])
def test_gemini_refuses_a_model_that_is_not_one_path_segment(recorder, aoa_server, model, stream):
    rec, up = recorder
    srv = aoa_server({"AOA_TYPE": "gemini", "GEMINI_ENDPOINT": up.url, "GEMINI_API_KEY": KEY})
    r = _post(srv.url, "/v1/chat/completions", {**CHAT, "model": model, "stream": stream})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "model"
    assert rec.seen == []  # nothing reached the upstream with the server key


@pytest.mark.parametrize("model", ["models/../../x", "tunedModels/../x", "cachedContents/x", "a?b=c"])
def test_gemini_embeddings_refuse_the_same(recorder, aoa_server, model):
    rec, up = recorder
    srv = aoa_server({"AOA_TYPE": "gemini", "GEMINI_ENDPOINT": up.url, "GEMINI_API_KEY": KEY})
    r = _post(srv.url, "/v1/embeddings", {"model": model, "input": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model", r.text
    assert rec.seen == []


@pytest.mark.parametrize("model", ["x:countTokens", "models/gemini-2.5-flash:streamGenerateContent", "tunedModels/t:transferOwnership"])
def test_gemini_refuses_a_custom_method_in_the_model_name(model):
    with pytest.raises(core.Error) as exc:
        gemini.model_path(model)
    assert exc.value.param == "model"


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "models/gemini-2.5-flash", "tunedModels/my-model-1", "gemini-1.5-pro-002"])
def test_gemini_keeps_real_model_names(model):
    assert gemini.model_path(model).endswith(model.split("/")[-1])


@pytest.mark.parametrize("model", HOSTILE)
def test_azure_deployment_is_one_segment(recorder, aoa_server, model):
    rec, up = recorder
    srv = aoa_server({"AOA_TYPE": "azure", "AZURE_ENDPOINT": up.url, "AZURE_API_KEY": KEY})
    for path, body in (("/v1/chat/completions", CHAT), ("/v1/embeddings", {"input": "x"}), ("/v1/completions", {"prompt": "x"})):
        r = _post(srv.url, path, {**body, "model": model})
        assert r.status_code == 400 and r.json()["error"]["param"] == "model", r.text
    assert rec.seen == []


@pytest.mark.parametrize(
    "kind,env,path",
    [
        ("openai", {}, "/chat/completions"),
        ("yi", {}, "/chat/completions"),
        ("azure", {"AZURE_API_VER": "v1"}, "/openai/v1/chat/completions"),
        ("qwen", {}, "/api/v1/services/aigc/text-generation/generation"),
        ("qwen", {"QWEN_API_MODE": "compatible"}, "/compatible-mode/v1/chat/completions"),
        ("anthropic", {}, "/v1/messages"),
        ("deepseek", {}, "/chat/completions"),
        ("moonshot", {}, "/chat/completions"),
        ("zhipu", {}, "/chat/completions"),
        ("minimax", {}, "/chat/completions"),
        ("qianfan", {}, "/chat/completions"),
        ("spark", {}, "/chat/completions"),
    ],
)
@pytest.mark.parametrize("model", ["../../x", "a?b=c", "a#b", "files/x"])
def test_providers_with_the_model_in_the_body_keep_their_path(recorder, aoa_server, kind, env, path, model):
    rec, up = recorder
    from providers import load

    prefix = load(kind).PREFIX
    srv = aoa_server({"AOA_TYPE": kind, f"{prefix}_ENDPOINT": up.url, f"{prefix}_API_KEY": KEY, **env})
    _post(srv.url, "/v1/chat/completions", {**CHAT, "model": model})
    assert [p for _, p, _ in rec.seen] == [path]
    assert json.loads(rec.seen[0][2])["model"] == model  # only ever a JSON string value


# --- vendor-chosen statuses ----------------------------------------------------------------


@pytest.mark.parametrize("code", [99999, 0, -1, 200, 302, 600, 1 << 40, "500", None, True])
def test_status_is_always_an_http_error(code):
    assert 400 <= core.Error(code, "x").status <= 599
    assert 400 <= core.http_status(code) <= 599


@pytest.mark.parametrize("code,want", [(99999, 502), (600, 502), (399, 500), (429, 429), (503, 503)])
def test_gemini_stream_error_event_cannot_pick_the_status_line(recorder, aoa_server, code, want):
    rec, up = recorder
    event = b"data: " + json.dumps({"error": {"code": code, "message": "boom", "status": "X"}}).encode() + b"\r\n\r\n"
    rec.reply = (200, event, "text/event-stream")
    srv = aoa_server({"AOA_TYPE": "gemini", "GEMINI_ENDPOINT": up.url, "GEMINI_API_KEY": KEY})
    r = _post(srv.url, "/v1/chat/completions", {**CHAT, "model": "gemini-2.5-flash", "stream": True})
    assert r.status_code == want, r.text
    assert r.json()["error"]["message"] == "boom"


@pytest.mark.parametrize("kind", ["gemini", "qwen", "openai", "azure", "yi", "anthropic", "deepseek", "moonshot", "zhipu", "minimax", "qianfan", "spark"])
@pytest.mark.parametrize("code", [99999, 600, 200, "E"])
def test_error_bodies_cannot_pick_the_status(kind, code):
    from providers import load

    p = load(kind)
    streaming = "streaming" in inspect.signature(p.error).parameters
    for body in (
        {"error": {"code": code, "message": "m"}},
        [{"error": {"code": code, "message": "m"}}],
        {"code": code, "message": "m", "request_id": "r"},
        {"status_code": code, "code": "InternalError", "message": "m"},
    ):
        for status in (400, 500, 502):
            err = p.error(status, json.dumps(body).encode())
            assert 400 <= err.status <= 599
            if streaming:
                assert 400 <= p.error(status, json.dumps(body).encode(), streaming=True).status <= 599


# --- linear translation ----------------------------------------------------------------------


def test_gemini_translates_100k_same_role_messages_in_bounded_time():
    s = gemini.load_settings({"GEMINI_API_KEY": "k"})
    msgs = [{"role": "user", "content": "hello world"}] * 100_000 + [{"role": "assistant", "content": "a"}] * 50_000
    body = msgspec.json.encode({"model": "gemini-2.5-flash", "messages": msgs})
    call = core.Call(id="x", created=1, model="gemini-2.5-flash", client_model="", key="k", body=body)
    t = time.perf_counter()
    out = gemini.chat(s, call)
    took = time.perf_counter() - t
    sent = msgspec.json.decode(out.body)
    assert [len(c["parts"]) for c in sent["contents"]] == [100_000, 50_000]
    # Quadratic merging took 18 s here; linear takes ~0.3 s on a slow shared core.
    assert took < 4, took
