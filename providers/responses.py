"""OpenAI's Responses API (`POST /v1/responses`) on top of any chat upstream.

Ground truth: the official `openai` Python SDK, `openai/types/responses/*` (request params,
`Response`, output items, stream events) and its stream accumulator
`openai/lib/streaming/responses/_responses.py`.

Pure translation, like every provider module: a Responses request → an OpenAI chat request (which
the configured provider then translates as usual), a `chat.completion` → a `response` object, and
`ResponseStream`, which turns `chat.completion.chunk` payloads into Responses stream events with
sequence numbers. Ids and timestamps come in as arguments; the store and the wire are `aoa.py`'s.

Not supported (400 naming the parameter): built-in tools (web search, file search, computer use,
code interpreter, MCP, shell, custom tools…), `conversation`, `prompt` templates, `background`,
`context_management`, logprobs, file ids and file URLs as input. `reasoning` input items go back
to the upstream as the assistant turn's `reasoning_content` (used by the DeepSeek/Qwen-style
upstreams, ignored by the others); opaque reasoning state of other vendors (Gemini thought
signatures, Claude thinking signatures) travels inside tool-call ids, kept intact as `call_id`s.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from . import oai
from .core import Error

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
            msg.tool_calls = [*(msg.tool_calls or ()), call]
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


def decode_messages(raw: bytes) -> list[oai.Message]:
    return _messages_decoder.decode(raw)


def encode_messages(messages: list[oai.Message]) -> bytes:
    return _encode(messages)


# --- response -------------------------------------------------------------------------------


class Out(Struct, kw_only=True):
    """Response convention: every field is sent (null included) unless it is UNSET."""


class OutputText(Out, tag="output_text", tag_field="type"):
    text: str
    annotations: list[Any] = []
    logprobs: list[Any] = []


class Refusal(Out, tag="refusal", tag_field="type"):
    refusal: str


class SummaryText(Out, tag="summary_text", tag_field="type"):
    text: str


class MessageItem(Out, tag="message", tag_field="type"):
    id: str
    status: str
    content: list[OutputText | Refusal]
    role: str = "assistant"


class FunctionCallItem(Out, tag="function_call", tag_field="type"):
    id: str
    call_id: str
    name: str
    arguments: str
    status: str = "completed"
    namespace: str | UnsetType = UNSET


class ReasoningItem(Out, tag="reasoning", tag_field="type"):
    id: str
    summary: list[SummaryText]
    encrypted_content: str | UnsetType = UNSET
    status: str | UnsetType = UNSET


OutputItem = MessageItem | FunctionCallItem | ReasoningItem


class InputTokensDetails(Out):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(Out):
    reasoning_tokens: int = 0


class Usage(Out):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class IncompleteDetails(Out):
    reason: str


class ResponseError(Out):
    code: str
    message: str


class ReasoningConfig(Out):
    effort: str | None = None
    summary: str | None = None


class Response(Out):
    id: str
    created_at: int
    model: str
    output: list[OutputItem]
    status: str = "completed"
    object: str = "response"
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    metadata: dict[str, str] = {}
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    reasoning: ReasoningConfig = msgspec.field(default_factory=ReasoningConfig)
    store: bool = True
    temperature: float | None = None
    text: Raw = Raw(b'{"format":{"type":"text"}}')
    tool_choice: Raw = Raw(b'"auto"')
    tools: Raw = Raw(b"[]")
    top_p: float | None = None
    truncation: str = "disabled"
    usage: Usage | None = None
    user: str | None = None
    completed_at: int | None | UnsetType = UNSET


class Stored(Struct, kw_only=True):
    """One stored response: what GET returns, the conversation a follow-up continues, and the
    input items `input_items` lists."""

    response: Raw
    messages: Raw
    item_ids: list[str]
    items: list[Raw]


_stored_decoder = msgspec.json.Decoder(Stored)


def decode_stored(body: bytes) -> Stored:
    return _stored_decoder.decode(body)


class ItemList(Out):
    data: list[Raw]
    first_id: str | None
    last_id: str | None
    has_more: bool
    object: str = "list"


class DeletedResponse(Out):
    id: str
    deleted: bool = True
    object: str = "response.deleted"


_response_decoder = msgspec.json.Decoder(Response)


def skeleton(req: ResponsesRequest, fields: dict[str, Raw], rid: str, created: int, model: str) -> Response:
    """The response object before any output: the request's settings echoed, as OpenAI does."""
    r = Response(
        id=rid,
        created_at=created,
        model=model,
        output=[],
        status="in_progress",
        instructions=req.instructions,
        max_output_tokens=req.max_output_tokens,
        metadata=req.metadata or {},
        parallel_tool_calls=req.parallel_tool_calls is not False,
        previous_response_id=req.previous_response_id,
        reasoning=ReasoningConfig(
            effort=req.reasoning.effort if req.reasoning else None,
            summary=(req.reasoning.summary or req.reasoning.generate_summary) if req.reasoning else None,
        ),
        store=req.store is not False,
        temperature=req.temperature,
        top_p=req.top_p,
        truncation=req.truncation or "disabled",
        user=req.user,
    )
    # Echoed undecoded: they were validated above and are relayed as the client wrote them.
    for name in ("text", "tool_choice", "tools"):
        raw = fields.get(name)
        if raw is not None and bytes(raw) != b"null":
            setattr(r, name, raw)
    return r


# chat finish_reason → (status, incomplete_details.reason); others count as completed.
FINISH = {
    "stop": ("completed", None),
    "tool_calls": ("completed", None),
    "function_call": ("completed", None),
    "length": ("incomplete", "max_output_tokens"),
    "content_filter": ("incomplete", "content_filter"),
}


def _usage(u: oai.Usage | None) -> Usage | None:
    if u is None:
        return None
    cached = u.prompt_tokens_details.cached_tokens if u.prompt_tokens_details else 0
    thinking = u.completion_tokens_details.reasoning_tokens if u.completion_tokens_details else 0
    return Usage(
        input_tokens=u.prompt_tokens,
        input_tokens_details=InputTokensDetails(cached_tokens=cached or 0),
        output_tokens=u.completion_tokens,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=thinking or 0),
        total_tokens=u.total_tokens,
    )


def _finish(r: Response, finish: str | None, completed_at: int) -> None:
    status, reason = FINISH.get(finish or "stop", ("completed", None))
    r.status = status
    r.incomplete_details = IncompleteDetails(reason=reason) if reason else None
    r.completed_at = completed_at if status == "completed" else None


def carrier(text: str) -> str:
    return ENCRYPTED_PREFIX + base64.b64encode(text.encode()).decode()


class _ChatMessage(Struct, frozen=True):
    content: str | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[oai.ToolCall] | None = None


class _ChatChoice(Struct):
    message: _ChatMessage = _ChatMessage()
    finish_reason: str | None = None


class _ChatCompletion(Struct):
    choices: list[_ChatChoice] = []
    model: str = ""
    usage: oai.Usage | None = None


_completion_decoder = msgspec.json.Decoder(_ChatCompletion)


def _call_item(item_id: str, call_id: str, name: str, arguments: str, status: str, ns: dict[str, str]) -> FunctionCallItem:
    item = FunctionCallItem(id=item_id, call_id=call_id, name=name, arguments=arguments, status=status)
    if name in ns:
        item.namespace = ns[name]
    return item


def from_chat(skel: Response, body: bytes, *, encrypted: bool, completed_at: int, ns: dict[str, str] | None = None) -> Response:
    """A chat.completion body → the finished response."""
    try:
        done = _completion_decoder.decode(body)
    except msgspec.DecodeError:
        raise Error(502, "The upstream answer is not a chat completion.", code="upstream_invalid_json") from None
    if not done.choices:
        raise Error(502, "The upstream answer has no choices.", code="upstream_invalid_json")
    choice = done.choices[0]
    m = choice.message
    base = skel.id.removeprefix("resp_")
    r = msgspec.structs.replace(skel, output=[], model=done.model or skel.model)
    if m.reasoning_content:
        item = ReasoningItem(id=f"rs_{base}_0", summary=[SummaryText(text=m.reasoning_content)])
        if encrypted:
            item.encrypted_content = carrier(m.reasoning_content)
        r.output.append(item)
    status, _ = FINISH.get(choice.finish_reason or "stop", ("completed", None))
    parts: list[OutputText | Refusal] = []
    if m.content:
        parts.append(OutputText(text=m.content))
    if m.refusal:
        parts.append(Refusal(refusal=m.refusal))
    if parts:
        r.output.append(MessageItem(id=f"msg_{base}_{len(r.output)}", status=status, content=parts))
    for tc in m.tool_calls or ():
        r.output.append(_call_item(f"fc_{base}_{len(r.output)}", tc.id, tc.function.name, tc.function.arguments, "completed", ns or {}))
    r.usage = _usage(done.usage)
    _finish(r, choice.finish_reason, completed_at)
    return r


def output_messages(r: Response) -> list[oai.Message]:
    """The response's output as the assistant turn a follow-up request continues from."""
    msg = oai.AssistantMessage()
    texts = []
    for item in r.output:
        if isinstance(item, ReasoningItem):
            msg.reasoning_content = "\n\n".join(s.text for s in item.summary) or None
        elif isinstance(item, MessageItem):
            texts += [p.text if isinstance(p, OutputText) else p.refusal for p in item.content]
        else:
            call = oai.ToolCall(id=item.call_id, function=oai.FunctionCall(name=item.name, arguments=item.arguments))
            msg.tool_calls = [*(msg.tool_calls or ()), call]
    if texts:
        msg.content = "".join(texts)
    return [msg] if texts or msg.tool_calls or msg.reasoning_content else []


def encode(value: Any) -> bytes:
    return _encode(value)


def decode_response(body: bytes) -> Response:
    return _response_decoder.decode(body)


_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def valid_id(rid: str) -> bool:
    """A response id that can be a store key and one URL path segment upstream."""
    return _ID.fullmatch(rid) is not None


def page_params(query: Mapping[str, str]) -> tuple[int, str, str | None]:
    """`limit` (1–100, default 20), `order` (asc/desc, default desc), `after` of a list call."""
    raw = query.get("limit", "20")
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise Error(400, "`limit` must be a whole number from 1 to 100.", param="limit", code="invalid_value")
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise Error(400, "`order` must be asc or desc.", param="order", code="invalid_value")
    return limit, order, query.get("after")


def item_list(items: list[Raw], limit: int, order: str, after: str | None, ids: list[str]) -> bytes:
    """`GET /v1/responses/{id}/input_items`: a page of the stored input items."""
    pairs = list(zip(ids, items))
    if order == "desc":
        pairs.reverse()
    if after is not None:
        for k, (i, _) in enumerate(pairs):
            if i == after:
                pairs = pairs[k + 1:]
                break
        else:
            pairs = []
    page = pairs[:limit]
    return _encode(ItemList(
        data=[raw for _, raw in page],
        first_id=page[0][0] if page else None,
        last_id=page[-1][0] if page else None,
        has_more=len(pairs) > limit,
    ))


def stored_items(req: ResponsesRequest, fields: dict[str, Raw], rid: str) -> tuple[list[str], list[Raw]]:
    """The request's input items as `input_items` lists them: each with an id."""
    base = rid.removeprefix("resp_")
    items = input_items(req)
    raws: list[Raw] = []
    ids: list[str] = []
    raw_input = fields.get("input")
    originals = _raw_items.decode(raw_input) if raw_input is not None and not isinstance(req.input, str) else None
    for k, item in enumerate(items):
        iid = item.id or f"{'msg' if item.type == 'message' else 'item'}_{base}_in{k}"
        ids.append(iid)
        if originals is None:
            doc: dict[str, Any] = {"id": iid, "type": "message", "role": "user", "status": "completed",
                                   "content": [{"type": "input_text", "text": item.content}]}
        else:
            doc = originals[k]
            doc.setdefault("type", "message")
            doc["id"] = iid
            if doc["type"] == "message" and isinstance(doc.get("content"), str):
                kind = "output_text" if doc.get("role") == "assistant" else "input_text"
                doc["content"] = [{"type": kind, "text": doc["content"]}]
        raws.append(Raw(_encode(doc)))
    return ids, raws


_raw_items = msgspec.json.Decoder(list[dict[str, Any]])


# --- streaming ------------------------------------------------------------------------------


class _DeltaIn(Struct, frozen=True):
    content: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    tool_calls: list[oai.ToolCallDelta] | None = None


class _ChoiceIn(Struct):
    index: int = 0
    delta: _DeltaIn = _DeltaIn()
    finish_reason: str | None = None


class _ChunkIn(Struct):
    choices: list[_ChoiceIn] = []
    model: str = ""
    usage: oai.Usage | None = None


_chunk_decoder = msgspec.json.Decoder(_ChunkIn)


def frame(kind: str, data: bytes) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


class ResponseStream:
    """chat.completion.chunk payloads → framed Responses SSE events, in the order the SDKs'
    accumulators require: an item is `added` before its deltas and `done` before the response
    completes; every event carries the next `sequence_number`."""

    def __init__(self, skel: Response, *, encrypted: bool, ns: dict[str, str] | None = None) -> None:
        self.response = skel
        self.ns = ns or {}
        self.base = skel.id.removeprefix("resp_")
        self.encrypted = encrypted
        self.seq = 0
        self.started = False
        self.open: MessageItem | ReasoningItem | None = None
        self.text: list[str] = []
        self.calls: dict[int, tuple[FunctionCallItem, list[str], int]] = {}
        self.finish: str | None = None
        self.usage: oai.Usage | None = None
        self.model = ""

    def _event(self, kind: str, **fields: Any) -> bytes:
        fields["type"] = kind
        fields["sequence_number"] = self.seq
        self.seq += 1
        return frame(kind, _encode(fields))

    def start(self) -> list[bytes]:
        self.started = True
        return [
            self._event("response.created", response=self.response),
            self._event("response.in_progress", response=self.response),
        ]

    def feed(self, payload: bytes) -> list[bytes]:
        out = [] if self.started else self.start()
        try:
            chunk = _chunk_decoder.decode(payload)
        except msgspec.DecodeError:
            raise Error(502, "The upstream sent a chunk that is not a chat.completion.chunk.", code="upstream_invalid_json") from None
        self.model = self.model or chunk.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        for c in chunk.choices:
            if c.index != 0:
                continue
            d = c.delta
            if d.reasoning_content:
                out += self._reasoning(d.reasoning_content)
            if d.content:
                out += self._text(d.content)
            if d.refusal:
                out += self._text(d.refusal)
            for tc in d.tool_calls or ():
                out += self._tool(tc)
            if c.finish_reason:
                self.finish = c.finish_reason
        return out

    def _index(self) -> int:
        return len(self.response.output)

    def _reasoning(self, delta: str) -> list[bytes]:
        out: list[bytes] = []
        if not isinstance(self.open, ReasoningItem):
            out += self._close()
            item = ReasoningItem(id=f"rs_{self.base}_{self._index()}", summary=[])
            self.open, self.text = item, []
            self.response.output.append(item)
            out.append(self._event("response.output_item.added", output_index=self._index() - 1, item=item))
            out.append(self._event("response.reasoning_summary_part.added", item_id=item.id, output_index=self._index() - 1,
                                   summary_index=0, part=SummaryText(text="")))
        self.text.append(delta)
        out.append(self._event("response.reasoning_summary_text.delta", item_id=self.open.id, output_index=self._index() - 1,
                               summary_index=0, delta=delta))
        return out

    def _text(self, delta: str) -> list[bytes]:
        out: list[bytes] = []
        if not isinstance(self.open, MessageItem):
            out += self._close()
            item = MessageItem(id=f"msg_{self.base}_{self._index()}", status="in_progress", content=[])
            self.open, self.text = item, []
            self.response.output.append(item)
            out.append(self._event("response.output_item.added", output_index=self._index() - 1, item=item))
            out.append(self._event("response.content_part.added", item_id=item.id, output_index=self._index() - 1,
                                   content_index=0, part=OutputText(text="")))
        self.text.append(delta)
        out.append(self._event("response.output_text.delta", item_id=self.open.id, output_index=self._index() - 1,
                               content_index=0, delta=delta, logprobs=[]))
        return out

    def _tool(self, tc: oai.ToolCallDelta) -> list[bytes]:
        out: list[bytes] = []
        fn = tc.function if isinstance(tc.function, dict) else {}
        slot = self.calls.get(tc.index)
        if slot is None:
            out += self._close()
            call_id = tc.id if isinstance(tc.id, str) else ""
            item = _call_item(f"fc_{self.base}_{self._index()}", call_id, fn.get("name") or "", "", "in_progress", self.ns)
            slot = (item, [], self._index())
            self.calls[tc.index] = slot
            self.response.output.append(item)
            out.append(self._event("response.output_item.added", output_index=slot[2], item=item))
        args = fn.get("arguments")
        if args:
            slot[1].append(args)
            out.append(self._event("response.function_call_arguments.delta", item_id=slot[0].id, output_index=slot[2], delta=args))
        return out

    def _close(self) -> list[bytes]:
        """Finish the open reasoning or message item."""
        item, text = self.open, "".join(self.text)
        self.open = None
        if item is None:
            return []
        index = self.response.output.index(item)
        if isinstance(item, ReasoningItem):
            part = SummaryText(text=text)
            item.summary = [part]
            if self.encrypted:
                item.encrypted_content = carrier(text)
            return [
                self._event("response.reasoning_summary_text.done", item_id=item.id, output_index=index, summary_index=0, text=text),
                self._event("response.reasoning_summary_part.done", item_id=item.id, output_index=index, summary_index=0, part=part),
                self._event("response.output_item.done", output_index=index, item=item),
            ]
        status, _ = FINISH.get(self.finish or "stop", ("completed", None))
        part = OutputText(text=text)
        item.content = [part]
        item.status = status
        return [
            self._event("response.output_text.done", item_id=item.id, output_index=index, content_index=0, text=text, logprobs=[]),
            self._event("response.content_part.done", item_id=item.id, output_index=index, content_index=0, part=part),
            self._event("response.output_item.done", output_index=index, item=item),
        ]

    def close(self, completed_at: int) -> list[bytes]:
        """At the end of the chat stream: finish every item, then the response."""
        out = [] if self.started else self.start()
        out += self._close()
        for item, args, index in self.calls.values():
            item.arguments = "".join(args)
            item.status = "completed"
            out.append(self._event("response.function_call_arguments.done", item_id=item.id, output_index=index,
                                   name=item.name, arguments=item.arguments))
            out.append(self._event("response.output_item.done", output_index=index, item=item))
        r = self.response
        r.model = self.model or r.model
        r.usage = _usage(self.usage)
        _finish(r, self.finish, completed_at)
        kind = "response.completed" if r.status == "completed" else "response.incomplete"
        out.append(self._event(kind, response=r))
        return out

    def fail(self, err: Error) -> list[bytes]:
        """The chat stream broke: an `error` event, then `response.failed`."""
        out = [] if self.started else self.start()
        out.append(self._event("error", code=err.code or err.type, message=err.message, param=err.param))
        r = self.response
        r.status = "failed"
        r.error = ResponseError(code="server_error" if err.status >= 500 else (err.code or "invalid_request"), message=err.message)
        out.append(self._event("response.failed", response=r))
        return out


class RelayEvents:
    """Relay mode: the upstream's own Responses events, each re-framed with its `event:` name."""

    def __init__(self, settings: Any = None, call: Any = None) -> None:
        self.relayed = False

    def feed(self, event: str, data: bytes) -> list[bytes]:
        if not data or data == b"[DONE]":
            return []
        self.relayed = True
        return [frame(event, data) if event else b"data: " + data + b"\n\n"]

    def close(self) -> list[bytes]:
        if not self.relayed:
            raise Error(502, "The upstream closed the stream without sending anything.", code="upstream_empty_stream")
        return []
