"""The Chinese-vendor fakes answer as the vendors document, shown with the openai SDK (the client
each vendor's docs use) talking to them directly, without aoa: so a test through aoa that passes
could fail if aoa forwarded what the vendor refuses."""

from __future__ import annotations

import openai
import pytest

from tests.fakes.cn_vendors import REASONING, FakeVendor

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]


@pytest.fixture
def direct(serve):
    def start(vendor: str, key: str = "k"):
        fake = FakeVendor(vendor, key=key)
        up = serve(fake.app())
        return fake, openai.OpenAI(base_url=up.url + fake.base, api_key=key, max_retries=0)

    return start


def test_reasoning_placement(direct):
    for vendor in ("deepseek", "moonshot", "zhipu", "qianfan", "spark"):
        _, c = direct(vendor)
        msg = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}]).choices[0].message
        assert msg.reasoning_content == REASONING and msg.content == "echo: a"
    _, c = direct("minimax")
    r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
    assert r.choices[0].message.content.startswith("<think>\n" + REASONING)  # thinking inside content
    assert r.base_resp == {"status_code": 0, "status_msg": ""}
    chunks = list(c.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}], stream=True))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks).startswith("<think>")


def test_spark_frames_carry_code_and_sid(direct):
    _, c = direct("spark")
    r = c.chat.completions.create(model="lite", messages=[{"role": "user", "content": "a"}])
    assert (r.code, r.message) == (0, "Success") and r.sid


def test_bad_parameters_fail_upstream(direct):
    _, c = direct("zhipu")
    with pytest.raises(openai.BadRequestError) as info:
        c.chat.completions.create(model="glm-4", messages=[{"role": "user", "content": "a"}], temperature=0)
    assert info.value.body["code"] == "1214"  # openai SDK unwraps "error"
    _, c = direct("moonshot")
    with pytest.raises(openai.BadRequestError):
        c.chat.completions.create(model="kimi", messages=[{"role": "user", "content": "a"}], tools=TOOLS, tool_choice="required")
    # MiniMax and Spark answer a bad value with HTTP 200: the openai SDK sees a "success".
    _, c = direct("minimax")
    r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}], temperature=0)
    assert r.choices is None and r.base_resp["status_code"] == 2013
    _, c = direct("spark")
    r = c.chat.completions.create(model="lite", messages=[{"role": "user", "content": "a"}], max_tokens=9000)
    assert r.code == 10003 and r.choices is None


def test_tool_history_rules(direct):
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    bare = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "", "tool_calls": [call]}, {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]
    for vendor in ("deepseek", "moonshot"):
        _, c = direct(vendor)
        with pytest.raises(openai.BadRequestError, match="reasoning_content"):
            c.chat.completions.create(model="m", messages=bare, tools=TOOLS)
        kept = [bare[0], {**bare[1], "reasoning_content": REASONING}, bare[2]]
        assert c.chat.completions.create(model="m", messages=kept, tools=TOOLS).choices[0].message.content == "tool said: sunny"
    _, c = direct("minimax")
    r = c.chat.completions.create(model="m", messages=bare, tools=TOOLS)
    assert r.base_resp["status_code"] == 2013
    wrapped = [bare[0], {**bare[1], "content": f"<think>\n{REASONING}\n</think>\n\n"}, bare[2]]
    assert c.chat.completions.create(model="m", messages=wrapped, tools=TOOLS).choices[0].message.content.endswith("tool said: sunny")


def test_zhipu_streams_tool_arguments_only_with_tool_stream(direct):
    _, c = direct("zhipu")
    deltas = [ch.choices[0].delta for ch in c.chat.completions.create(model="glm", messages=[{"role": "user", "content": "a"}], tools=TOOLS, stream=True)]
    assert len([d for d in deltas if d.tool_calls]) == 1
    deltas = [ch.choices[0].delta for ch in c.chat.completions.create(model="glm", messages=[{"role": "user", "content": "a"}], tools=TOOLS, stream=True, extra_body={"tool_stream": True})]
    assert len([d for d in deltas if d.tool_calls]) == 3


def test_auth_errors(direct):
    fake, c = direct("zhipu", key="right")
    bad = openai.OpenAI(base_url=str(c.base_url), api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model="glm", messages=[{"role": "user", "content": "a"}])
    assert info.value.body["code"] == "1002"
    fake, c = direct("minimax", key="right")
    bad = openai.OpenAI(base_url=str(c.base_url), api_key="wrong", max_retries=0)
    r = bad.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
    assert r.base_resp["status_code"] == 1004  # MiniMax: even auth failures are HTTP 200
