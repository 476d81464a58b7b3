"""Responses API objects: the `response` object and its output items, built from a chat
completion; what the store keeps; the `input_items` list."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from .. import oai
from ..core import Error
from .request import ENCRYPTED_PREFIX, ResponsesRequest, _encode, input_items

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


class _TokensIn(Struct, frozen=True):
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None


class UsageIn(Struct, frozen=True):
    """Chat usage as upstreams send it: vLLM, Ollama and other OpenAI-compatible servers send
    `null` for the details (and sometimes counts) OpenAI always fills."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: _TokensIn | None = None
    completion_tokens_details: _TokensIn | None = None


def _usage(u: UsageIn | None) -> Usage | None:
    if u is None:
        return None
    cached = u.prompt_tokens_details.cached_tokens if u.prompt_tokens_details else 0
    thinking = u.completion_tokens_details.reasoning_tokens if u.completion_tokens_details else 0
    return Usage(
        input_tokens=u.prompt_tokens or 0,
        input_tokens_details=InputTokensDetails(cached_tokens=cached or 0),
        output_tokens=u.completion_tokens or 0,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=thinking or 0),
        total_tokens=u.total_tokens or 0,
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
    message: _ChatMessage | None = None
    finish_reason: str | None = None


class _ChatCompletion(Struct):
    choices: list[_ChatChoice] | None = None
    model: str | None = None
    usage: UsageIn | None = None


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
    m = choice.message or _ChatMessage()
    base = skel.id.removeprefix("resp_")
    r = skel  # each request builds its own skeleton: finish it in place
    r.model = done.model or skel.model
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
            if msg.tool_calls is None:
                msg.tool_calls = []
            msg.tool_calls.append(call)  # in place: a copy per call would be quadratic in the calls
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
        iid = item.id or f"{_ID_PREFIX.get(item.type, 'item')}_{base}_in{k}"
        ids.append(iid)
        if originals is None:
            doc: dict[str, Any] = {"id": iid, "type": "message", "role": "user", "status": "completed",
                                   "content": [{"type": "input_text", "text": item.content}]}
        else:
            doc = _listed(originals[k], iid)
        raws.append(Raw(_encode(doc)))
    return ids, raws


_raw_items = msgspec.json.Decoder(list[dict[str, Any]])
# Item prefixes OpenAI uses; listed items need an id even when the client sent none.
_ID_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}


def _listed(doc: dict[str, Any], iid: str) -> dict[str, Any]:
    """An input item as the client sent it, completed to the shape `input_items` lists:
    easy messages get `type` and content parts, every item an `id` and a `status`."""
    doc.setdefault("type", "message")
    doc["id"] = iid
    doc.setdefault("status", "completed")
    if doc["type"] == "message":
        assistant = doc.get("role") == "assistant"
        content = doc.get("content")
        if isinstance(content, str):
            content = doc["content"] = [{"type": "output_text" if assistant else "input_text", "text": content}]
        elif content is None:  # translated as an empty turn; listed items always have content
            doc["content"] = []
        if assistant and isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "output_text":
                    part.setdefault("annotations", [])
    return doc
