"""The Responses API on Claude: translated onto the chat path and the Anthropic provider, with the
fake Anthropic upstream (which refuses a thinking tool turn whose signed thinking is missing)."""

from __future__ import annotations

import json

import openai
import pytest

pytest.importorskip("providers.anthropic")
anthropic_api = pytest.importorskip("tests.fakes.anthropic_api")

MODEL = "claude-sonnet-4-5"
TOOLS = [{"type": "function", "name": "get_weather", "description": "w", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]


@pytest.fixture
def claude(serve, aoa_server):
    fake = anthropic_api.FakeAnthropic(key="sk-ant-upstream")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "anthropic", "ANTHROPIC_ENDPOINT": up.url, "ANTHROPIC_API_KEY": "sk-ant-upstream"})
    return fake, openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)


def test_text_and_stream(claude):
    fake, c = claude
    r = c.responses.create(model=MODEL, input="hello there", instructions="be brief", max_output_tokens=100)
    assert r.output_text == "echo: hello there" and r.status == "completed"
    assert fake.last.json["system"] in ("be brief", [{"type": "text", "text": "be brief"}]) and fake.last.json["max_tokens"] == 100
    with c.responses.stream(model=MODEL, input="streamed hello", max_output_tokens=100) as s:
        assert s.get_final_response().output_text == "echo: streamed hello"


@pytest.mark.parametrize("stream", [False, True])
def test_thinking_tool_loop_keeps_signatures(claude, stream):
    fake, c = claude
    kw = {"model": MODEL, "tools": TOOLS, "reasoning": {"effort": "low"}, "parallel_tool_calls": False, "max_output_tokens": 4000}
    if stream:
        with c.responses.stream(input="weather?", **kw) as s:
            r = s.get_final_response()
    else:
        r = c.responses.create(input="weather?", **kw)
    kinds = [o.type for o in r.output]
    assert kinds == ["reasoning", "message", "function_call"], kinds
    assert r.output[0].summary[0].text.startswith("Thinking about")
    fc = r.output[2]
    assert json.loads(fc.arguments) == {"city": "Paris"}
    # Stateful: previous_response_id carries the call id, and with it the signed thinking.
    r2 = c.responses.create(previous_response_id=r.id, input=[{"type": "function_call_output", "call_id": fc.call_id, "output": "sunny"}], **kw)
    assert r2.output_text == "echo: tool said sunny"
    replayed = fake.last.json["messages"][1]["content"]
    assert replayed[0]["type"] == "thinking" and replayed[-1]["type"] == "tool_use"
    # Stateless: the client sends the output items back itself (store off), as Codex does.
    items = [{"role": "user", "content": "weather?"}, *(o.model_dump(exclude_none=True) for o in r.output),
             {"type": "function_call_output", "call_id": fc.call_id, "output": "sunny"}]
    r3 = c.responses.create(input=items, store=False, **kw)
    assert r3.output_text == "echo: tool said sunny"
