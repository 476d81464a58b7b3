"""Passthrough streams (openai, azure, yi) are relayed chunk by chunk but checked: garbage or
truncated JSON becomes an error event, and a stream cut off before its finish_reason or
`[DONE]` ends with an error event, never with aoa's own `[DONE]`."""

from __future__ import annotations

import json

import httpx
import pytest

from providers import core
from providers.passthrough import RelayStream
from tests.fakes.openai_api import FakeOpenAI


def chunk(text: str, finish: str | None = None) -> dict:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


KINDS = {
    "openai": lambda url: {"AOA_TYPE": "openai", "OPENAI_ENDPOINT": url + "/v1", "OPENAI_API_KEY": "sk-x"},
    "yi": lambda url: {"AOA_TYPE": "yi", "YI_ENDPOINT": url + "/v1", "YI_API_KEY": "sk-x"},
    "azure": lambda url: {"AOA_TYPE": "azure", "AZURE_ENDPOINT": url, "AZURE_API_KEY": "sk-x"},
}


@pytest.fixture(params=sorted(KINDS))
def relay(request, serve, aoa_server):
    kind = request.param
    fake = FakeOpenAI(flavor="azure" if kind == "azure" else "openai")
    up = serve(fake.app())
    srv = aoa_server(KINDS[kind](up.url))

    def ask(events: list) -> httpx.Response:
        fake.reply_sse(events)
        return httpx.post(srv.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "x"}]}, timeout=10)

    return ask


def _events(r: httpx.Response) -> list[str]:
    return [line[6:] for line in r.text.split("\n") if line.startswith("data: ")]


@pytest.mark.parametrize(
    "bad",
    [b"data: not json at all\n\n", b'data: {"id":"c","choices":[{"delta":{"content":"x"\n\n', b"data: [1, 2]\n\n", b'data: "a string"\n\n'],
)
def test_garbage_mid_stream_is_an_error_event(relay, bad):
    r = relay([chunk("a"), bad, chunk("b", "stop"), b"data: [DONE]\n\n"])
    assert r.status_code == 200
    events = _events(r)
    assert json.loads(events[0])["choices"][0]["delta"]["content"] == "a"
    assert json.loads(events[-1])["error"]["code"] == "upstream_invalid_sse"
    assert "[DONE]" not in events


def test_garbage_first_is_a_502(relay):
    r = relay([b"data: <html>oops</html>\n\n"])
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_invalid_sse"


def test_truncated_json_at_eof_is_an_error_event(relay):
    r = relay([chunk("a"), b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"b'])
    events = _events(r)
    assert json.loads(events[-1])["error"]["code"] == "upstream_invalid_sse"
    assert "[DONE]" not in events


def test_a_stream_cut_before_its_finish_reason_is_an_error(relay):
    r = relay([chunk("a"), chunk("b")])  # then EOF: neither finish_reason nor [DONE]
    events = _events(r)
    assert [json.loads(e)["choices"][0]["delta"]["content"] for e in events[:2]] == ["a", "b"]
    assert json.loads(events[-1])["error"]["code"] == "upstream_truncated"
    assert "[DONE]" not in events


def test_a_finish_reason_without_done_is_tolerated(relay):
    r = relay([chunk("a"), chunk("", "stop")])
    assert _events(r)[-1] == "[DONE]"


def test_a_whole_stream_is_relayed_untouched(relay):
    r = relay([chunk("a"), chunk("b", "stop"), b"data: [DONE]\n\n"])
    events = _events(r)
    assert events[-1] == "[DONE]" and len(events) == 3


def test_relay_stream_unit():
    s = RelayStream()
    assert s.feed("message", json.dumps(chunk("a")).encode())
    with pytest.raises(core.Error) as exc:
        s.close()
    assert exc.value.status == 502
    s.feed("message", json.dumps(chunk("", "length")).encode())
    assert s.close() == []
    s = RelayStream()
    s.feed("message", json.dumps(chunk("a")).encode())
    s.feed("message", b"[DONE]")
    assert s.close() == []  # [DONE] is an explicit end, finish_reason or not
