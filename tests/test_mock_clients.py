"""The mock as a client developer's first upstream: structured output parses, agents' output
tools are called, any model name works and says so, token-id embeddings work, and the variables
it cannot use are refused."""

from __future__ import annotations

import json
from enum import Enum
from typing import Literal, Optional

import openai
import pytest
from pydantic import BaseModel, Field

import aoa
from providers import core

FAST = {"AOA_TYPE": "mock", "MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"}


@pytest.fixture
def client(aoa_server):
    srv = aoa_server(FAST)
    return openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)


class Colour(str, Enum):
    red = "red"
    blue = "blue"


class Address(BaseModel):
    street: str
    number: int = Field(ge=10, le=20)


class Person(BaseModel):
    name: str
    age: int = Field(gt=17)
    score: float = Field(le=1.0)
    colour: Colour
    kind: Literal["human"]
    nickname: Optional[str]
    tags: list[str] = Field(min_length=2)
    home: Address
    others: list[Address]
    born: str = Field(json_schema_extra={"format": "date"})


def test_parse_with_a_pydantic_model(client):
    r = client.chat.completions.parse(model="any-name", messages=[{"role": "user", "content": "Ada"}], response_format=Person)
    person = r.choices[0].message.parsed
    assert isinstance(person, Person)
    assert person.name == "Ada" and person.age >= 18 and person.score <= 1 and person.kind == "human"
    assert 10 <= person.home.number <= 20 and len(person.tags) >= 2 and person.others[0].street


def test_json_schema_stream_conforms_too(client):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}, "n": {"type": "integer", "minimum": 5}},
              "required": ["answer", "n"], "additionalProperties": False}
    chunks = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True,
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema, "strict": True}},
    )
    assert json.loads("".join(c.choices[0].delta.content or "" for c in chunks if c.choices)) == {"answer": "hi", "n": 5}


def test_recursive_schema_terminates(client):
    schema = {"$defs": {"Node": {"type": "object", "properties": {"v": {"type": "string"}, "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}}}},
              "$ref": "#/$defs/Node"}
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                       response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": schema}})
    assert json.loads(r.choices[0].message.content)["v"] == "x"


FINAL = {"type": "function", "function": {"name": "final_result", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "temp": {"type": "number"}}, "required": ["city", "temp"]}}}
LOOKUP = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}


def test_agent_flow_work_tool_then_output_tool(client):
    """pydantic-ai's loop: a work tool on the user turn, the output tool after its result."""
    msgs = [{"role": "user", "content": "weather in Paris"}]
    r = client.chat.completions.create(model="m", messages=msgs, tools=[LOOKUP, FINAL])
    first = r.choices[0].message.tool_calls[0]
    assert first.function.name == "lookup" and json.loads(first.function.arguments) == {"q": "mock"}
    msgs += [{"role": "assistant", "content": None, "tool_calls": [first.model_dump()]},
             {"role": "tool", "tool_call_id": first.id, "content": "sunny"}]
    r = client.chat.completions.create(model="m", messages=msgs, tools=[LOOKUP, FINAL], tool_choice="required")
    final = r.choices[0].message.tool_calls[0]
    assert final.function.name == "final_result"
    assert set(json.loads(final.function.arguments)) == {"city", "temp"}


def test_only_an_output_tool_is_called_at_once(client):
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], tools=[FINAL])
    assert r.choices[0].message.tool_calls[0].function.name == "final_result"


def test_after_a_tool_result_without_output_tool_it_answers(client):
    msgs = [{"role": "user", "content": "q"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"}]
    r = client.chat.completions.create(model="m", messages=msgs, tools=[LOOKUP])
    assert r.choices[0].message.content == "The tool answered: 42" and not r.choices[0].message.tool_calls


def test_models_say_any_name_works(client):
    listed = client.models.list().data
    assert [m.id for m in listed] == ["mock-gpt"]
    assert all("any model name" in m.owned_by for m in listed)
    got = client.models.retrieve("gpt-4o-whatever")
    assert got.id == "gpt-4o-whatever" and "any model name" in got.owned_by


def test_token_id_embeddings(client):
    a = client.embeddings.create(model="e", input=[[3983, 2246], [1, 2, 3]], encoding_format="float")
    b = client.embeddings.create(model="e", input=[3983, 2246], encoding_format="float")
    assert len(a.data) == 2 and a.data[0].embedding == b.data[0].embedding != a.data[1].embedding
    assert a.usage.prompt_tokens == 5


@pytest.mark.parametrize("var", ["MOCK_ENDPOINT", "MOCK_API_KEY", "MOCK_HTTP_PROXY", "MOCK_SOCKS_PROXY"])
def test_variables_the_mock_cannot_use_are_refused(var):
    with pytest.raises(core.ConfigError, match=var):
        aoa.load_config({"AOA_TYPE": "mock", var: "http://x:1"})


def test_token_ids_to_a_text_upstream_say_how_to_fix_the_client():
    from providers import oai

    with pytest.raises(core.Error) as info:
        oai.embedding_inputs(oai.decode_embedding(b'{"model": "m", "input": [[3983, 2246]]}'))
    assert info.value.status == 400 and info.value.param == "input"
    assert "check_embedding_ctx_length=False" in info.value.message
