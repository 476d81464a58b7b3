"""Hot-path shortcuts keep their meaning: an unchanged model relays the client's very bytes,
an alias still rewrites `model`."""

from __future__ import annotations

import json

import httpx

from tests.fakes.openai_api import FakeOpenAI

BODY = b'{ "model" : "gpt-4o",\n  "messages": [{"role": "user", "content": "caf\\u00e9 \xf0\x9f\x98\x80"}], "x-extra": [1, 2.50] }'


def test_unchanged_model_relays_the_bytes_received(serve, aoa_server):
    fake = FakeOpenAI(key="sk")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk", "OPENAI_MODEL_ALIAS": "gpt-4:gpt-4o-mini"})
    r = httpx.post(srv.url + "/v1/chat/completions", content=BODY, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert fake.last.body == BODY
    aliased = BODY.replace(b'"gpt-4o"', b'"gpt-4"')
    r = httpx.post(srv.url + "/v1/chat/completions", content=aliased, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    sent = json.loads(fake.last.body)
    assert sent["model"] == "gpt-4o-mini" and sent["x-extra"] == [1, 2.5] and sent["messages"][0]["content"] == "café 😀"
