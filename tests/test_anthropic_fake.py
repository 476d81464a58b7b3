"""The fake Anthropic upstream is faithful: the official `anthropic` SDK talks to it and reads its
answers (messages, padded SSE streams with tool use and thinking, paged model list, errors)."""

from __future__ import annotations

import anthropic
import pytest

from tests.fakes.anthropic_api import FakeAnthropic, signature

KEY = "sk-ant-fake-test-key"
TOOL = {"name": "get_weather", "description": "w", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.fixture
def claude(serve):
    fake = FakeAnthropic(key=KEY, page_size=2)
    up = serve(fake.app())
    return fake, anthropic.Anthropic(api_key=KEY, base_url=up.url, max_retries=0)


def test_messages_create(claude):
    fake, client = claude
    # SDK 2.x pins anthropic-version 2026-10-21, which takes no sampling parameters.
    with pytest.raises(anthropic.BadRequestError, match="temperature"):
        client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "x"}], extra_body={"temperature": 0})
    old = client.with_options(default_headers={"anthropic-version": "2023-06-01"})
    r = old.messages.create(model="claude-sonnet-4-5", max_tokens=64, system="be brief", messages=[{"role": "user", "content": "hello there"}], extra_body={"temperature": 0})
    assert r.content[0].text == "echo: hello there"
    assert r.stop_reason == "end_turn" and r.id.startswith("msg_")
    assert r.usage.input_tokens > 0 and r.usage.output_tokens == 3
    assert fake.last.path == "/v1/messages"
    assert fake.last.headers["Authorization"] == f"Bearer {KEY}" and fake.last.headers["anthropic-version"] == "2023-06-01"
    assert fake.last.json["temperature"] == 0


def test_stream_text_with_padded_json(claude):
    _, client = claude
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "a b c"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "echo: a b c"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 4


def test_tool_use_and_thinking_stream(claude):
    _, client = claude
    with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=4096, messages=[{"role": "user", "content": "weather?"}],
        tools=[TOOL], thinking={"type": "enabled", "budget_tokens": 1024},
    ) as s:
        final = s.get_final_message()
    kinds = [b.type for b in final.content]
    assert kinds == ["thinking", "text", "tool_use", "tool_use"]
    assert final.content[0].signature == signature(final.content[0].thinking)
    assert final.content[2].input == {"city": "Paris"} and final.stop_reason == "tool_use"


def test_thinking_replay_is_checked(claude):
    _, client = claude
    thinking = {"type": "enabled", "budget_tokens": 1024}
    with pytest.raises(anthropic.BadRequestError, match="forces tool use"):
        client.messages.create(model="claude-sonnet-4-5", max_tokens=4096, messages=[{"role": "user", "content": "weather?"}], tools=[TOOL], tool_choice={"type": "any"}, thinking=thinking)
    first = client.messages.create(model="claude-sonnet-4-5", max_tokens=4096, messages=[{"role": "user", "content": "weather?"}], tools=[TOOL], tool_choice={"type": "auto", "disable_parallel_tool_use": True}, thinking=thinking)
    use = next(b for b in first.content if b.type == "tool_use")
    follow = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
    ]
    r = client.messages.create(model="claude-sonnet-4-5", max_tokens=4096, messages=follow, tools=[TOOL], thinking=thinking)
    assert r.content[-1].text == "echo: tool said sunny"
    follow[1]["content"] = follow[1]["content"][1:]  # thinking dropped: the real API refuses
    with pytest.raises(anthropic.BadRequestError, match="Expected `thinking`"):
        client.messages.create(model="claude-sonnet-4-5", max_tokens=4096, messages=follow, tools=[TOOL], thinking=thinking)


def test_model_list_pages(claude):
    fake, client = claude
    ids = [m.id for m in client.models.list(limit=2)]
    assert ids == list(fake.models)
    assert fake.last.query.get("after_id") == fake.models[1]


def test_errors(claude):
    fake, client = claude
    fake.reply_error(529, "overloaded_error", "Overloaded", headers={"retry-after": "3"})
    with pytest.raises(anthropic.InternalServerError) as info:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 529 and info.value.body["error"]["type"] == "overloaded_error"
    old = client.with_options(default_headers={"anthropic-version": "2023-06-01"})
    with pytest.raises(anthropic.BadRequestError, match="temperature"):
        old.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}], extra_body={"temperature": 1.5})
    bad = anthropic.Anthropic(api_key="wrong", base_url=client.base_url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}])


def test_prompt_cache_simulation(claude):
    _, client = claude
    system = [{"type": "text", "text": "a long and stable system prompt " * 5, "cache_control": {"type": "ephemeral"}}]
    msgs = [{"role": "user", "content": "hi"}]
    first = client.messages.create(model="claude-sonnet-4-5", max_tokens=8, system=system, messages=msgs)
    again = client.messages.create(model="claude-sonnet-4-5", max_tokens=8, system=system, messages=msgs)
    assert first.usage.cache_creation_input_tokens > 0 and first.usage.cache_read_input_tokens == 0
    assert again.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
