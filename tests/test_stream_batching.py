"""Chunks that share one network read with a later error frame still reach the client."""

import json

import openai
import pytest

from tests.fakes.openai_api import FakeOpenAI


def chunk(text: str) -> dict:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def test_error_in_same_read_keeps_earlier_chunks(serve, aoa_server):
    fake = FakeOpenAI()
    up = serve(fake.app())
    aoa = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "k"})
    one_read = b"".join(
        b"data: " + json.dumps(c).encode() + b"\n\n"
        for c in (chunk("Hel"), chunk("lo"), {"error": {"message": "quota gone", "type": "server_error"}})
    )
    fake.reply_sse([one_read])
    client = openai.OpenAI(base_url=aoa.url + "/v1", api_key="x", max_retries=0)
    seen = []
    with pytest.raises(openai.APIError, match="quota gone"):
        for c in client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True):
            seen.append(c.choices[0].delta.content)
    assert seen == ["Hel", "lo"]
