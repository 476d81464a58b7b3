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


def test_sse_bulk_path_matches_the_line_parser():
    """The bulk path for plain `data:` events gives exactly what the line parser gives, for any
    split of the stream into reads and any mix of event shapes."""
    import random

    from gateway import sse

    pieces = [b"data: {\"a\":1}\n\n", b"data: x\r\n\r\n", b": keep-alive\n\n", b"event: error\ndata: {\"e\":2}\n\n",
              b"data: one\ndata: two\n\n", b"\n", b"data:nospace\n\n", b"data: [DONE]\n\n", b"id: 7\ndata: y\n\n", b"data: z\r\r"]
    rng = random.Random(7)
    for _ in range(300):
        stream = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(0, 6)))) if len(stream) > 1 else []
        reads = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
        got = {}
        for fast in (True, False):
            sse.FAST = fast
            try:
                d = sse.SSEDecoder()
                got[fast] = [e for r in reads for e in d.feed(r)] + d.close()
            finally:
                sse.FAST = True
        assert got[True] == got[False], (stream, reads)


def test_unchanged_model_stream_still_asks_for_usage(serve, aoa_server):
    fake = FakeOpenAI(key="sk")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk"})
    body = b'{"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
    httpx.post(srv.url + "/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert json.loads(fake.last.body)["stream_options"] == {"include_usage": True}
