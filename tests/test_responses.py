"""The Responses API (`/v1/responses`) through aoa, with the official openai SDK as the client:
translated onto the chat path for the mock, Gemini and Qwen upstreams, relayed for OpenAI and
Azure's v1 API."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from aiohttp import web
from pydantic import BaseModel

from providers import gemini
from tests.fakes.dashscope_api import FakeDashScope
from tests.fakes.gemini_api import SIGNATURE, FakeGemini
from tests.fakes.openai_api import FakeOpenAI

FAST = {"MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"}
TOOLS = [{
    "type": "function", "name": "get_weather", "description": "The weather in a city.", "strict": True,
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False},
}]


@pytest.fixture
def mock(aoa_server):
    def start(**env):
        srv = aoa_server({"AOA_TYPE": "mock", **FAST, **env})
        return srv, openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)

    return start


@pytest.fixture
def gem(serve, aoa_server):
    fake = FakeGemini(key="AIza-upstream")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "gemini", "GEMINI_ENDPOINT": up.url, "GEMINI_API_KEY": "AIza-upstream"})
    return fake, openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)


@pytest.fixture
def qwen(serve, aoa_server):
    fake = FakeDashScope(key="sk-qwen")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "qwen", "QWEN_ENDPOINT": up.url, "QWEN_API_KEY": "sk-qwen"})
    return fake, openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)


def _events(srv, body: dict) -> list[tuple[str, dict]]:
    """The raw SSE events of a streaming call: (event name, data). `srv`: a server or its URL."""
    base = srv if isinstance(srv, str) else srv.url
    with httpx.stream("POST", base + "/v1/responses", json={**body, "stream": True}, headers={"Authorization": "Bearer client"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


# --- text ------------------------------------------------------------------------------------


def test_text_non_stream(mock):
    srv, c = mock()
    r = c.responses.create(model="mock-gpt", input="hello big world", instructions="be brief", temperature=0, max_output_tokens=50, metadata={"k": "v"})
    assert r.object == "response" and r.id.startswith("resp_") and r.status == "completed"
    assert r.output_text == "hello big world"
    [msg] = r.output
    assert msg.type == "message" and msg.role == "assistant" and msg.status == "completed" and msg.id.startswith("msg_")
    assert msg.content[0].type == "output_text" and msg.content[0].annotations == []
    assert r.instructions == "be brief" and r.temperature == 0 and r.max_output_tokens == 50 and r.metadata == {"k": "v"}
    assert r.model == "mock-gpt" and r.store is True and r.incomplete_details is None and r.error is None
    # the mock counts words: "be brief" + "hello big world" in, three words out
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (5, 3, 8)
    assert r.usage.input_tokens_details.cached_tokens == 0 and r.usage.output_tokens_details.reasoning_tokens == 0


async def test_text_async_and_message_items(mock):
    srv, _ = mock()
    c = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    r = await c.responses.create(model="mock-gpt", input=[
        {"role": "developer", "content": "dev"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first"}]},
        {"role": "assistant", "content": "earlier answer"},
        {"role": "user", "content": [{"type": "input_text", "text": "two"}, {"type": "input_text", "text": " parts"}]},
    ])
    assert r.output_text == "two parts"


def test_length_is_incomplete(mock):
    srv, c = mock()
    r = c.responses.create(model="mock-gpt", input="one two three four", max_output_tokens=2)
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"
    assert r.output_text == "one two" and r.output[0].status == "incomplete"
    events = _events(srv, {"model": "mock-gpt", "input": "one two three four", "max_output_tokens": 2})
    assert events[-1][0] == "response.incomplete"
    assert events[-1][1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


# --- streaming -------------------------------------------------------------------------------


def test_stream_event_sequence(mock):
    srv, c = mock()
    events = _events(srv, {"model": "mock-gpt", "input": "streamed three words"})
    names = [e for e, _ in events]
    assert names == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
    ]
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert all(d["type"] == e for e, d in events)
    assert events[0][1]["response"]["status"] == "in_progress" and events[0][1]["response"]["output"] == []
    done = events[-1][1]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "streamed three words"
    assert done["usage"]["output_tokens"] == 3
    item_id = events[2][1]["item"]["id"]
    assert {d["item_id"] for _, d in events[3:9]} == {item_id} and events[9][1]["item"]["id"] == item_id


def test_stream_with_sdk_matches_non_stream(mock):
    srv, c = mock()
    with c.responses.stream(model="mock-gpt", input="the same words") as s:
        deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
        final = s.get_final_response()
    assert "".join(deltas) == final.output_text == c.responses.create(model="mock-gpt", input="the same words").output_text
    stream = c.responses.create(model="mock-gpt", input="x y", stream=True)
    assert [e.type for e in stream][-1] == "response.completed"


# --- tools -----------------------------------------------------------------------------------


def test_function_tool_loop_with_items_and_previous_response_id(mock):
    srv, c = mock()
    r = c.responses.create(model="mock-gpt", input="weather in Paris?", tools=TOOLS)
    [fc] = r.output
    assert fc.type == "function_call" and fc.name == "get_weather" and json.loads(fc.arguments) == {"city": "mock"}
    assert fc.call_id.startswith("call_") and fc.status == "completed"
    assert r.tools[0].name == "get_weather" and r.tool_choice == "auto"
    # Stateless: the caller sends the whole conversation back.
    out = {"type": "function_call_output", "call_id": fc.call_id, "output": "sunny"}
    r2 = c.responses.create(model="mock-gpt", input=[{"role": "user", "content": "weather in Paris?"}, fc.model_dump(exclude_none=True), out], tools=TOOLS)
    assert r2.output_text == "The tool answered: sunny"
    # Stateful: previous_response_id carries the call.
    r3 = c.responses.create(model="mock-gpt", previous_response_id=r.id, input=[out], tools=TOOLS)
    assert r3.output_text == "The tool answered: sunny" and r3.previous_response_id == r.id


def test_function_call_stream_events(mock):
    srv, c = mock()
    events = _events(srv, {"model": "mock-gpt", "input": "go", "tools": TOOLS, "tool_choice": {"type": "function", "name": "get_weather"}})
    names = [e for e, _ in events]
    assert names[2] == "response.output_item.added" and events[2][1]["item"]["type"] == "function_call"
    assert events[2][1]["item"]["status"] == "in_progress" and events[2][1]["item"]["arguments"] == ""
    args = "".join(d["delta"] for e, d in events if e == "response.function_call_arguments.delta")
    [done] = [d for e, d in events if e == "response.function_call_arguments.done"]
    assert json.loads(args) == json.loads(done["arguments"]) == {"city": "mock"}
    assert names[-2:] == ["response.output_item.done", "response.completed"]
    with openai.OpenAI(base_url=srv.url + "/v1", api_key="c", max_retries=0).responses.stream(model="mock-gpt", input="go", tools=TOOLS) as s:
        final = s.get_final_response()
    assert final.output[0].type == "function_call" and final.output[0].parsed_arguments == {"city": "mock"}


def test_structured_output_parse(mock):
    srv, c = mock()

    class Reply(BaseModel):
        reply: str

    r = c.responses.parse(model="mock-gpt", input="structured please", text_format=Reply)
    assert r.output_parsed == Reply(reply="structured please")
    assert r.text.format.type == "json_schema" and r.text.format.name == "Reply"
    with c.responses.stream(model="mock-gpt", input="in a stream", text_format=Reply) as s:
        assert s.get_final_response().output_parsed == Reply(reply="in a stream")
    r = c.responses.create(model="mock-gpt", input="obj", text={"format": {"type": "json_object"}})
    assert json.loads(r.output_text) == {"reply": "obj"}


# --- state -----------------------------------------------------------------------------------


def test_retrieve_delete_input_items_and_404(mock):
    srv, c = mock()
    r = c.responses.create(model="mock-gpt", input=[{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "input_text", "text": "b"}]}])
    assert c.responses.retrieve(r.id).model_dump() == r.model_dump()
    items = c.responses.input_items.list(r.id)
    assert [i.content[0].text for i in items.data] == ["b", "a"]  # newest first by default
    assert items.first_id == items.data[0].id and items.has_more is False
    page = c.responses.input_items.list(r.id, order="asc", limit=1)
    assert [i.content[0].text for i in page.data] == ["a"] and page.has_more is True
    c.responses.delete(r.id)
    for call in (lambda: c.responses.retrieve(r.id), lambda: c.responses.delete(r.id), lambda: c.responses.input_items.list(r.id)):
        with pytest.raises(openai.NotFoundError) as exc:
            call()
        assert exc.value.body == {"message": f"Response with id '{r.id}' not found.", "type": "invalid_request_error", "param": None, "code": None}
    with pytest.raises(openai.NotFoundError) as exc:
        c.responses.create(model="mock-gpt", input="x", previous_response_id="resp_unknown")
    assert exc.value.body["param"] == "previous_response_id"
    resp = httpx.get(srv.url + "/responses/resp_unknown")  # without the /v1 prefix too
    assert resp.status_code == 404 and resp.json()["error"]["type"] == "invalid_request_error"


def test_store_false_keeps_nothing(mock):
    srv, c = mock()
    r = c.responses.create(model="mock-gpt", input="forget me", store=False)
    assert r.store is False and r.output_text == "forget me"
    with c.responses.stream(model="mock-gpt", input="me too", store=False) as s:
        rs = s.get_final_response()
    for rid in (r.id, rs.id):
        with pytest.raises(openai.NotFoundError):
            c.responses.retrieve(rid)
    assert len(srv.app[__import__("aoa").STATE].responses_store.backend) == 0


def test_previous_response_chain_and_owner_scope(aoa_server):
    srv = aoa_server({"AOA_TYPE": "mock", "AOA_API_KEYS": "alice,bob", **FAST})
    a = openai.OpenAI(base_url=srv.url + "/v1", api_key="alice", max_retries=0)
    b = openai.OpenAI(base_url=srv.url + "/v1", api_key="bob", max_retries=0)
    r1 = a.responses.create(model="mock-gpt", input="first turn")
    r2 = a.responses.create(model="mock-gpt", input="second turn", previous_response_id=r1.id)
    r3 = a.responses.create(model="mock-gpt", input="third", previous_response_id=r2.id, instructions="only now")
    # the mock counts every word it was sent: the whole chain reached it, r1's instructions not
    assert r3.usage.input_tokens == len("first turn first turn second turn second turn third only now".split())
    with pytest.raises(openai.NotFoundError):
        b.responses.retrieve(r1.id)
    with pytest.raises(openai.NotFoundError):
        b.responses.create(model="mock-gpt", input="x", previous_response_id=r1.id)


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "param"), [
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"tools": [TOOLS[0], {"type": "file_search", "vector_store_ids": ["vs"]}]}, "tools[1].type"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1", "detail": "auto"}]}]}, "input[0].content[0].file_id"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_url": "https://x/y.pdf"}]}]}, "input[0].content[0].file_url"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
    ({"input": [{"type": "web_search_call", "id": "ws_1"}]}, "input[0].type"),
    ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
    ({"conversation": "conv_1"}, "conversation"),
    ({"prompt": {"id": "pmpt_1"}}, "prompt"),
    ({"background": True}, "background"),
    ({"top_logprobs": 2}, "top_logprobs"),
    ({"include": ["message.output_text.logprobs"]}, "include"),
    ({"tool_choice": {"type": "web_search"}}, "tool_choice"),
    ({"text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
    ({"temperature": "hot"}, "temperature"),
    ({"input": None}, "input"),
])
def test_refused_with_param(mock, body, param):
    srv, c = mock()
    r = httpx.post(srv.url + "/v1/responses", json={"model": "mock-gpt", "input": "hi", **body})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_neutral_values_and_ignored_fields_pass(mock):
    srv, c = mock()
    r = c.responses.create(
        model="mock-gpt", input="fine", background=False, top_logprobs=0, truncation="auto", include=["reasoning.encrypted_content"],
        parallel_tool_calls=False, max_tool_calls=3, user="u1", safety_identifier="s", prompt_cache_key="k", store=True,
    )
    assert r.output_text == "fine" and r.parallel_tool_calls is False and r.truncation == "auto"


# --- Gemini ----------------------------------------------------------------------------------


def test_gemini_text_stream_and_tool_loop_keeps_signature(gem):
    fake, c = gem
    r = c.responses.create(model="gemini-2.5-flash", input="hello there")
    assert r.output_text == "echo: hello there" and r.status == "completed" and r.usage.total_tokens > 0
    with c.responses.stream(model="gemini-2.5-flash", input="hello stream") as s:
        assert s.get_final_response().output_text == "echo: hello stream"
    r = c.responses.create(model="gemini-2.5-flash", input="weather?", tools=TOOLS, tool_choice="required")
    [fc] = r.output
    assert fc.type == "function_call" and json.loads(fc.arguments) == {"city": "Paris"}
    assert gemini.signature_of(fc.call_id) == SIGNATURE  # the thought signature rides in the call id
    r2 = c.responses.create(model="gemini-2.5-flash", previous_response_id=r.id, tools=TOOLS,
                            input=[{"type": "function_call_output", "call_id": fc.call_id, "output": '{"temp": 21}'}])
    contents = fake.last.json["contents"]
    assert contents[1]["parts"][0]["thoughtSignature"] == SIGNATURE
    assert contents[2]["parts"][0]["functionResponse"]["name"] == "get_weather"
    assert r2.status == "completed"


def test_gemini_reasoning_becomes_reasoning_item(gem):
    fake, c = gem
    parts = [{"text": "Let me think.", "thought": True}, {"text": "Answer."}]
    usage = {"promptTokenCount": 3, "candidatesTokenCount": 1, "thoughtsTokenCount": 4, "totalTokenCount": 8}
    fake.reply_json({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}], "usageMetadata": usage})
    r = c.responses.create(model="gemini-2.5-flash", input="think", reasoning={"effort": "low", "summary": "auto"}, include=["reasoning.encrypted_content"])
    assert fake.last.json["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 1024, "includeThoughts": True}
    rs, msg = r.output
    assert rs.type == "reasoning" and rs.summary[0].text == "Let me think." and rs.encrypted_content
    assert msg.content[0].text == "Answer." and r.output_text == "Answer."
    assert r.usage.output_tokens_details.reasoning_tokens == 4 and r.usage.output_tokens == 5
    assert r.reasoning.effort == "low"
    fake.reply_sse([{"candidates": [{"content": {"role": "model", "parts": parts[:1]}, "index": 0}]},
                    {"candidates": [{"content": {"role": "model", "parts": parts[1:]}, "finishReason": "STOP", "index": 0}], "usageMetadata": usage}])
    with c.responses.stream(model="gemini-2.5-flash", input="think", reasoning={"effort": "low"}) as s:
        kinds = [e.type for e in s]
        final = s.get_final_response()
    assert kinds[2:6] == ["response.output_item.added", "response.reasoning_summary_part.added",
                          "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done"]
    assert [o.type for o in final.output] == ["reasoning", "message"] and final.output[0].summary[0].text == "Let me think."


# --- Qwen ------------------------------------------------------------------------------------


def test_qwen_reasoning_stream_and_tools(qwen):
    fake, c = qwen
    r = c.responses.create(model="qwen-plus", input="hi", reasoning={"effort": "medium"})
    assert fake.last.json["parameters"]["enable_thinking"] is True
    assert [o.type for o in r.output] == ["reasoning", "message"]
    assert r.output[0].summary[0].text == "thinking about it" and r.output_text == "echo: hi"
    assert r.usage.output_tokens_details.reasoning_tokens == 3
    with c.responses.stream(model="qwen-plus", input="hi", reasoning={"effort": "medium"}) as s:
        text = "".join(e.delta for e in s if e.type == "response.reasoning_summary_text.delta")
        final = s.get_final_response()
    assert text == "thinking about it" and final.output_text == "echo: hi"
    r = c.responses.create(model="qwen-plus", input="look it up", tools=TOOLS)
    [fc] = [o for o in r.output if o.type == "function_call"]
    r2 = c.responses.create(model="qwen-plus", previous_response_id=r.id, tools=TOOLS,
                            input=[{"type": "function_call_output", "call_id": fc.call_id, "output": "found"}])
    assert r2.output_text == "tool said: found"
    sent = fake.last.json["input"]["messages"]
    assert sent[-2]["tool_calls"][0]["id"] == fc.call_id and sent[-1] == {"role": "tool", "content": "found", "tool_call_id": fc.call_id}


# --- reasoning round trip (pure) -------------------------------------------------------------


def test_reasoning_items_return_as_reasoning_content():
    from providers import oai, responses

    items = responses._items_decoder.decode(json.dumps([
        {"role": "user", "content": "q"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": responses.carrier("thought one")},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "r"},
        {"type": "reasoning", "id": "rs_2", "summary": [{"type": "summary_text", "text": "thought two"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done", "annotations": []}]},
        {"type": "reasoning", "id": "rs_3", "summary": [], "encrypted_content": "gAAAAB-openai-opaque"},
        {"role": "user", "content": "next"},
    ]).encode())
    msgs = responses.to_messages(items)
    assert [type(m).__name__ for m in msgs] == ["UserMessage", "AssistantMessage", "ToolMessage", "AssistantMessage", "UserMessage"]
    assert msgs[1].reasoning_content == "thought one" and msgs[1].tool_calls[0].id == "c1" and msgs[1].content is None
    assert msgs[3].reasoning_content == "thought two" and msgs[3].content == "done"
    # another vendor's opaque reasoning is dropped, not sent as text
    assert b"opaque" not in oai.encode(msgs)


def test_policy_covers_every_request_field():
    from providers import responses

    fields = set(responses.ResponsesRequest.__struct_fields__)
    sets = (responses.MAPPED, responses.LOCAL, responses.UNSUPPORTED)
    assert set().union(*sets) == fields
    assert sum(len(s) for s in sets) == len(fields)
    assert set(responses.NEUTRAL) <= responses.UNSUPPORTED


@pytest.mark.parametrize(("finish", "status", "reason"), [
    ("stop", "completed", None), ("tool_calls", "completed", None), ("function_call", "completed", None),
    ("length", "incomplete", "max_output_tokens"), ("content_filter", "incomplete", "content_filter"),
    ("something_new", "completed", None),
])
def test_finish_reason_table(finish, status, reason):
    from providers import responses

    skel = responses.skeleton(responses.decode_request(b'{"input":"x"}'), {}, "resp_1", 1, "m")
    body = json.dumps({"model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "t"}, "finish_reason": finish}]}).encode()
    r = responses.from_chat(skel, body, encrypted=False, completed_at=2)
    assert r.status == status and (r.incomplete_details.reason if r.incomplete_details else None) == reason
    assert r.usage is None


def test_stream_error_mid_stream_is_error_then_failed():
    from providers import core, responses

    skel = responses.skeleton(responses.decode_request(b'{"input":"x"}'), {}, "resp_1", 1, "m")
    st = responses.ResponseStream(skel, encrypted=False)
    chunk = {"id": "c", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "par"}}]}
    frames = st.feed(json.dumps(chunk).encode()) + st.fail(core.Error(502, "upstream reset", code="upstream_error"))
    names = [f.split(b"\n")[0] for f in frames]
    assert names[-2:] == [b"event: error", b"event: response.failed"]
    failed = json.loads(frames[-1].split(b"data: ", 1)[1])
    assert failed["response"]["status"] == "failed" and failed["response"]["error"]["code"] == "server_error"
    assert [json.loads(f.split(b"data: ", 1)[1])["sequence_number"] for f in frames] == list(range(len(frames)))


# --- relay mode ------------------------------------------------------------------------------

UPSTREAM_EVENTS = [
    b'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_up","object":"response","created_at":1,"model":"gpt-4o","output":[],"status":"in_progress","parallel_tool_calls":true,"tool_choice":"auto","tools":[]}}\n\n',
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"hi","logprobs":[]}\n\n',
    b'event: response.completed\ndata: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_up","object":"response","created_at":1,"model":"gpt-4o","output":[],"status":"completed","parallel_tool_calls":true,"tool_choice":"auto","tools":[]}}\n\n',
]
UPSTREAM_RESPONSE = {"id": "resp_up", "object": "response", "created_at": 1, "model": "gpt-4o", "status": "completed", "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
                     "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "hi", "annotations": []}]}]}


def test_openai_relay_keeps_body_and_event_names(serve, aoa_server):
    fake = FakeOpenAI(key="sk-up")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up", "OPENAI_MODEL_ALIAS": "fast:gpt-4o"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    fake.reply_json(UPSTREAM_RESPONSE)
    r = c.responses.create(model="fast", input="hi", tools=[{"type": "web_search"}], extra_body={"vendor_field": 1})
    assert r.output_text == "hi" and r.id == "resp_up"
    assert fake.last.path == "/v1/responses" and fake.last.headers["Authorization"] == "Bearer sk-up"
    assert fake.last.json == {"model": "gpt-4o", "input": "hi", "tools": [{"type": "web_search"}], "vendor_field": 1}
    fake.reply_sse(UPSTREAM_EVENTS)
    with httpx.stream("POST", srv.url + "/v1/responses", json={"model": "fast", "input": "hi", "stream": True}) as resp:
        assert resp.read() == b"".join(UPSTREAM_EVENTS)
    fake.reply_sse(UPSTREAM_EVENTS)
    assert [e.type for e in c.responses.create(model="fast", input="hi", stream=True)] == ["response.created", "response.output_text.delta", "response.completed"]


def test_translate_mode_for_openai_and_relay_for_azure_v1(serve, aoa_server):
    fake = FakeOpenAI(key="sk-up")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up", "OPENAI_RESPONSES": "translate"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    r = c.responses.create(model="gpt-4o-mini", input="translate me")
    assert fake.last.path == "/v1/chat/completions" and r.output_text
    az = FakeOpenAI(flavor="azure", key="az-key")
    azup = serve(az.app())
    srv = aoa_server({"AOA_TYPE": "azure", "AZURE_ENDPOINT": azup.url, "AZURE_API_KEY": "az-key", "AZURE_API_VER": "v1"})
    az.reply_json(UPSTREAM_RESPONSE)
    r = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0).responses.create(model="gpt-4o-mini", input="hi")
    assert az.last.path == "/openai/v1/responses" and az.last.headers["api-key"] == "az-key" and r.id == "resp_up"
    srv = aoa_server({"AOA_TYPE": "azure", "AZURE_ENDPOINT": azup.url, "AZURE_API_KEY": "az-key"})
    r = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0).responses.create(model="gpt-4o-mini", input="dated")
    assert az.last.path == "/openai/deployments/gpt-4o-mini/chat/completions" and r.object == "response"


def test_relay_get_delete_and_input_items(serve, aoa_server):
    seen: list[tuple[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((request.method, request.path_qs))
        if request.match_info["id"] == "resp_gone":
            return web.json_response({"error": {"message": "Response with id 'resp_gone' not found.", "type": "invalid_request_error", "param": None, "code": None}}, status=404)
        if request.query.get("stream") == "true":
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            for e in UPSTREAM_EVENTS:
                await resp.write(e)
            return resp
        if request.method == "DELETE":
            return web.json_response({"id": "resp_up", "object": "response.deleted", "deleted": True})
        if request.path.endswith("/input_items"):
            return web.json_response({"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False})
        return web.json_response(UPSTREAM_RESPONSE)

    app = web.Application()
    app.router.add_route("*", "/v1/responses/{id}", handle)
    app.router.add_route("*", "/v1/responses/{id}/input_items", handle)
    up = serve(app)
    # The client's own key goes upstream, so the upstream keeps clients apart (with aoa's own key
    # aoa does: tests/test_responses_hostile.py).
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    assert c.responses.retrieve("resp_up").output_text == "hi"
    c.responses.delete("resp_up")
    assert c.responses.input_items.list("resp_up", limit=5).data == []
    with pytest.raises(openai.NotFoundError):
        c.responses.retrieve("resp_gone")
    assert seen[:3] == [("GET", "/v1/responses/resp_up"), ("DELETE", "/v1/responses/resp_up"), ("GET", "/v1/responses/resp_up/input_items?limit=5")]
    with httpx.stream("GET", srv.url + "/v1/responses/resp_up?stream=true") as r:
        assert r.read() == b"".join(UPSTREAM_EVENTS)


def test_namespace_tools_flatten_and_calls_name_their_namespace(mock):
    # The shape the Codex CLI sends: namespaced function tools and its own client_metadata.
    srv, c = mock()
    ns = {"type": "namespace", "name": "agents_v1", "description": "Sub-agents.", "tools": [
        {"type": "function", "name": "spawn", "description": "s", "strict": False, "parameters": {"type": "object", "properties": {"task": {"type": "string"}}}}]}
    body = {"model": "mock-gpt", "input": "go", "tools": [ns], "client_metadata": {"turn_id": "t1"}}
    r = httpx.post(srv.url + "/v1/responses", json=body).json()
    [fc] = r["output"]
    assert (fc["name"], fc["namespace"], json.loads(fc["arguments"])) == ("spawn", "agents_v1", {"task": "mock"})
    events = _events(srv, body)
    assert [d["item"].get("namespace") for e, d in events if e == "response.output_item.done"] == ["agents_v1"]
    dup = {**body, "tools": [ns, {**ns["tools"][0]}]}
    r = httpx.post(srv.url + "/v1/responses", json=dup)
    assert r.status_code == 400 and r.json()["error"]["param"] == "tools[1].name"


def test_upstream_reset_mid_stream_ends_with_error_and_failed(serve, aoa_server):
    fake = FakeOpenAI(key="sk-up")
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up", "OPENAI_RESPONSES": "translate"})
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "partial"}}]}
    fake.reply_reset_mid_stream([chunk])
    events = _events(srv, {"model": "gpt-4o-mini", "input": "hi"})
    names = [e for e, _ in events]
    assert names[:5] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.delta"]
    assert names[-2:] == ["error", "response.failed"]
    assert events[-1][1]["response"]["status"] == "failed" and "sk-up" not in json.dumps(events)
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    # Before the first event an upstream error is an ordinary HTTP error.
    fake.reply_json({"error": {"message": "bad key", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}, status=401)
    r = httpx.post(srv.url + "/v1/responses", json={"model": "gpt-4o-mini", "input": "hi", "stream": True})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(("chat", "client"), [
    (None, None), ("messages[3].content", "input"), ("max_completion_tokens", "max_output_tokens"),
    ("reasoning_effort", "reasoning.effort"), ("response_format.json_schema.schema", "text.format.schema"),
    ("verbosity", "text.verbosity"), ("tools[0].function.parameters", "tools[0].parameters"), ("temperature", "temperature"),
])
def test_provider_error_params_name_the_responses_field(chat, client):
    from providers import responses

    assert responses.client_param(chat) == client


def test_provider_refusal_names_the_responses_field(gem):
    fake, c = gem
    with pytest.raises(openai.BadRequestError) as exc:
        c.responses.create(model="gemini-2.5-flash", input="hi", text={"verbosity": "low"})
    assert exc.value.body["param"] == "text.verbosity" and fake.requests == []


def test_gemini_image_input_reuses_the_chat_path(gem):
    fake, c = gem
    png = "data:image/png;base64,iVBORw0KGgo="
    r = c.responses.create(model="gemini-2.5-flash", input=[{"role": "user", "content": [
        {"type": "input_text", "text": "what is this"}, {"type": "input_image", "image_url": png, "detail": "auto"}]}])
    parts = fake.last.json["contents"][0]["parts"]
    assert parts[0] == {"text": "what is this"} and parts[1]["inlineData"] == {"mimeType": "image/png", "data": "iVBORw0KGgo="}
    assert r.status == "completed"


async def test_async_stream(mock):
    srv, _ = mock()
    c = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    async with c.responses.stream(model="mock-gpt", input="async words") as s:
        kinds = [e.type async for e in s]
        final = await s.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed" and final.output_text == "async words"


def test_relay_to_an_upstream_without_responses_says_how_to_translate(serve, aoa_server):
    fake = FakeOpenAI(key="sk-up")  # its echo model has chat completions only
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": "openai", "OPENAI_ENDPOINT": up.url + "/v1", "OPENAI_API_KEY": "sk-up"})
    r = httpx.post(srv.url + "/v1/responses", json={"model": "gpt-4o-mini", "input": "hi"})
    assert r.status_code == 404 and "OPENAI_RESPONSES=translate" in r.json()["error"]["message"]


def test_responses_mode_variables():
    from gateway.config import load_config
    from providers.core import ConfigError

    assert load_config({"AOA_TYPE": "openai"}).settings.responses == "relay"
    assert load_config({"AOA_TYPE": "azure", "AZURE_ENDPOINT": "https://x.openai.azure.com"}).settings.responses == "translate"
    assert load_config({"AOA_TYPE": "azure", "AZURE_ENDPOINT": "https://x", "AZURE_API_VER": "v1"}).settings.responses == "relay"
    assert load_config({"AOA_TYPE": "azure", "AZURE_ENDPOINT": "https://x", "AZURE_RESPONSES": "Relay"}).settings.responses == "relay"
    with pytest.raises(ConfigError, match="OPENAI_RESPONSES"):
        load_config({"AOA_TYPE": "openai", "OPENAI_RESPONSES": "native"})
    with pytest.raises(ConfigError, match="AOA_RESPONSES_STORE_COUNT"):
        load_config({"AOA_TYPE": "mock", "AOA_RESPONSES_STORE_COUNT": "-1"})


def test_every_event_and_object_validates_against_the_sdk_types(mock, gem):
    """The SDK builds its models without validation; here each event and response object aoa
    sends must pass pydantic validation against the SDK's own types (required fields, literals)."""
    from pydantic import TypeAdapter

    from openai.types.responses import Response, ResponseItemList, ResponseStreamEvent

    events = TypeAdapter(ResponseStreamEvent)
    srv, c = mock()
    bodies = [
        {"model": "mock-gpt", "input": "plain text"},
        {"model": "mock-gpt", "input": "call", "tools": TOOLS},
        {"model": "mock-gpt", "input": "one two three", "max_output_tokens": 1},
    ]
    for body in bodies:
        for name, data in _events(srv, body):
            assert events.validate_python(data).type == name
        r = httpx.post(srv.url + "/v1/responses", json=body).json()
        Response.model_validate(r)
    history = [
        {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "c"}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "r"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "t"}]},
    ]
    for inp in ("plain", history):
        rid = httpx.post(srv.url + "/v1/responses", json={"model": "mock-gpt", "input": inp, "tools": TOOLS, "tool_choice": "none"}).json()["id"]
        listed = ResponseItemList.model_validate(httpx.get(f"{srv.url}/v1/responses/{rid}/input_items").json())
        assert len(listed.data) == (1 if inp == "plain" else len(history))
    fake, gc = gem
    parts = [{"text": "hmm", "thought": True}, {"text": "ok"}]
    fake.reply_sse([{"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}]}])
    seen = set()
    gem_url = str(gc.base_url).rstrip("/").removesuffix("/v1")
    for name, data in _events(gem_url, {"model": "gemini-2.5-flash", "input": "x", "include": ["reasoning.encrypted_content"]}):
        seen.add(events.validate_python(data).type)
    assert "response.reasoning_summary_text.delta" in seen and "response.output_text.delta" in seen


def test_stream_tool_delta_without_index_and_parallel_calls():
    from providers import responses

    skel = responses.skeleton(responses.decode_request(b'{"input":"x"}'), {}, "resp_1", 1, "m")
    st = responses.ResponseStream(skel, encrypted=False)

    def chunk(delta, finish=None):
        return json.dumps({"id": "c", "created": 1, "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).encode()

    frames = st.feed(chunk({"tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"x\":"}}]}))
    frames += st.feed(chunk({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}]}))
    frames += st.feed(chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}, "tool_calls"))
    frames += st.close(2)
    done = json.loads(frames[-1].split(b"data: ", 1)[1])["response"]
    assert [(o["call_id"], o["name"], o["arguments"]) for o in done["output"]] == [("a", "f", '{"x":1}'), ("b", "g", "{}")]
    assert done["status"] == "completed"


# --- reasoning that a vendor wants back (DeepSeek, Kimi) -------------------------------------


@pytest.mark.parametrize("kind", ["deepseek", "moonshot"])
@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_items_go_back_to_vendors_that_need_them(serve, aoa_server, kind, stream):
    from tests.fakes.cn_vendors import REASONING, FakeVendor

    fake = FakeVendor(kind)
    up = serve(fake.app())
    srv = aoa_server({"AOA_TYPE": kind, f"{kind.upper()}_ENDPOINT": up.url + fake.base, f"{kind.upper()}_API_KEY": "k"})
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    kw = {"model": "m-1", "tools": TOOLS, "include": ["reasoning.encrypted_content"]}
    if stream:
        with c.responses.stream(input="weather in Paris?", **kw) as s:
            r = s.get_final_response()
    else:
        r = c.responses.create(input="weather in Paris?", **kw)
    rs, fc = r.output
    assert rs.type == "reasoning" and rs.summary[0].text == REASONING and rs.encrypted_content
    out = {"type": "function_call_output", "call_id": fc.call_id, "output": "sunny"}
    # previous_response_id: the stored turn carries its reasoning
    assert c.responses.create(previous_response_id=r.id, input=[out], **kw).output_text == "tool said: sunny"
    assert fake.last.json["messages"][1]["reasoning_content"] == REASONING
    # resent items, summary and all (the Agents SDK), or only aoa's encrypted_content (Codex)
    user = {"role": "user", "content": "weather in Paris?"}
    opaque = {"type": "reasoning", "id": rs.id, "summary": [], "encrypted_content": rs.encrypted_content}
    for reasoning in (rs.model_dump(exclude_none=True), opaque):
        r2 = c.responses.create(input=[user, reasoning, fc.model_dump(exclude_none=True), out], store=False, **kw)
        assert r2.output_text == "tool said: sunny" and fake.last.json["messages"][1]["reasoning_content"] == REASONING
    # without it the vendor's own 400 reaches the client
    with pytest.raises(openai.BadRequestError, match="reasoning_content"):
        c.responses.create(input=[user, fc.model_dump(exclude_none=True), out], store=False, **kw)
