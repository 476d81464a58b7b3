"""The per-vendor data of the Chinese OpenAI-compatible kinds: every OpenAI request field is placed
in each parameter table, error tables give sane statuses, and the pure helpers (rules, MiniMax's
<think> splitter, finish-reason mapping) hold for every input."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

import aoa
import providers
from providers import compat, minimax, zhipu
from providers.core import Call, Error

VENDORS = ["deepseek", "moonshot", "zhipu", "minimax", "qianfan", "spark"]
EXTRAS = {"top_k"}  # vendor fields with a rule of their own


@pytest.mark.parametrize("kind", VENDORS)
def test_every_openai_field_is_placed(kind):
    mod = providers.load(kind)
    assert compat.CHAT_FIELDS <= set(mod.PARAMS), sorted(compat.CHAT_FIELDS - set(mod.PARAMS))
    assert set(mod.PARAMS) <= compat.CHAT_FIELDS | EXTRAS
    assert mod.VENDOR.params is mod.PARAMS


@pytest.mark.parametrize("kind", VENDORS)
def test_error_tables(kind):
    mod = providers.load(kind)
    codes = set()
    for vendor_code, (status, code) in {**mod.ERRORS, **mod.VENDOR.statuses}.items():
        assert 400 <= status <= 599, vendor_code
        codes.add(code)
        if code == "content_filter":
            assert status == 400
        if code in ("insufficient_quota", "rate_limit_exceeded"):
            assert status == 429
        if code == "invalid_api_key":
            assert status == 401
    assert mod.RETRY_CODES <= codes
    assert "content_filter" not in mod.RETRY_CODES and "invalid_api_key" not in mod.RETRY_CODES


def _call(body: dict) -> Call:
    raw = msgspec.json.encode(body)
    return Call(id="chatcmpl-x", created=1, model=body.get("model", "m"), client_model="m", key="k", body=raw, fields=msgspec.json.decode(raw, type=dict[str, msgspec.Raw]))


@pytest.mark.parametrize(
    ("rule", "value", "ok"),
    [
        (compat.number(0, 1, low_open=True), 0, False),
        (compat.number(0, 1, low_open=True), 0.0001, True),
        (compat.number(0, 1, low_open=True), 1, True),
        (compat.number(0, 1, high_open=True), 1, False),
        (compat.number(0, 2), 2, True),
        (compat.number(0, 2), -0.1, False),
        (compat.number(0, 2), True, False),
        (compat.number(0, 2), "1", False),
        (compat.whole(1, 6), 6, True),
        (compat.whole(1, 6), 7, False),
        (compat.whole(1, 6), 2.0, False),
        (compat.choices("auto", "function"), {"type": "function", "function": {"name": "f"}}, True),
        (compat.choices("auto"), {"type": "function", "function": {"name": "f"}}, False),
        (compat.choices("auto", "none"), "required", False),
        (compat.stop_words(1), "one", True),
        (compat.stop_words(1), ["a"], True),
        (compat.stop_words(1), ["a", "b"], False),
        (compat.format_types("text", "json_object"), {"type": "json_schema"}, False),
        (compat.format_types("text", "json_object"), {"type": "json_object"}, True),
    ],
)
def test_rules(rule, value, ok):
    ctx = compat.Ctx(None, _call({"messages": []}))
    if ok:
        rule(ctx, "f", value)
    else:
        with pytest.raises(Error) as info:
            rule(ctx, "f", value)
        assert info.value.status == 400 and info.value.param == "f"


def test_model_scoped_rule():
    rule = compat.number(0, 1, low_open=True, models=("ernie",))
    rule(compat.Ctx(None, _call({"model": "deepseek-v3", "messages": []})), "temperature", 0)
    with pytest.raises(Error):
        rule(compat.Ctx(None, _call({"model": "ERNIE-4.5-turbo-128k", "messages": []})), "temperature", 0)


def test_null_values_are_not_checked():
    out = minimax.chat(minimax.load_settings({}), _call({"model": "m", "messages": [], "temperature": None, "n": None}))
    assert b'"temperature":null' in out.body


THOUGHT = "step one\nstep two"
ANSWER = "the answer"
TEXT = f"<think>\n{THOUGHT}\n</think>\n\n{ANSWER}"


def _split(pieces: list[str]) -> tuple[str, str]:
    s = minimax.ThinkSplitter()
    reasoning = content = ""
    for i, piece in enumerate(pieces):
        d = {"content": piece}
        s.delta(0, d, i == len(pieces) - 1)
        reasoning += d.get("reasoning_content", "")
        content += d.get("content", "")
    return reasoning, content


@pytest.mark.parametrize("cut", range(1, len(TEXT)))
def test_think_splitter_any_two_chunks(cut):
    assert _split([TEXT[:cut], TEXT[cut:], ""]) == (THOUGHT, ANSWER)


def test_think_splitter_char_by_char_and_without_tags():
    assert _split(list(TEXT) + [""]) == (THOUGHT, ANSWER)
    assert _split(["plain ", "answer <think> inside", ""]) == ("", "plain answer <think> inside")
    assert _split(["<", "b>bold", ""]) == ("", "<b>bold")
    assert _split(["<thi", ""]) == ("", "<thi")  # a stream that ends inside a maybe-tag keeps its text


def test_think_splitter_non_stream():
    msg = {"content": TEXT}
    minimax.ThinkSplitter().message(msg)
    assert msg == {"content": ANSWER, "reasoning_content": THOUGHT}
    msg = {"content": "<think>unclosed"}
    minimax.ThinkSplitter().message(msg)
    assert msg == {"content": "<think>unclosed"}


def test_minimax_history_round_trip():
    body = {"model": "m", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ANSWER, "reasoning_content": THOUGHT}]}
    out = minimax.chat(minimax.load_settings({}), _call(body))
    assert msgspec.json.decode(out.body)["messages"][1] == {"role": "assistant", "content": TEXT}


def test_zhipu_network_error_finish_ends_stream_with_error():
    stream = zhipu.ChatStream(zhipu.load_settings({}), _call({"model": "glm", "messages": []}))
    ok = b'{"id":"1","created":1,"model":"glm","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}'
    assert stream.feed("message", ok) == [ok]  # relayed byte for byte
    with pytest.raises(Error) as info:
        stream.feed("message", b'{"id":"1","created":1,"model":"glm","choices":[{"index":0,"delta":{},"finish_reason":"network_error"}]}')
    assert info.value.status == 502


def test_untouched_chunks_are_the_same_bytes():
    for kind in VENDORS:
        mod = providers.load(kind)
        stream = mod.ChatStream(mod.load_settings({}), _call({"model": "m", "messages": []}))
        chunk = b'{"id":"1","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"r"},"finish_reason":null}]}'
        if kind == "spark":
            chunk = b'{"code":0,"message":"Success","sid":"s",' + chunk[1:]
        assert stream.feed("message", chunk) == [chunk], kind


ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("kind", VENDORS)
def test_every_variable_read_is_documented(kind):
    seen: list[str] = []

    class Spy(dict):
        def get(self, key, default=None):
            seen.append(key)
            return super().get(key, default)

    providers.load(kind).load_settings(Spy())
    readme = (ROOT / "README.md").read_text()
    for var in seen:
        assert f"`{var}`" in readme, var


@pytest.mark.parametrize("name", ["deepseek", "kimi", "glm", "minimax", "qianfan", "spark"])
def test_compose_examples_configure(name):
    text = (ROOT / "example" / f"docker-compose.{name}.yml").read_text()
    env = dict(re.findall(r'^\s+([A-Z][A-Z0-9_]+): "([^"]*)"', text, re.M))
    env = {k: ("key" if v.startswith("<") else v) for k, v in env.items()}
    config = aoa.load_config(env)
    assert config.kind == name and config.settings.common.api_key


SAMPLE = {
    "logit_bias": {"50256": -100}, "functions": [{"name": "f"}], "function_call": "auto",
    "audio": {"voice": "alloy", "format": "wav"}, "prediction": {"type": "content", "content": "x"},
    "web_search_options": {}, "verbosity": "low", "reasoning_effort": "low", "logprobs": True,
    "top_logprobs": 2, "presence_penalty": 0.5, "frequency_penalty": 0.5,
}
REFUSALS = [(k, f) for k in VENDORS for f, rule in providers.load(k).PARAMS.items() if getattr(rule, "refuses", False)]


@pytest.mark.parametrize(("kind", "field"), REFUSALS, ids=[f"{k}-{f}" for k, f in REFUSALS])
def test_every_refusal_names_its_field(kind, field):
    mod = providers.load(kind)
    with pytest.raises(Error) as info:
        mod.chat(mod.load_settings({}), _call({"model": "m", "messages": [], field: SAMPLE[field]}))
    assert (info.value.status, info.value.param) == (400, field)
    assert field in info.value.message


def test_deepseek_keeps_reasoning_only_in_tool_turns():
    from providers import deepseek

    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1", "reasoning_content": "r1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "", "reasoning_content": "r2", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "x"},
        {"role": "assistant", "content": "a2", "reasoning_content": "r3"},
        {"role": "user", "content": "q3"},
        {"role": "assistant", "content": "", "reasoning_content": "r4", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "y"},
    ]
    out = deepseek.chat(deepseek.load_settings({}), _call({"model": "deepseek-v4-pro", "messages": messages}))
    sent = msgspec.json.decode(out.body)["messages"]
    assert [m.get("reasoning_content") for m in sent if m["role"] == "assistant"] == [None, "r2", "r3", "r4"]
    assert sent[1] == {"role": "assistant", "content": "a1"}
    # Nothing to drop: the body goes as it came.
    body = {"model": "m", "messages": messages[2:6]}
    assert deepseek.chat(deepseek.load_settings({}), _call(body)).body == msgspec.json.encode(body)
