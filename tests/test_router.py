"""The model router (`AOA_TYPE=router`) in front of real aoa processes: three on loopback (a mock
sidecar, an `openai` sidecar over the fake OpenAI upstream, and the router), plus fake OpenAI
servers as "any compatible server" targets — routing by model, byte relay of answers and streams,
failover before the first byte, the merged model list, per-route keys."""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest

import aoa
from gateway import router
from providers import core
from tests.fakes.openai_api import FakeOpenAI
from tests.support import ServerThread, free_port
from tests.test_server_process import AoaProcess

MSG = [{"role": "user", "content": "hello there"}]


class Stack:
    def __init__(self) -> None:
        self.fake = FakeOpenAI(models=("gpt-4o", "gpt-4o-mini", "text-embedding-3-small"))
        self.keyed = FakeOpenAI(key="route-key", models=("keyed-1",))
        self.flaky = FakeOpenAI(models=("flaky-1",))
        self.threads = [ServerThread(f.app()).start() for f in (self.fake, self.keyed, self.flaky)]
        up, keyed, flaky = (t.url for t in self.threads)
        self.dead = f"http://127.0.0.1:{free_port()}"
        quiet = {"AOA_LOG_LEVEL": "warning"}
        self.mock = AoaProcess({"AOA_TYPE": "mock", "MOCK_MODEL": "mock-a", "MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0", **quiet})
        self.side = AoaProcess({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up + "/v1", **quiet})
        routes = ",".join([
            f"mock-*:{self.dead}|{self.mock.url}",
            f"gpt-4o:{self.side.url}",
            f"gpt-*:{self.side.url}/v1",
            f"text-embedding-*:{self.side.url}",
            f"keyed-*:{keyed}/v1",
            f"flaky-*:{flaky}/v1|{up}/v1",
        ])
        self.router = AoaProcess({
            "AOA_TYPE": "router", "ROUTER_ROUTES": routes, "ROUTER_KEYS": "keyed-*:route-key",
            "ROUTER_COOLDOWN": "30", "AOA_LOG_LEVEL": "info",
        })

    def stop(self) -> None:
        for p in (self.router, self.side, self.mock):
            p.stop()
        for t in self.threads:
            t.stop()


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    yield s
    s.stop()


def sdk(stack, key="client-key") -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.router.url + "/v1", api_key=key, max_retries=0)


# --- configuration ---------------------------------------------------------------------


def test_routes_parse_and_most_specific_wins():
    s = router.load({"ROUTER_ROUTES": "gpt-4o:http://a:8080, gpt-*:http://b:8080/v1|https://c/v1,*:http://d, qwen2:7b:http://e:1/"})
    r = router.Router(s)
    assert r.route("gpt-4o").targets == ("http://a:8080",)
    assert r.route("gpt-4o-mini").targets == ("http://b:8080/v1", "https://c/v1")
    assert r.route("qwen2:7b").targets == ("http://e:1",)
    assert r.route("anything").pattern == "*"
    g = router.Router(router.load({"ROUTER_ROUTES": "g*:http://a,gem*:http://b,gemini-1.5-*:http://c"}))
    assert [g.route(m).pattern for m in ("gemini-1.5-pro", "gemini-2", "gx")] == ["gemini-1.5-*", "gem*", "g*"]
    assert g.route("other") is None
    with pytest.raises(core.Error) as exc:
        g.pick("other")
    assert exc.value.status == 404 and "g*" in exc.value.message and exc.value.param == "model"


@pytest.mark.parametrize("env,needle", [
    ({}, "ROUTER_ROUTES"),
    ({"ROUTER_ROUTES": "gpt-4o"}, "ROUTER_ROUTES"),
    ({"ROUTER_ROUTES": "a:http://x,a:http://y"}, "routed twice"),
    ({"ROUTER_ROUTES": "a:http://x|ftp://y"}, "target 2"),
    ({"ROUTER_ROUTES": "a:http://x?q=1"}, "target 1"),
    ({"ROUTER_ROUTES": "a:http://x", "ROUTER_KEYS": "b:k"}, "ROUTER_KEYS"),
    ({"ROUTER_ROUTES": "a:http://x", "ROUTER_KEYS": "nokey"}, "ROUTER_KEYS"),
])
def test_bad_routes_refused(env, needle):
    with pytest.raises(core.ConfigError, match=needle):
        aoa.load_config({"AOA_TYPE": "router", **env})


def test_route_keys_are_secrets():
    cfg = aoa.load_config({"AOA_TYPE": "router", "ROUTER_ROUTES": "a:http://u:url-secret@x", "ROUTER_KEYS": "a:sk-route-secret"})
    assert {"sk-route-secret", "url-secret"} <= set(aoa.config_secrets(cfg))
    shown = json.dumps(aoa.describe(cfg))
    assert "sk-route-secret" not in shown and "url-secret" not in shown


# --- through three processes -----------------------------------------------------------


def test_chat_routed_by_model_stream_and_not(stack):
    c = sdk(stack)
    a = c.chat.completions.create(model="mock-a", messages=MSG)
    assert a.model == "mock-a" and a.choices[0].message.content == "hello there"
    b = c.chat.completions.create(model="gpt-4o", messages=MSG)
    assert b.choices[0].message.content == "echo: hello there"
    assert stack.fake.last.json == {"model": "gpt-4o", "messages": MSG}
    assert stack.fake.last.headers["Authorization"] == "Bearer client-key"  # the client's key went through
    chunks = list(c.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True, stream_options={"include_usage": True}))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "echo: hello there"
    assert chunks[-1].usage.total_tokens == 5
    words = [ch.choices[0].delta.content for ch in c.chat.completions.create(model="mock-a", messages=MSG, stream=True) if ch.choices and ch.choices[0].delta.content]
    assert len(words) >= 2  # relayed chunk by chunk, not re-assembled


def test_async_sdk_completions_and_embeddings(stack):
    async def go():
        c = openai.AsyncOpenAI(base_url=stack.router.url + "/v1", api_key="x", max_retries=0)
        comp = await c.completions.create(model="gpt-4o", prompt="hi")
        emb = await c.embeddings.create(model="text-embedding-3-small", input=["a", "bb"])
        stream = await c.chat.completions.create(model="mock-a", messages=MSG, stream=True)
        text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
        await c.close()
        return comp, emb, text

    comp, emb, text = asyncio.run(go())
    assert comp.choices[0].text == "echo: hi" and stack.fake.requests[-2].path == "/v1/completions"
    assert len(emb.data) == 2 and stack.fake.last.path == "/v1/embeddings"
    assert text == "hello there"


def test_responses_routed_by_model(stack):
    c = sdk(stack)
    r = c.responses.create(model="gpt-4o", input="hello there")
    assert r.output_text == "echo: hello there" and stack.fake.last.path == "/v1/chat/completions"
    again = c.responses.create(model="mock-a", input="second", previous_response_id=r.id)
    assert again.output_text == "second"
    assert c.responses.retrieve(r.id).id == r.id


def test_unknown_model_is_404_listing_routes(stack):
    with pytest.raises(openai.NotFoundError) as exc:
        sdk(stack).chat.completions.create(model="claude-3", messages=MSG)
    err = exc.value.response.json()["error"]
    assert err["code"] == "model_not_found" and "mock-*" in err["message"] and "gpt-*" in err["message"]


def test_down_target_is_skipped_before_the_first_byte(stack):
    c = sdk(stack)
    for _ in range(4):  # the route's first target is a closed port; every call still answers
        assert c.chat.completions.create(model="mock-a", messages=MSG).choices[0].message.content == "hello there"


def test_5xx_target_fails_over_and_cools_down(stack):
    before = len(stack.flaky.requests)
    stack.flaky.reply_json({"error": {"message": "overloaded", "type": "server_error"}}, status=503)
    c = sdk(stack)
    first = c.chat.completions.create(model="flaky-1", messages=MSG)
    assert first.choices[0].message.content == "echo: hello there"  # answered by the second target
    assert len(stack.flaky.requests) == before + 1
    for _ in range(3):  # cooling down: not asked again for ROUTER_COOLDOWN seconds
        c.chat.completions.create(model="flaky-1", messages=MSG)
    assert len(stack.flaky.requests) == before + 1


def test_per_route_key_replaces_the_clients(stack):
    r = sdk(stack, "client-key").chat.completions.create(model="keyed-1", messages=MSG)
    assert r.choices[0].message.content == "echo: hello there"
    assert stack.keyed.last.headers["Authorization"] == "Bearer route-key"


def test_models_merged_and_tolerant_of_a_down_target(stack):
    ids = [m.id for m in sdk(stack).models.list()]
    # gpt-4o is an exact route; the sidecars' lists fill in the rest; the dead target adds nothing.
    for name in ("gpt-4o", "mock-a", "gpt-4o-mini", "text-embedding-3-small", "keyed-1", "flaky-1"):
        assert name in ids
    assert len(ids) == len(set(ids))
    assert httpx.get(stack.router.url + "/v1/models/mock-a").status_code == 200


def test_router_log_names_the_failures_and_no_key(stack):
    code, log = stack.router.stop()
    assert code == 0
    assert "cooling down" in log and stack.dead.split("//")[1] in log
    assert "route-key" not in log and "client-key" not in log


def test_every_target_down_is_a_502_naming_no_key(aoa_server):
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    srv = aoa_server({"AOA_TYPE": "router", "ROUTER_ROUTES": f"*:{dead[0]}|{dead[1]}", "ROUTER_API_KEY": "sk-router"})
    r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "m", "messages": MSG})
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unreachable"
    assert "sk-router" not in r.text
    r = httpx.get(srv.url + "/v1/models")  # the list tolerates every target being down
    assert r.status_code == 200 and r.json()["data"] == []


def test_router_limits_and_cache_apply_in_front_of_the_backends(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "router", "ROUTER_ROUTES": f"*:{up.url}/v1", "AOA_CACHE": "memory", "AOA_RATE_LIMIT": "3/minute"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    for want in ("miss", "hit", "hit"):
        raw = c.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG, temperature=0)
        assert raw.headers["X-AOA-Cache"] == want
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model="gpt-4o", messages=MSG, temperature=0)
    assert len(fake.requests) == 1


def test_stack_example_values_are_valid_configurations():
    from pathlib import Path

    env = {}
    for line in (Path(aoa.__file__).parent / "example" / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value.strip("'")
    keys = {"AZURE_API_KEY": "k", "GEMINI_API_KEY": "k", "QWEN_API_KEY": "k"}
    router_cfg = aoa.load_config({**env, **keys, "AOA_TYPE": "router", "AOA_REDIS_URL": "redis://redis:6379/0"})
    assert [r.pattern for r in router_cfg.router.routes] == ["gpt-*", "gemini-*", "qwen*"]
    assert (router_cfg.limits.requests.limit, router_cfg.limits.tokens.limit) == (60, 200000)
    assert router_cfg.cache.mode == "redis"
    # The sidecars get only their own vendor's variables (docker-compose.stack.yml).
    side = {k: v for k, v in {**env, **keys}.items() if not k.startswith(("AOA_", "ROUTER_"))}
    gemini = aoa.load_config({**side, "AOA_TYPE": "gemini"})
    assert gemini.overrides.per_model["gemini-precise"] == {"temperature": 0}
    aoa.load_config({**side, "AOA_TYPE": "azure", "AZURE_ENDPOINT": "https://r.openai.azure.com/"})
    aoa.load_config({**side, "AOA_TYPE": "qwen"})
