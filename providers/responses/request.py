"""Responses API requests: the wire types (`response_create_params`), the parameter policy, and
the translation of a request into the OpenAI chat request a provider then translates."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from msgspec import Struct

from .. import oai
from ..core import Error

# --- request ------------------------------------------------------------------------------


class Base(Struct, omit_defaults=True, kw_only=True):
    pass


class ContentIn(Base):
    """One content part of an input message; which fields are set depends on `type`."""

    type: str
    text: str | None = None  # input_text, output_text
    refusal: str | None = None  # refusal (assistant history)
    image_url: str | None = None  # input_image
    detail: str | None = None
    file_id: str | None = None  # input_image, input_file
    file_data: str | None = None  # input_file
    file_url: str | None = None
    filename: str | None = None


class SummaryIn(Base):
    text: str = ""
    type: str = "summary_text"


class ItemIn(Base):
    """One input item. Messages may omit `type` (`EasyInputMessage`), so items are one Struct
    told apart by `type` and `role` rather than a tagged union."""

    type: str = "message"
    id: str | None = None
    role: str | None = None  # message
    content: str | list[ContentIn] | None = None  # message; reasoning (reasoning_text parts)
    call_id: str | None = None  # function_call, function_call_output
    name: str | None = None  # function_call
    arguments: str | None = None  # function_call
    output: str | list[ContentIn] | None = None  # function_call_output
    summary: list[SummaryIn] | None = None  # reasoning
    encrypted_content: str | None = None  # reasoning
    status: str | None = None


class ToolIn(Base):
    type: str
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    tools: list[ToolIn] | None = None  # type "namespace": a named group of function tools


class ToolChoiceIn(Base):
    type: str
    name: str | None = None


class FormatIn(Base):
    type: str
    name: str | None = None
    description: str | None = None
    schema_: dict[str, Any] | None = msgspec.field(default=None, name="schema")
    strict: bool | None = None


class TextIn(Base):
    format: FormatIn | None = None
    verbosity: str | None = None


class ReasoningIn(Base):
    effort: str | None = None
    summary: str | None = None
    generate_summary: str | None = None


class ResponsesRequest(Base):
    """`POST /v1/responses` — every field of `response_create_params`."""

    model: str = ""
    input: str | list[ItemIn] | None = None
    instructions: str | None = None
    tools: list[ToolIn] | None = None
    tool_choice: str | ToolChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_logprobs: int | None = None
    text: TextIn | None = None
    reasoning: ReasoningIn | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: Any = None
    service_tier: str | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    include: list[str] | None = None
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    truncation: str | None = None
    background: bool | None = None
    conversation: Any = None
    prompt: Any = None
    context_management: Any = None
    moderation: Any = None
    image: Any = None
    access_programs: Any = None
    background_options: Any = None
    client_metadata: Any = None  # sent by the Codex CLI: its own bookkeeping


# Parameter policy (a test checks the three sets cover every request field).
MAPPED = frozenset({
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls",
    "max_output_tokens", "temperature", "top_p", "text", "reasoning", "user", "safety_identifier",
    "prompt_cache_key", "prompt_cache_retention", "prompt_cache_options", "service_tier",
})
# Served by aoa itself (store, chaining, streaming) or meaningless without built-in tools.
LOCAL = frozenset({
    "metadata", "store", "previous_response_id", "include", "stream", "stream_options",
    "truncation", "max_tool_calls", "client_metadata",
})
# Refused with a 400 when set to anything but their neutral value.
UNSUPPORTED = frozenset({
    "top_logprobs", "background", "conversation", "prompt", "context_management", "moderation",
    "image", "access_programs", "background_options",
})
NEUTRAL: dict[str, Any] = {"top_logprobs": 0, "background": False}
INCLUDE_UNSUPPORTED = frozenset({"message.output_text.logprobs"})
ENCRYPTED = "reasoning.encrypted_content"
# aoa's own opaque reasoning carrier: the reasoning text, so a later turn can send it back.
ENCRYPTED_PREFIX = "aoa1:"

ROLES = frozenset({"user", "assistant", "system", "developer"})
TOOL_CHOICE = frozenset({"none", "auto", "required"})

_request_decoder = msgspec.json.Decoder(ResponsesRequest)
_items_decoder = msgspec.json.Decoder(list[ItemIn])
_messages_decoder = msgspec.json.Decoder(list[oai.Message])
_encode = oai.encode


def decode_request(body: bytes) -> ResponsesRequest:
    try:
        req = _request_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise oai.validation_error(exc) from None
    except RecursionError:
        raise Error(400, "Request body is nested too deeply.", code="invalid_json") from None
    except UnicodeDecodeError:  # msgspec checks UTF-8 only where it decodes a string
        raise Error(400, "Request body is not valid UTF-8.", code="invalid_json") from None
    for name in UNSUPPORTED:
        value = getattr(req, name)
        if value is not None and value != NEUTRAL.get(name):
            raise Error(400, f"`{name}` is not supported by this upstream.", param=name, code="unsupported_parameter")
    for value in req.include or ():
        if value in INCLUDE_UNSUPPORTED:
            raise Error(400, f"`include` value {value!r} is not supported by this upstream.", param="include", code="unsupported_value")
    if req.input is None:
        raise Error(400, "Missing required parameter: `input`.", param="input", code="missing_required_parameter")
    return req


def input_items(req: ResponsesRequest) -> list[ItemIn]:
    """The request's input as items (a string is one user message)."""
    if isinstance(req.input, str):
        return [ItemIn(type="message", role="user", content=req.input)]
    return list(req.input or ())


# --- request → chat -------------------------------------------------------------------------


def _part(part: ContentIn, param: str, role: str) -> oai.ContentPart:
    kind = part.type
    if kind in ("input_text", "output_text", "text"):
        return oai.TextPart(text=part.text or "")
    if kind == "refusal" and role == "assistant":
        return oai.TextPart(text=part.refusal or "")
    if kind == "input_image" and role != "assistant":
        if part.image_url:
            return oai.ImagePart(image_url=oai.ImageURL(url=part.image_url, detail=part.detail))
        raise Error(400, "Image file ids cannot be resolved by this upstream; send an image URL or a data: URL.", param=f"{param}.file_id", code="unsupported_value")
    if kind == "input_file" and role != "assistant":
        if part.file_data:
            return oai.FilePart(file=oai.FileData(file_data=part.file_data, filename=part.filename))
        which = "file_url" if part.file_url else "file_id"
        raise Error(400, f"Input files by `{which}` are not supported by this upstream; send `file_data`.", param=f"{param}.{which}", code="unsupported_value")
    raise Error(400, f"Content part type {kind!r} is not supported here.", param=f"{param}.type", code="unsupported_value")


def _content(content: str | list[ContentIn] | None, param: str, role: str) -> str | list[oai.ContentPart]:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = [_part(p, f"{param}[{j}]", role) for j, p in enumerate(content)]
    if all(isinstance(p, oai.TextPart) for p in parts):
        return "".join(p.text for p in parts)  # type: ignore[union-attr]
    return parts


def reasoning_text(item: ItemIn) -> str | None:
    """What a reasoning item carried: its summary, its reasoning text, or aoa's own carrier."""
    texts = [s.text for s in item.summary or () if s.text]
    if not texts and isinstance(item.content, list):
        texts = [p.text for p in item.content if p.text]
    if texts:
        return "\n\n".join(texts)
    enc = item.encrypted_content
    if enc and enc.startswith(ENCRYPTED_PREFIX):
        try:
            return base64.b64decode(enc[len(ENCRYPTED_PREFIX):], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
    return None  # another vendor's opaque state: nothing this upstream can use


def to_messages(items: list[ItemIn]) -> list[oai.Message]:
    """Input items → chat messages. Consecutive assistant output (reasoning, text, function
    calls) folds into one assistant turn, as chat upstreams expect."""
    out: list[oai.Message] = []
    reasoning: list[str] = []
    turn: oai.AssistantMessage | None = None  # the assistant turn still open for more output

    def assistant() -> oai.AssistantMessage:
        nonlocal turn
        if turn is None:
            turn = oai.AssistantMessage()
            out.append(turn)
        if reasoning:
            turn.reasoning_content = "\n\n".join(reasoning)
            reasoning.clear()
        return turn

    for i, item in enumerate(items):
        param = f"input[{i}]"
        kind = item.type
        if kind == "message":
            role = item.role or ""
            if role not in ROLES:
                raise Error(400, f"Invalid role {role!r}; use user, assistant, system or developer.", param=f"{param}.role", code="invalid_value")
            content = _content(item.content, f"{param}.content", role)
            if role == "assistant":
                msg = assistant()
                if msg.content or msg.tool_calls:
                    turn = None
                    msg = assistant()
                msg.content = content  # type: ignore[assignment]
                continue
            turn = None
            if role == "user":
                out.append(oai.UserMessage(content=content))
            elif role == "system":
                out.append(oai.SystemMessage(content=content))
            else:
                out.append(oai.DeveloperMessage(content=content))
        elif kind == "function_call":
            if not item.call_id or item.name is None:
                raise Error(400, "A function_call item needs `call_id` and `name`.", param=param, code="missing_required_parameter")
            msg = assistant()
            call = oai.ToolCall(id=item.call_id, function=oai.FunctionCall(name=item.name, arguments=item.arguments or ""))
            if msg.tool_calls is None:
                msg.tool_calls = []
            msg.tool_calls.append(call)  # in place: a copy per call would be quadratic in the calls
        elif kind == "function_call_output":
            if not item.call_id:
                raise Error(400, "A function_call_output item needs `call_id`.", param=f"{param}.call_id", code="missing_required_parameter")
            turn = None
            output = item.output
            text = output if isinstance(output, str) else _content(output, f"{param}.output", "tool")
            out.append(oai.ToolMessage(content=text if text is not None else "", tool_call_id=item.call_id))
        elif kind == "reasoning":
            text = reasoning_text(item)
            if text:
                if turn is not None and (turn.content or turn.tool_calls):
                    turn = None
                reasoning.append(text)
        elif kind == "item_reference":
            raise Error(400, "Item references need the server-side item store, which this upstream lacks; send the items themselves.", param=f"{param}.type", code="unsupported_value")
        else:
            raise Error(400, f"Input item type {kind!r} belongs to a built-in tool this upstream does not have.", param=f"{param}.type", code="unsupported_value")
    return out


def _function(t: ToolIn, param: str) -> oai.Tool:
    if t.type != "function":
        raise Error(400, f"The built-in tool {t.type!r} has no equivalent on this upstream; only function tools are supported.", param=f"{param}.type", code="unsupported_value")
    if not t.name:
        raise Error(400, "A function tool needs a `name`.", param=f"{param}.name", code="missing_required_parameter")
    return oai.Tool(function=oai.FunctionDef(name=t.name, description=t.description, parameters=t.parameters, strict=t.strict))


def _tools(req: ResponsesRequest) -> list[oai.Tool] | None:
    """Function tools, with the functions of `namespace` tools flattened in (chat has no
    namespaces; `namespaces` puts the namespace back on the calls)."""
    if req.tools is None:
        return None
    tools: list[oai.Tool] = []
    seen: set[str] = set()
    for i, t in enumerate(req.tools):
        if t.type == "namespace":
            group = [(_function(f, f"tools[{i}].tools[{j}]"), f"tools[{i}].tools[{j}].name") for j, f in enumerate(t.tools or ())]
        else:
            group = [(_function(t, f"tools[{i}]"), f"tools[{i}].name")]
        for tool, param in group:
            name = tool.function.name  # type: ignore[union-attr]
            if name in seen:
                raise Error(400, f"Two tools are named {name!r}; names must be unique across namespaces here.", param=param, code="invalid_value")
            seen.add(name)
            tools.append(tool)
    return tools


def namespaces(req: ResponsesRequest) -> dict[str, str]:
    """Function name → its namespace, for the function_call items of the answer."""
    return {f.name: t.name for t in req.tools or () if t.type == "namespace" and t.name for f in t.tools or () if f.name}


def _tool_choice(choice: str | ToolChoiceIn | None) -> str | oai.NamedToolChoice | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice not in TOOL_CHOICE:
            raise Error(400, f"Invalid tool_choice {choice!r}; use none, auto, required or a function.", param="tool_choice", code="invalid_value")
        return choice
    if choice.type == "function" and choice.name:
        return oai.NamedToolChoice(function=oai.ToolChoiceFunction(name=choice.name))
    raise Error(400, f"tool_choice of type {choice.type!r} is not supported by this upstream.", param="tool_choice", code="unsupported_value")


def _format(text: TextIn | None) -> oai.ResponseFormat | None:
    fmt = text.format if text else None
    if fmt is None:
        return None
    if fmt.type == "text":
        return oai.ResponseFormatText()
    if fmt.type == "json_object":
        return oai.ResponseFormatJSONObject()
    if fmt.type == "json_schema":
        if not fmt.name:
            raise Error(400, "text.format of type json_schema needs a `name`.", param="text.format.name", code="missing_required_parameter")
        schema = oai.JSONSchema(name=fmt.name, description=fmt.description, schema_=fmt.schema_, strict=fmt.strict)
        return oai.ResponseFormatJSONSchema(json_schema=schema)
    raise Error(400, f"text.format type {fmt.type!r} is not supported.", param="text.format.type", code="unsupported_value")


def to_chat(req: ResponsesRequest, conversation: list[oai.Message], model: str) -> oai.ChatCompletionRequest:
    """The chat request a provider translates. `conversation`: the turns of
    `previous_response_id` (its instructions excluded, as OpenAI does) and this input's."""
    messages: list[oai.Message] = []
    if req.instructions:
        messages.append(oai.SystemMessage(content=req.instructions))
    messages += conversation
    if not conversation:
        raise Error(400, "`input` must not be empty.", param="input", code="invalid_value")
    return oai.ChatCompletionRequest(
        messages=messages,
        model=model,
        tools=_tools(req),
        tool_choice=_tool_choice(req.tool_choice),
        parallel_tool_calls=req.parallel_tool_calls,
        max_completion_tokens=req.max_output_tokens,
        temperature=req.temperature,
        top_p=req.top_p,
        response_format=_format(req.text),
        verbosity=req.text.verbosity if req.text else None,
        reasoning_effort=req.reasoning.effort if req.reasoning else None,
        user=req.user,
        safety_identifier=req.safety_identifier,
        prompt_cache_key=req.prompt_cache_key,
        prompt_cache_retention=req.prompt_cache_retention,
        prompt_cache_options=req.prompt_cache_options,
        service_tier=req.service_tier,
        stream=True if req.stream else None,
        stream_options=oai.StreamOptions(include_usage=True) if req.stream else None,
    )


# A provider names chat parameters in its errors; the client sent these Responses ones.
CHAT_PARAM = {
    "messages": "input",
    "max_completion_tokens": "max_output_tokens",
    "max_tokens": "max_output_tokens",
    "reasoning_effort": "reasoning.effort",
    "response_format": "text.format",
    "verbosity": "text.verbosity",
}


def client_param(param: str | None) -> str | None:
    """A chat parameter path in a provider's error → the Responses parameter it came from.
    Message and tool indexes are not translated back (instructions and history shift them)."""
    if not param:
        return param
    head = param.split(".", 1)[0].split("[", 1)[0]
    target = CHAT_PARAM.get(head)
    if target is None:
        return param.replace(".function.", ".", 1) if head == "tools" else param
    if head == "messages":
        return target
    return target + param[len(head):].replace(".json_schema", "", 1)


def decode_messages(raw: bytes) -> list[oai.Message]:
    return _messages_decoder.decode(raw)


def encode_messages(messages: list[oai.Message]) -> bytes:
    return _encode(messages)
