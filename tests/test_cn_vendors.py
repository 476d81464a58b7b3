"""DeepSeek, Moonshot, Zhipu, MiniMax, Qianfan and Spark through aoa, with the openai SDK as the
client and `tests/fakes/cn_vendors.py` as the upstream: reasoning placement, tool loops with
reasoning history, each parameter rule, each error shape, embeddings and models."""

from __future__ import annotations

import base64
import json
import struct

import httpx
import openai
import pytest

import aoa
from providers import core
from tests.fakes.cn_vendors import REASONING, FakeVendor

VENDORS = ["deepseek", "moonshot", "zhipu", "minimax", "qianfan", "spark"]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture
def vendor(serve, aoa_server):
    def start(kind: str, key: str | None = None, **env):
        module = {"kimi": "moonshot", "glm": "zhipu"}.get(kind, kind)
        fake = FakeVendor(module, key=key)
        up = serve(fake.app())
        prefix = module.upper()
        srv = aoa_server({"AOA_TYPE": kind, f"{prefix}_ENDPOINT": up.url + fake.base, **env})
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=key or "client-key", max_retries=0)
        return fake, client, srv

    return start


@pytest.mark.parametrize("kind", VENDORS)
def test_reasoning_separate_from_content(vendor, kind):
    fake, c, _ = vendor(kind)
    r = c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "hi there"}])
    msg = r.choices[0].message
    assert msg.content == "echo: hi there"
    assert msg.reasoning_content == REASONING
    assert r.choices[0].finish_reason == "stop"
    chunks = list(c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "hi there"}], stream=True, stream_options={"include_usage": True}))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    thought = "".join(getattr(ch.choices[0].delta, "reasoning_content", None) or "" for ch in chunks if ch.choices)
    assert text == "echo: hi there"
    assert thought == REASONING
    assert chunks[-1].usage.total_tokens == 12


@pytest.mark.parametrize("kind", VENDORS)
@pytest.mark.parametrize("stream", [False, True])
def test_tool_loop_with_reasoning(vendor, kind, stream):
    fake, c, _ = vendor(kind)
    messages = [{"role": "user", "content": "weather in Paris?"}]
    if stream:
        model = "glm-5" if kind == "zhipu" else "m-1"
        chunks = list(c.chat.completions.create(model=model, messages=messages, tools=TOOLS, stream=True))
        calls = [tc for ch in chunks if ch.choices for tc in (ch.choices[0].delta.tool_calls or [])]
        assert all(tc.index == 0 for tc in calls)
        assert "".join(tc.function.arguments or "" for tc in calls) == '{"city": "Paris"}'
        assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == ["tool_calls"]
        assert "".join(getattr(ch.choices[0].delta, "reasoning_content", None) or "" for ch in chunks if ch.choices) == REASONING
        if kind == "zhipu":
            assert fake.last.json["tool_stream"] is True
        assistant = {"role": "assistant", "content": "", "reasoning_content": REASONING, "tool_calls": [{"id": calls[0].id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    else:
        r = c.chat.completions.create(model="m-1", messages=messages, tools=TOOLS)
        assert r.choices[0].finish_reason == "tool_calls"
        assert r.choices[0].message.reasoning_content == REASONING
        assert not r.choices[0].message.content
        assistant = r.choices[0].message.model_dump(exclude_none=True)
    tool_id = assistant["tool_calls"][0]["id"]
    messages += [assistant, {"role": "tool", "tool_call_id": tool_id, "content": "sunny"}]
    r = c.chat.completions.create(model="m-1", messages=messages, tools=TOOLS)
    assert r.choices[0].message.content == "tool said: sunny"
    sent = fake.last.json["messages"][1]
    if kind in ("deepseek", "moonshot", "zhipu"):
        assert sent["reasoning_content"] == REASONING  # kept for the vendor's tool loop
    elif kind == "minimax":
        assert "reasoning_content" not in sent
        assert sent["content"] == f"<think>\n{REASONING}\n</think>\n\n"  # wrapped back as MiniMax sent it
    else:
        assert "reasoning_content" not in sent  # not documented as input: not sent


# (kind, parameters, the field the 400 must name)
REFUSED = [
    ("minimax", {"temperature": 0}, "temperature"),
    ("minimax", {"n": 2}, "n"),
    ("minimax", {"reasoning_effort": "low"}, "reasoning_effort"),
    ("spark", {"temperature": 0}, "temperature"),
    ("spark", {"max_tokens": 8193}, "max_tokens"),
    ("spark", {"n": 2}, "n"),
    ("spark", {"extra_body": {"top_k": 7}}, "top_k"),
    ("moonshot", {"temperature": 1.5}, "temperature"),
    ("moonshot", {"tool_choice": "required", "tools": TOOLS}, "tool_choice"),
    ("moonshot", {"temperature": 0, "n": 2}, "n"),
    ("moonshot", {"n": 6}, "n"),
    ("zhipu", {"temperature": 1.2}, "temperature"),
    ("zhipu", {"stop": ["a", "b"]}, "stop"),
    ("zhipu", {"tool_choice": "required", "tools": TOOLS}, "tool_choice"),
    ("zhipu", {"n": 2}, "n"),
    ("zhipu", {"top_p": 0}, "top_p"),
    ("deepseek", {"n": 2}, "n"),
    ("deepseek", {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}}, "response_format"),
    ("deepseek", {"temperature": 2.5}, "temperature"),
    ("deepseek", {"logit_bias": {"1": 1}}, "logit_bias"),
    ("qianfan", {"temperature": 0}, "temperature"),
]


@pytest.mark.parametrize(("kind", "params", "field"), REFUSED, ids=[f"{k}-{f}" for k, _, f in REFUSED])
@pytest.mark.parametrize("stream", [False, True])
def test_documented_invalid_values_refused(vendor, kind, params, field, stream):
    fake, c, _ = vendor(kind)
    model = "ernie-4.5-turbo-128k" if kind == "qianfan" else "m-1"
    with pytest.raises(openai.BadRequestError) as info:
        c.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}], stream=stream, **params)
    assert info.value.body["param"] == field
    assert field in info.value.body["message"]
    assert fake.requests == []  # refused before any upstream call


# Values that are valid must reach the vendor exactly as sent.
ACCEPTED = [
    ("minimax", {"temperature": 1, "top_p": 0.95}),
    ("spark", {"temperature": 0.5, "max_tokens": 8192, "extra_body": {"top_k": 4}}),
    ("moonshot", {"temperature": 0, "n": 1, "tool_choice": "auto", "tools": TOOLS}),
    ("moonshot", {"temperature": 0.7, "n": 3}),
    ("zhipu", {"temperature": 0.6, "stop": ["END"], "extra_body": {"thinking": {"type": "disabled"}, "do_sample": True}}),
    ("deepseek", {"temperature": 0, "reasoning_effort": "high", "extra_body": {"thinking": {"type": "enabled"}}}),
    ("qianfan", {"temperature": 0, "extra_body": {"penalty_score": 1.2}}),  # not an ERNIE model: Qianfan judges
]


@pytest.mark.parametrize(("kind", "params"), ACCEPTED, ids=[k for k, _ in ACCEPTED])
def test_valid_values_relayed(vendor, kind, params):
    fake, c, _ = vendor(kind)
    extra = params.pop("extra_body", {})
    c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}], extra_body=extra, **params)
    sent = fake.last.json
    for name, value in {**params, **extra}.items():
        assert sent[name] == value and type(sent[name]) is type(value), name


def test_zhipu_temperature_zero_is_greedy_sampling(vendor):
    fake, c, _ = vendor("glm")
    c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "x"}], temperature=0, top_p=0.5)
    sent = fake.last.json
    assert "temperature" not in sent and sent["do_sample"] is False and sent["top_p"] == 0.5


def test_zhipu_tool_stream_not_forced_when_client_says_so(vendor):
    fake, c, _ = vendor("zhipu")
    chunks = list(c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "x"}], tools=TOOLS, stream=True, extra_body={"tool_stream": False}))
    assert fake.last.json["tool_stream"] is False
    calls = [tc for ch in chunks if ch.choices for tc in (ch.choices[0].delta.tool_calls or [])]
    assert calls[0].index == 0 and calls[0].function.arguments == '{"city": "Paris"}'
    fake, c, _ = vendor("zhipu", ZHIPU_TOOL_STREAM="false")
    list(c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "x"}], tools=TOOLS, stream=True))
    assert "tool_stream" not in fake.last.json
    fake, c, _ = vendor("zhipu")
    for model, added in (("glm-4-plus", False), ("glm-4.5-air", False), ("GLM-4.7", True), ("glm-5.2", True)):
        chunks = list(c.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}], tools=TOOLS, stream=True))
        assert ("tool_stream" in fake.last.json) is added, model
        calls = [tc for ch in chunks if ch.choices for tc in (ch.choices[0].delta.tool_calls or [])]
        assert "".join(tc.function.arguments or "" for tc in calls) == '{"city": "Paris"}'
        assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_body_relayed_byte_for_byte_when_nothing_changes(vendor):
    fake, c, srv = vendor("deepseek")
    body = b'{"model":"m-1","messages":[{"role":"user","content":"caf\\u00e9 \xe2\x98\x95"}],"temperature":0.30,"vendor_knob":{"a":[1,2.50]}}'
    r = httpx.post(srv.url + "/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    assert b'"temperature":0.30' in fake.last.body and b'"content":"caf\\u00e9 \xe2\x98\x95"' in fake.last.body
    assert b'"vendor_knob":{"a":[1,2.50]}' in fake.last.body


# (kind, scripted upstream answer, expected status, expected code, words from the vendor message)
ERRORS = [
    ("zhipu", (400, {"error": {"code": "1301", "message": "系统检测到输入或生成内容可能包含不安全或敏感内容"}}), 400, "content_filter", "不安全"),
    ("zhipu", (429, {"error": {"code": "1113", "message": "您的账户已欠费,请充值后重试"}}), 429, "insufficient_quota", "欠费"),
    ("zhipu", (429, {"error": {"code": "1302", "message": "您的账户已达到速率限制"}}), 429, "rate_limit_exceeded", "速率"),
    ("zhipu", (401, {"error": {"code": "1002", "message": "Authorization Token非法"}}), 401, "invalid_api_key", "非法"),
    ("minimax", (200, {"id": "", "base_resp": {"status_code": 1026, "status_msg": "input new_sensitive"}}), 400, "content_filter", "sensitive"),
    ("minimax", (200, {"id": "", "base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}}), 429, "insufficient_quota", "balance"),
    ("minimax", (200, {"id": "", "base_resp": {"status_code": 1004, "status_msg": "login fail"}}), 401, "invalid_api_key", "login"),
    ("minimax", (200, {"id": "", "base_resp": {"status_code": 1002, "status_msg": "rate limit"}}), 429, "rate_limit_exceeded", "rate"),
    ("spark", (200, {"code": 10013, "message": "input content sensitive", "sid": "cha000b1@dx"}), 400, "content_filter", "cha000b1@dx"),
    ("spark", (200, {"code": 11202, "message": "licc limit", "sid": "cha000b2@dx"}), 429, "rate_limit_exceeded", "licc"),
    ("spark", (401, {"code": 11200, "message": "auth no license", "sid": "cha000b3@dx"}), 403, "permission_denied", "license"),
    ("qianfan", (400, {"error": {"code": "invalid_argument", "message": "the temperature is invalid", "type": "invalid_request_error"}}), 400, "invalid_parameter", "temperature"),
    ("qianfan", (429, {"error": {"code": "rpm_rate_limit_exceeded", "message": "Rate limit reached for RPM", "type": "rate_limit_exceeded"}}), 429, "rate_limit_exceeded", "RPM"),
    ("qianfan", (401, {"error_code": 110, "error_msg": "Access token invalid or no longer valid"}), 401, "invalid_api_key", "Access token"),
    ("moonshot", (400, {"error": {"message": "The request was rejected because it was considered high risk", "type": "content_filter"}}), 400, "content_filter", "high risk"),
    ("moonshot", (429, {"error": {"message": "The engine is currently overloaded", "type": "engine_overloaded_error"}}), 429, "server_overloaded", "overloaded"),
    ("moonshot", (429, {"error": {"message": "exceeded quota", "type": "exceeded_current_quota_error"}}), 429, "insufficient_quota", "quota"),
    ("deepseek", (402, {"error": {"message": "Insufficient Balance", "type": "unknown_error", "param": None, "code": "invalid_request_error"}}), 429, "insufficient_quota", "Balance"),
    ("deepseek", (503, {"error": {"message": "Server overloaded", "type": "unknown_error", "param": None, "code": "server_error"}}), 503, "server_overloaded", "overloaded"),
]


@pytest.mark.parametrize(("kind", "reply", "status", "code", "words"), ERRORS, ids=[f"{e[0]}-{e[3]}-{i}" for i, e in enumerate(ERRORS)])
def test_vendor_errors_mapped(vendor, kind, reply, status, code, words):
    fake, c, _ = vendor(kind)
    fake.reply_json(reply[1], status=reply[0])
    with pytest.raises(openai.APIStatusError) as info:
        c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == status
    assert info.value.body["code"] == code
    assert words in info.value.body["message"]
    mod = __import__(f"providers.{kind}", fromlist=["RETRY_CODES"])
    assert (code in mod.RETRY_CODES) == (code in ("rate_limit_exceeded", "server_overloaded", "server_error"))


@pytest.mark.parametrize("kind", ["minimax", "spark", "zhipu"])
def test_error_inside_a_stream_becomes_error_event(vendor, kind):
    fake, c, _ = vendor(kind)
    ok = {"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]}
    if kind == "minimax":
        ok["base_resp"] = {"status_code": 0, "status_msg": ""}
        bad = {"id": "s", "choices": None, "base_resp": {"status_code": 1027, "status_msg": "output new_sensitive"}}
    elif kind == "spark":
        ok = {"code": 0, "message": "Success", "sid": "cha1@dx", **ok}
        bad = {"code": 10014, "message": "output content sensitive", "sid": "cha1@dx"}
    else:
        bad = {"error": {"code": "1301", "message": "sensitive content detected"}}
    fake.reply_sse([ok, bad])
    stream = c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}], stream=True)
    got = []
    with pytest.raises(openai.APIError) as info:
        for ch in stream:
            got.append(ch.choices[0].delta.content)
    assert got == ["Hel"]
    assert "sensitive" in str(info.value)
    assert info.value.body["code"] == "content_filter"


def test_minimax_error_answering_a_stream_request_with_json(vendor):
    fake, c, _ = vendor("minimax")
    fake.reply_json({"id": "", "base_resp": {"status_code": 1004, "status_msg": "login fail: Please carry the API secret key"}})
    with pytest.raises(openai.AuthenticationError) as info:
        list(c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}], stream=True))
    assert "login fail" in info.value.body["message"]


def test_zhipu_sensitive_finish_reason_is_content_filter(vendor):
    fake, c, _ = vendor("zhipu")
    fake.reply_json({"id": "1", "created": 1, "model": "glm-4.6", "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "sensitive"}]})
    r = c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].finish_reason == "content_filter"
    chunk = {"id": "1", "created": 1, "model": "glm-4.6", "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]}
    fake.reply_sse([chunk, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "sensitive"}]}, "data: [DONE]\n\n"])
    chunks = list(c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "x"}], stream=True))
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_tool_call_finish_reason_and_missing_index_fixed(vendor):
    # A vendor that says "stop" after streaming a tool call and omits the delta index.
    fake, c, _ = vendor("spark")
    base = {"code": 0, "message": "Success", "sid": "cha2@dx", "id": "2", "created": 1, "model": "4.0Ultra"}
    fake.reply_sse([
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        "data: [DONE]\n\n",
    ])
    chunks = list(c.chat.completions.create(model="4.0Ultra", messages=[{"role": "user", "content": "x"}], tools=TOOLS, stream=True))
    assert chunks[0].choices[0].delta.tool_calls[0].index == 0
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    fake.reply_json({**base, "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "", "tool_calls": {"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}}, "finish_reason": "stop"}]})
    r = c.chat.completions.create(model="4.0Ultra", messages=[{"role": "user", "content": "x"}], tools=TOOLS)
    assert r.choices[0].finish_reason == "tool_calls"
    assert r.choices[0].message.tool_calls[0].function.name == "get_weather" and r.choices[0].message.tool_calls[0].id


def test_minimax_think_split_across_chunks_and_non_stream(vendor):
    fake, c, _ = vendor("minimax")
    r = c.chat.completions.create(model="MiniMax-M2.7", messages=[{"role": "user", "content": "a b"}])
    assert r.choices[0].message.content == "echo: a b" and r.choices[0].message.reasoning_content == REASONING
    # A client that asks for MiniMax's own split format gets it relayed.
    fake.reply_json({"id": "1", "created": 1, "model": "MiniMax-M2.7", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi", "reasoning_details": [{"type": "reasoning.text", "text": "t"}]}, "finish_reason": "stop"}], "base_resp": {"status_code": 0, "status_msg": ""}})
    r = c.chat.completions.create(model="MiniMax-M2.7", messages=[{"role": "user", "content": "a"}], extra_body={"reasoning_split": True})
    assert fake.last.json["reasoning_split"] is True
    assert r.choices[0].message.reasoning_details == [{"type": "reasoning.text", "text": "t"}]
    assert r.choices[0].message.reasoning_content == "t" and r.choices[0].message.content == "hi"


@pytest.mark.parametrize("cumulative", [False, True])
def test_minimax_reasoning_details_stream(vendor, cumulative):
    # platform.minimax.io's example reads each text as the whole text so far; MiniMax-M2 issue 95
    # reports increments. Both give the same reasoning_content.
    fake, c, _ = vendor("minimax")
    parts = ["The user", " is asking", " how I am."]
    texts = ["".join(parts[: i + 1]) for i in range(len(parts))] if cumulative else parts
    base = {"id": "1", "created": 1, "model": "MiniMax-M2.7", "base_resp": {"status_code": 0, "status_msg": ""}}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "reasoning_details": [{"type": "reasoning.text", "id": "r1", "index": 0, "text": t}]}, "finish_reason": None}]} for t in texts]
    events += [{**base, "choices": [{"index": 0, "delta": {"content": "Fine."}, "finish_reason": "stop"}]}, "data: [DONE]\n\n"]
    fake.reply_sse(events)
    chunks = list(c.chat.completions.create(model="MiniMax-M2.7", messages=[{"role": "user", "content": "hi"}], stream=True, extra_body={"reasoning_split": True}))
    assert "".join(getattr(ch.choices[0].delta, "reasoning_content", None) or "" for ch in chunks) == "The user is asking how I am."
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks) == "Fine."
    assert chunks[0].choices[0].delta.reasoning_details[0]["text"] == texts[0]  # MiniMax's own field relayed


def test_minimax_history_with_reasoning_details_goes_as_sent(vendor):
    fake, c, _ = vendor("minimax")
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    details = [{"type": "reasoning.text", "text": "think"}]
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "<think>\nthink\n</think>\n\n", "reasoning_content": "think", "reasoning_details": details, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    c.chat.completions.create(model="MiniMax-M2.7", messages=messages, extra_body={"reasoning_split": True})
    sent = fake.last.json["messages"][1]
    assert sent["reasoning_details"] == details and "reasoning_content" not in sent
    assert sent["content"] == messages[1]["content"]


def test_embeddings(vendor):
    fake, c, _ = vendor("zhipu")
    e = c.embeddings.create(model="embedding-3", input=["ab", "c"])  # the SDK asks for base64
    assert "encoding_format" not in fake.last.json
    assert [round(x, 3) for x in e.data[0].embedding] == [0.5, -0.25, 2.0]
    e = c.embeddings.create(model="embedding-3", input="abc", encoding_format="float")
    assert e.data[0].embedding == [0.5, -0.25, 3.0]
    fake, c, srv = vendor("qianfan", QIANFAN_APPID="app-42")
    r = httpx.post(srv.url + "/v1/embeddings", json={"model": "embedding-v1", "input": "x", "encoding_format": "base64"}).json()
    assert struct.unpack("<3f", base64.b64decode(r["data"][0]["embedding"])) == (0.5, -0.25, 1.0)
    assert fake.last.headers["appid"] == "app-42"
    for kind in ("deepseek", "moonshot", "minimax", "spark"):
        fake, c, _ = vendor(kind)
        with pytest.raises(openai.BadRequestError) as info:
            c.embeddings.create(model="x", input="a")
        assert info.value.body["code"] == "unsupported_endpoint"
        assert fake.requests == []


def test_models(vendor):
    fake, c, _ = vendor("kimi", MOONSHOT_MODEL="kimi-k2.6")
    assert [m.id for m in c.models.list()] == ["kimi-k2.6", "m-1", "m-2"]
    fake, c, _ = vendor("spark", SPARK_MODEL="4.0Ultra", SPARK_MODEL_ALIAS="gpt-4o:generalv3.5")
    assert [m.id for m in c.models.list()] == ["4.0Ultra", "gpt-4o", "generalv3.5"]
    assert fake.requests == []


def test_keys_and_headers(vendor):
    fake, c, _ = vendor("spark", key="apikey:apisecret")  # the client's bearer, passed on
    c.chat.completions.create(model="lite", messages=[{"role": "user", "content": "x"}])
    assert fake.last.headers["Authorization"] == "Bearer apikey:apisecret"
    fake, c, _ = vendor("spark", key="k1:s1", SPARK_API_KEY="k1", SPARK_API_SECRET="s1")
    c.chat.completions.create(model="lite", messages=[{"role": "user", "content": "x"}])
    assert fake.last.headers["Authorization"] == "Bearer k1:s1"
    fake, c, _ = vendor("glm", key="id.secret", ZHIPU_API_KEY="id.secret")
    c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "x"}])
    assert fake.last.headers["Authorization"] == "Bearer id.secret"
    assert fake.last.path == "/api/paas/v4/chat/completions"


def test_defaults_and_aliases_of_kinds():
    for kind, prefix, endpoint, model in [
        ("deepseek", "DEEPSEEK", "https://api.deepseek.com", "deepseek-v4-flash"),
        ("kimi", "MOONSHOT", "https://api.moonshot.cn/v1", "kimi-k3"),
        ("glm", "ZHIPU", "https://open.bigmodel.cn/api/paas/v4", "glm-5"),
        ("minimax", "MINIMAX", "https://api.minimaxi.com/v1", "MiniMax-M3"),
        ("qianfan", "QIANFAN", "https://qianfan.baidubce.com/v2", "ernie-4.5-turbo-128k"),
        ("spark", "SPARK", "https://spark-api-open.xf-yun.com/v1", "4.0Ultra"),
    ]:
        common = aoa.load_config({"AOA_TYPE": kind}).settings.common
        assert (common.prefix, common.endpoint, common.model) == (prefix, endpoint, model)
    with pytest.raises(core.ConfigError, match="SPARK_API_SECRET"):
        aoa.load_config({"AOA_TYPE": "spark", "SPARK_API_SECRET": "s"})
    described = aoa.describe(aoa.load_config({"AOA_TYPE": "spark", "SPARK_API_KEY": "k", "SPARK_API_SECRET": "very-secret"}))
    assert "very-secret" not in str(described)


def test_zhipu_inline_image_sent_as_bare_base64(vendor):
    fake, c, _ = vendor("zhipu")
    content = [{"type": "text", "text": "what is it?"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
    c.chat.completions.create(model="glm-4.6v", messages=[{"role": "user", "content": content}])
    sent = fake.last.json["messages"][0]["content"]
    assert sent[1]["image_url"]["url"] == "iVBORw0KGgo=" and sent[2]["image_url"]["url"] == "https://example.com/a.png"
    assert sent[0] == content[0]


def test_vendor_400_names_the_field(vendor):
    fake, c, _ = vendor("kimi")
    fake.reply_json({"error": {"message": "invalid temperature: only 1 is allowed for this model", "type": "invalid_request_error"}}, status=400)
    with pytest.raises(openai.BadRequestError) as info:
        c.chat.completions.create(model="kimi-k2.6", messages=[{"role": "user", "content": "x"}], temperature=0.7)
    assert info.value.body["param"] == "temperature"
    assert "only 1 is allowed" in info.value.body["message"]


@pytest.mark.parametrize("kind", VENDORS)
async def test_async_client(vendor, kind):
    fake, _, srv = vendor(kind)
    ac = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="client-key", max_retries=0)
    r = await ac.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "a b"}])
    assert (r.choices[0].message.content, r.choices[0].message.reasoning_content) == ("echo: a b", REASONING)
    text = thought = ""
    async for ch in await ac.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "a b"}], stream=True):
        for choice in ch.choices:
            text += choice.delta.content or ""
            thought += getattr(choice.delta, "reasoning_content", None) or ""
    assert (text, thought) == ("echo: a b", REASONING)
    await ac.close()


@pytest.mark.parametrize("kind", VENDORS)
@pytest.mark.parametrize(("body", "status", "words"), [
    (b"[]", 502, "without `choices`"),
    (b"{}", 502, "without `choices`"),
    (b'{"choices":null}', 502, "without `choices`"),
    (b'{"id":"x","error":{"code":"1234","message":"quota gone for now"}}', 502, "quota gone"),
    (b'{"object":"chat.completion","choices":[', 502, "not JSON"),
])
def test_200_that_is_not_an_answer_is_an_error(vendor, kind, body, status, words):
    fake, c, _ = vendor(kind)
    fake.reply_raw(body)
    with pytest.raises(openai.APIStatusError) as info:
        c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == status
    assert words in info.value.body["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_unknown_finish_reason_reaches_the_client_as_openai_one(vendor, stream):
    fake, c, _ = vendor("qianfan")
    if stream:
        chunk = {"id": "1", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]}
        fake.reply_sse([chunk, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "normal"}]}, "data: [DONE]\n\n"])
        chunks = list(c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}], stream=True))
        assert [ch.choices[0].finish_reason for ch in chunks if ch.choices[0].finish_reason] == ["stop"]
    else:
        fake.reply_json({"id": "1", "created": 1, "model": "m", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "a"}, "finish_reason": "normal"}]})
        assert c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}]).choices[0].finish_reason == "stop"


def test_deepseek_answer_cut_for_lack_of_resources_is_an_error(vendor):
    fake, c, _ = vendor("deepseek")
    fake.reply_json({"id": "1", "created": 1, "model": "m", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hal"}, "finish_reason": "insufficient_system_resource"}]})
    with pytest.raises(openai.APIStatusError) as info:
        c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 502


@pytest.mark.parametrize("kind", ["deepseek", "zhipu", "spark"])
def test_max_completion_tokens_sent_as_the_documented_max_tokens(vendor, kind):
    # These vendors document only `max_tokens`; a cap under OpenAI's newer name must not vanish.
    fake, c, _ = vendor(kind)
    c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}], max_completion_tokens=77)
    assert fake.last.json["max_tokens"] == 77 and "max_completion_tokens" not in fake.last.json
    c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}], max_completion_tokens=55, max_tokens=99)
    assert fake.last.json["max_tokens"] == 55 and "max_completion_tokens" not in fake.last.json


@pytest.mark.parametrize("kind", VENDORS)
@pytest.mark.parametrize("server_key", [True, False])
def test_keys_echoed_by_the_vendor_never_reach_error_bodies_or_logs(vendor, kind, server_key):
    import logging

    from tests.support import LogCapture

    # The server's key (Spark's APIKey:APISecret pair, whose halves a vendor may quote apart),
    # or else the client's bearer, which aoa passes on.
    if server_key:
        env = {f"{kind.upper()}_API_KEY": "srv-key-0001"}
        sent, secrets = "srv-key-0001", ["srv-key-0001"]
        if kind == "spark":
            env["SPARK_API_SECRET"] = "srv-secret-0002"
            sent, secrets = "srv-key-0001:srv-secret-0002", ["srv-key-0001", "srv-secret-0002"]
    else:
        env, sent = {}, "cli-key-0003"
        secrets = [sent]
    fake, c, _ = vendor(kind, key=sent, **env)
    capture = LogCapture({"AOA_TYPE": kind, **env})
    logger = logging.getLogger("aoa")
    logger.addHandler(capture)
    try:
        echo = "rejected " + " and ".join(secrets)
        fake.reply_json({"error": {"code": "401", "message": echo}}, status=401)
        with pytest.raises(openai.APIStatusError) as info:
            c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}])
        ok = {"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]}
        fake.reply_sse([ok, {"error": {"code": "500", "message": echo}}])
        with pytest.raises(openai.APIError) as mid:
            list(c.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "x"}], stream=True))
    finally:
        logger.removeHandler(capture)
    seen = json.dumps(info.value.body) + json.dumps(mid.value.body) + capture.text
    assert "rejected" in seen
    for s in secrets:
        assert s not in seen, s


@pytest.mark.parametrize("include_usage", [True, False])
def test_usage_on_the_finishing_chunk_is_moved_to_its_own(vendor, include_usage):
    fake, c, _ = vendor("zhipu")
    base = {"id": "1", "created": 1, "model": "glm-4.6", "object": "chat.completion.chunk"}
    fake.reply_sse([
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}},
        "data: [DONE]\n\n",
    ])
    extra = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "x"}], stream=True, **extra))
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == ["stop"]
    if include_usage:
        assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 12
        assert all(ch.usage is None for ch in chunks[:-1])
    else:
        assert all(ch.usage is None for ch in chunks)


@pytest.mark.parametrize("kind", VENDORS)
def test_usage_chunk_only_when_asked_and_without_choices(vendor, kind):
    fake, c, _ = vendor(kind)
    msgs = [{"role": "user", "content": "hi"}]
    chunks = list(c.chat.completions.create(model="m-1", messages=msgs, stream=True))
    assert all(ch.usage is None for ch in chunks) and all(ch.choices for ch in chunks)
    chunks = list(c.chat.completions.create(model="m-1", messages=msgs, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 12
    assert all(ch.usage is None and ch.choices for ch in chunks[:-1])
