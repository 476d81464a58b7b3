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


def _stream(kind: str):
    mod = providers.load(kind)
    return mod.ChatStream(mod.load_settings({}), _call({"model": "m", "messages": []}))


def _chunk(delta: dict, finish=None, index=0) -> bytes:
    return msgspec.json.encode({"id": "1", "created": 1, "model": "m", "choices": [{"index": index, "delta": delta, "finish_reason": finish}]})


@pytest.mark.parametrize("kind", VENDORS)
def test_tool_call_index_that_is_not_a_number_is_replaced(kind):
    # An unhashable index once crashed the stream (a 500); a string one became part of the id.
    stream = _stream(kind)
    for bad in ({}, [], "x", True):
        out = stream.feed("message", _chunk({"tool_calls": [{"index": bad, "id": "c", "function": {"name": "f", "arguments": ""}}]}))
        assert msgspec.json.decode(out[0])["choices"][0]["delta"]["tool_calls"][0]["index"] == 0


@pytest.mark.parametrize("kind", VENDORS)
def test_any_vendor_finish_reason_becomes_an_openai_one(kind):
    stream = _stream(kind)
    stream.feed("message", _chunk({"content": "a"}))
    out = stream.feed("message", _chunk({}, "normal"))
    assert msgspec.json.decode(out[0])["choices"][0]["finish_reason"] == "stop"
    with pytest.raises(Error) as info:
        _stream(kind).feed("message", _chunk({}, 5))
    assert info.value.status == 502


def test_deepseek_resource_cut_is_an_error_not_a_finish():
    with pytest.raises(Error) as info:
        _stream("deepseek").feed("message", _chunk({}, "insufficient_system_resource"))
    assert info.value.status == 502 and info.value.code == "upstream_insufficient_system_resource"


def test_odd_finish_probe():
    assert not compat._odd_finish(b'{"choices":[{"finish_reason":null}]}')
    assert not compat._odd_finish(b'{"choices":[{"finish_reason": "stop"},{"finish_reason" : null}]}')
    assert compat._odd_finish(b'{"choices":[{"finish_reason":"stop"},{"finish_reason":"sensitive"}]}')
    assert compat._odd_finish(b'{"choices":[{"finish_reason":7}]}')
    assert not compat._odd_finish(b'{"choices":[{"delta":{"content":"\\"finish_reason\\":\\"x\\""}}]}')


@pytest.mark.parametrize("kind", VENDORS)
def test_error_object_after_other_fields_ends_the_stream(kind):
    with pytest.raises(Error) as info:
        _stream(kind).feed("message", b'{"id":"1","error":{"code":"1301","message":"unsafe output"}}')
    assert "unsafe output" in info.value.message


def test_think_splitter_held_text_reaches_a_finish_chunk_without_content():
    stream = _stream("minimax")
    out = stream.feed("message", _chunk({"role": "assistant", "content": "<"}))
    assert "content" not in msgspec.json.decode(out[0])["choices"][0]["delta"]  # maybe `<think>`
    out = stream.feed("message", _chunk({}, "stop"))
    assert msgspec.json.decode(out[0])["choices"][0]["delta"]["content"] == "<"


def test_think_splitter_holds_a_bounded_tail():
    # Blank lines streamed one by one (before a tag, or inside the thought) must not pile up
    # in the held text: each chunk would copy all of it again.
    s = minimax.ThinkSplitter()
    for _ in range(1000):
        s.delta(0, {"content": " "}, False)
    assert len(s.pending.get(0, "")) <= minimax._HOLD
    s = minimax.ThinkSplitter()
    s.delta(0, {"content": "<think>x"}, False)
    thought = ""
    for _ in range(1000):
        d = {"content": "\n"}
        s.delta(0, d, False)
        thought += d.get("reasoning_content", "")
        assert len(s.pending.get(0, "")) <= minimax._HOLD
    d = {"content": "</think>\n\nok"}
    s.delta(0, d, True)
    assert d["content"] == "ok" and len(thought) >= 1000 - minimax._HOLD


def test_think_splitter_keeps_no_copy_of_incremental_details():
    s = minimax.ThinkSplitter()
    got = ""
    for i in range(1000):
        d = {"reasoning_details": [{"type": "reasoning.text", "text": f"w{i} "}]}
        s.delta(0, d, False)
        got += d["reasoning_content"]
    assert got == "".join(f"w{i} " for i in range(1000))
    assert not s.details.get(0)


def _usage_stream(kind: str, include_usage: bool):
    mod = providers.load(kind)
    call = msgspec.structs.replace(_call({"model": "m", "messages": []}), stream=True, include_usage=include_usage)
    return mod.ChatStream(mod.load_settings({}), call)


USAGE = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


@pytest.mark.parametrize("include_usage", [True, False])
@pytest.mark.parametrize("where", ["chunk", "choice", "alone"])
def test_usage_reaches_the_client_as_openai_sends_it(where, include_usage):
    # Zhipu, Spark and MiniMax put usage on the finishing chunk, Moonshot inside its choice;
    # OpenAI sends it only when asked, alone in a last chunk without choices.
    stream = _usage_stream("moonshot", include_usage)
    choice = {"index": 0, "delta": {}, "finish_reason": "stop"}
    chunk = {"id": "1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}
    if where == "chunk":
        chunk["usage"] = USAGE
    elif where == "choice":
        choice["usage"] = USAGE
    else:
        chunk["choices"], chunk["usage"] = [], USAGE
    out = [msgspec.json.decode(p) for p in stream.feed("message", msgspec.json.encode(chunk))]
    with_usage = [c for c in out if c.get("usage")]
    if include_usage:
        assert [(c["choices"], c["usage"]) for c in with_usage] == [([], USAGE)] and out[-1] is with_usage[0]
    else:
        assert with_usage == []
    if where != "alone":
        assert out[0]["choices"][0]["finish_reason"] == "stop" and "usage" not in out[0]["choices"][0]


def test_chunk_with_choices_that_are_not_a_list_is_not_a_crash():
    stream = _usage_stream("deepseek", False)
    assert stream.feed("message", b'{"id":"1","choices":5,"tool_calls":1}')


def test_qianfan_appid_cannot_break_its_header():
    from providers import qianfan
    from providers.core import ConfigError

    assert qianfan.load_settings({"QIANFAN_APPID": " app-1 "}).appid == "app-1"
    with pytest.raises(ConfigError, match="QIANFAN_APPID"):
        qianfan.load_settings({"QIANFAN_APPID": "app\r\nX-Injected: 1"})


def test_id_and_name_only_on_the_first_delta_of_a_call():
    stream = _stream("zhipu")
    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    later = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":'}}
    got = [msgspec.json.decode(stream.feed("message", _chunk({"tool_calls": [tc]}))[0])["choices"][0]["delta"]["tool_calls"][0] for tc in (first, later)]
    assert got[0] == first
    assert got[1] == {"index": 0, "function": {"arguments": '{"city":'}}


@pytest.mark.parametrize("body", [b"[]", b"{}", b'{"data":5}', b'{"data":[{"embedding":[1,"x"]}]}', b'{"data":[{"embedding":[1e400]}]}', b'{"error":{"code":"1214","message":"bad input"}}'])
def test_embeddings_that_are_not_embeddings_are_a_502_or_the_vendor_error(body):
    call = msgspec.structs.replace(_call({"model": "embedding-3", "input": "x", "encoding_format": "base64"}))
    with pytest.raises(Error) as info:
        zhipu.embeddings_result(zhipu.load_settings({}), call, [body])
    assert info.value.status in (400, 502)


def test_a_rule_reading_another_field_that_is_out_of_range_gives_a_400():
    from providers import moonshot

    raw = b'{"model":"m","messages":[{"role":"user","content":"x"}],"n":2,"temperature":1e5000}'
    call = Call(id="c", created=1, model="m", client_model="m", key="k", body=raw, fields=msgspec.json.decode(raw, type=dict[str, msgspec.Raw]))
    with pytest.raises(Error) as info:
        moonshot.chat(moonshot.load_settings({}), call)
    assert (info.value.status, info.value.param) == (400, "temperature")


@pytest.mark.parametrize(("kind", "body", "param"), [
    ("minimax", {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "reasoning_content": "OUT"}]}, "messages"),
    ("minimax", {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "OUT", "reasoning_content": "r"}]}, "messages"),
    ("zhipu", {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}, "x": "OUT"}]}]}, "messages"),
])
def test_hooks_reading_values_out_of_range_give_a_400(kind, body, param):
    raw = msgspec.json.encode({"model": "m", **body}).replace(b'"OUT"', b"1e5000")
    call = Call(id="c", created=1, model="m", client_model="m", key="k", body=raw, fields=msgspec.json.decode(raw, type=dict[str, msgspec.Raw]))
    mod = providers.load(kind)
    with pytest.raises(Error) as info:
        mod.chat(mod.load_settings({}), call)
    assert (info.value.status, info.value.param) == (400, param)


def test_embeddings_encoding_format_checked_before_the_call():
    raw = b'{"model":"embedding-3","input":"x","encoding_format":1e5000}'
    call = Call(id="c", created=1, model="m", client_model="m", key="k", body=raw, fields=msgspec.json.decode(raw, type=dict[str, msgspec.Raw]))
    for bad in (raw, raw.replace(b"1e5000", b'"int8"')):
        call = Call(id="c", created=1, model="m", client_model="m", key="k", body=bad, fields=msgspec.json.decode(bad, type=dict[str, msgspec.Raw]))
        with pytest.raises(Error) as info:
            zhipu.embeddings(zhipu.load_settings({}), call)
        assert (info.value.status, info.value.param) == (400, "encoding_format")


def test_answer_with_a_number_out_of_range_is_a_502():
    body = b'{"choices":[{"index":0,"message":{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1e400}}'
    with pytest.raises(Error) as info:
        providers.load("deepseek").chat_result(None, _call({"model": "m", "messages": []}), body)
    assert info.value.status == 502


@pytest.mark.parametrize(("pieces", "field", "text"), [(["<"], "content", "<"), (["<think>\nidea\n"], "reasoning_content", "\n")])
def test_think_splitter_held_text_reaches_a_stream_that_ends_without_finishing(pieces, field, text):
    stream = _stream("minimax")
    for piece in pieces:
        stream.feed("message", _chunk({"content": piece}))
    stream.feed("message", b"[DONE]")
    out = [msgspec.json.decode(p) for p in stream.close()]
    assert out[-1]["choices"][0]["delta"][field].endswith(text) and out[-1]["id"] == "1"
