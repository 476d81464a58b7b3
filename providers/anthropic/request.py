"""OpenAI chat request → Anthropic Messages request.

Wire format: https://platform.claude.com/docs/en/api/messages and the official SDK's
`anthropic/types/message_create_params.py` (names below follow its `*Param` types).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec
from msgspec import Struct

from .. import oai
from ..core import Call, Error, top_level
from . import ids, tables
from .wire import (
    Base64Source,
    DocumentBlock,
    ImageBlock,
    MessageCreateParams,
    MessageParam,
    Metadata,
    OutputConfig,
    PlainTextSource,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolChoice,
    ToolParam,
    ToolResultBlock,
    ToolUseBlock,
    URLSource,
)


class Extras(Struct):
    """Anthropic settings OpenAI has no name for, as top-level request fields (`extra_body`)."""

    top_k: int | None = None
    thinking: dict[str, Any] | None = None
    budget_tokens: int | None = None


class _CCPart(Struct):
    cache_control: dict[str, Any] | None = None


class _CCMessage(Struct):
    content: str | list[_CCPart] | None = None
    cache_control: dict[str, Any] | None = None


class _CCTool(Struct):
    cache_control: dict[str, Any] | None = None


class _ResponseFormatType(Struct):
    type: str = ""


_extras_decoder = msgspec.json.Decoder(Extras)
_cc_messages_decoder = msgspec.json.Decoder(list[_CCMessage])
_cc_tools_decoder = msgspec.json.Decoder(list[_CCTool])
_rf_decoder = msgspec.json.Decoder(_ResponseFormatType | None)

EPHEMERAL = {"type": "ephemeral"}
ANSWER_TOOL = tables.ANSWER_TOOL
# file_data sent as bare base64: the type comes from the file name.
EXTENSION_MIME = {
    "pdf": "application/pdf", "txt": "text/plain", "md": "text/plain", "csv": "text/plain",
    "json": "text/plain", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
    "gif": "image/gif", "webp": "image/webp",
}

# --- helpers --------------------------------------------------------------------------------


def _bad(where: str, message: str, code: str = "invalid_value") -> Error:
    return Error(400, f"`{where}`: {message}", param=where, code=code)


def extras(call: Call) -> Extras:
    return top_level(call, _extras_decoder, Extras)


def answer_tool_used(call: Call) -> bool:
    """True when this request asked for JSON through ANSWER_TOOL (see `to_answer`)."""
    raw = call.fields.get("response_format")
    if raw is None:
        return False
    try:
        rf = _rf_decoder.decode(raw)
    except msgspec.DecodeError:
        return False
    if rf is None:
        return False
    return rf.type == "json_object" or (rf.type == "json_schema" and not tables.structured_outputs(call.model))


def _cache_marks(call: Call) -> tuple[list[_CCMessage] | None, list[_CCTool] | None]:
    """Client `cache_control` on parts, messages and tools; a second look only when present."""
    if b"cache_control" not in call.body:
        return None, None
    try:
        msgs = _cc_messages_decoder.decode(call.fields["messages"]) if "messages" in call.fields else None
        tools = _cc_tools_decoder.decode(call.fields["tools"]) if "tools" in call.fields else None
    except msgspec.ValidationError as exc:
        raise Error(400, f"Invalid `cache_control`: {exc}", param="cache_control", code="invalid_type") from None
    marked = any(t.cache_control is not None for t in tools or ()) or any(
        m.cache_control is not None or (isinstance(m.content, list) and any(p.cache_control is not None for p in m.content))
        for m in msgs or ()
    )
    return (msgs, tools) if marked else (None, None)  # the words were only text


def _data_url(url: str, where: str) -> tuple[str, str]:
    head, comma, data = url.partition(",")
    if not comma or not head.endswith(";base64"):
        raise _bad(where, "data URLs must be base64 (data:<mime>;base64,...).")
    return head[5:-7], data


def _image(url: str, where: str) -> ImageBlock:
    if url.startswith("data:"):
        mime, data = _data_url(url, where)
        return ImageBlock(source=Base64Source(media_type=mime, data=data))
    if url.startswith(("https://", "http://")):
        # Anthropic fetches URL images itself: https://platform.claude.com/docs/en/build-with-claude/vision
        return ImageBlock(source=URLSource(url=url))
    raise _bad(where, "image URLs must be data: or http(s):// URLs.", "invalid_image_url")


def _file(f: oai.FileData, where: str) -> ImageBlock | DocumentBlock:
    if f.file_id is not None:
        raise _bad(where, "file_id cannot be resolved for Anthropic; send file_data.", "unsupported_content")
    if not f.file_data:
        raise _bad(where, "file part without file_data.")
    if f.file_data.startswith("data:"):
        mime, data = _data_url(f.file_data, where)
    else:
        name = (f.filename or "").rsplit(".", 1)
        mime = EXTENSION_MIME.get(name[1].lower(), "") if len(name) == 2 else ""
        data = f.file_data
        if not mime:
            raise _bad(where, "send file_data as a data: URL so its type is known.")
    if mime.startswith("image/"):
        return ImageBlock(source=Base64Source(media_type=mime, data=data))
    if mime == "application/pdf":
        return DocumentBlock(source=Base64Source(media_type=mime, data=data), title=f.filename)
    if mime.startswith("text/"):
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise _bad(where, "a text file must be base64 of UTF-8 text.") from None
        return DocumentBlock(source=PlainTextSource(data=text, media_type="text/plain"), title=f.filename)
    raise _bad(where, f"files of type {mime!r} cannot be sent to Anthropic (PDF, text and images can).", "unsupported_content")


def _mark(blocks: list[Any], marks: _CCMessage | None) -> list[Any]:
    if marks is None:
        return blocks
    if isinstance(marks.content, list):
        for block, part in zip(blocks, marks.content):
            if part.cache_control is not None:
                block.cache_control = part.cache_control
    if marks.cache_control is not None and blocks:
        blocks[-1].cache_control = marks.cache_control
    return blocks


def _blocks(content: str | list[oai.ContentPart] | None, where: str, *, assistant: bool = False) -> list[Any]:
    """Content parts → blocks, one per part (so `cache_control` marks line up with them)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [] if assistant and not content else [TextBlock(text=content)]
    out: list[Any] = []
    for j, p in enumerate(content):
        at = f"{where}[{j}]"
        if isinstance(p, oai.TextPart):
            if assistant and not p.text:
                continue  # Anthropic refuses empty text blocks; OpenAI clients send "" beside tool calls
            out.append(TextBlock(text=p.text))
        elif isinstance(p, oai.RefusalPart):
            out.append(TextBlock(text=p.refusal))
        elif assistant:
            raise _bad(at, "an assistant turn can only hold text for Anthropic.", "unsupported_content")
        elif isinstance(p, oai.ImagePart):
            out.append(_image(p.image_url.url, at))
        elif isinstance(p, oai.FilePart):
            out.append(_file(p.file, at))
        elif isinstance(p, oai.AudioPart):
            raise _bad(at, "input_audio parts cannot be sent to Anthropic (Claude takes no audio).", "unsupported_content")
        else:
            raise _bad(at, f"{type(p).__name__} parts cannot be sent to Anthropic.", "unsupported_content")
    return out


def _system(content: str | list[oai.ContentPart], where: str) -> list[TextBlock]:
    if isinstance(content, str):
        return [TextBlock(text=content)] if content else []
    out = []
    for j, p in enumerate(content):
        if not isinstance(p, oai.TextPart):
            raise _bad(f"{where}[{j}]", "a system prompt can only hold text for Anthropic.", "unsupported_content")
        out.append(TextBlock(text=p.text))
    return out


def _args(arguments: str, where: str) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(arguments or "{}")
    except msgspec.DecodeError:
        raise _bad(where, "is not valid JSON.") from None
    if not isinstance(value, dict):
        raise _bad(where, "must be a JSON object.")
    return value


def _thinking_blocks(carried: ids.Carried) -> list[Any]:
    return [ThinkingBlock(thinking=b[1], signature=b[2]) if b[0] == "t" else RedactedThinkingBlock(data=b[1]) for b in carried]


def _assistant(m: oai.AssistantMessage, i: int, legacy: dict[str, list[str]], budget: list[int]) -> list[Any]:
    calls = [(ids.split(tc.id, f"messages[{i}].tool_calls[{k}].id", budget), tc) for k, tc in enumerate(m.tool_calls or ())]
    out: list[Any] = []
    # Thinking came first in the original turn (thinking, text, tool_use…): keep that order.
    if calls:
        out += _thinking_blocks(calls[0][0][1])
    out += _blocks(m.content, f"messages[{i}].content", assistant=True)
    if m.refusal:
        out.append(TextBlock(text=m.refusal))
    for k, ((use_id, carried), tc) in enumerate(calls):
        if k:
            out += _thinking_blocks(carried)
        args = _args(tc.function.arguments, f"messages[{i}].tool_calls[{k}].function.arguments")
        out.append(ToolUseBlock(id=use_id, name=tc.function.name, input=args))
    if m.function_call is not None:
        # A legacy function call has no id; its result names the function: pair them in order.
        use_id = f"call_legacy_{i}"
        legacy.setdefault(m.function_call.name, []).append(use_id)
        args = _args(m.function_call.arguments, f"messages[{i}].function_call.arguments")
        out.append(ToolUseBlock(id=use_id, name=m.function_call.name, input=args))
    return out


def _tool_result(content: str | list[oai.ContentPart] | None, use_id: str, where: str) -> ToolResultBlock:
    if content is None or isinstance(content, str):
        return ToolResultBlock(tool_use_id=use_id, content=content or "")
    return ToolResultBlock(tool_use_id=use_id, content=_blocks(content, where))


def _not_tool_result(block: Any) -> bool:
    return not isinstance(block, ToolResultBlock)


def to_messages(call: Call, req: oai.ChatCompletionRequest, marks: list[_CCMessage] | None) -> tuple[list[TextBlock], list[MessageParam]]:
    system: list[TextBlock] = []
    turns: list[MessageParam] = []
    legacy: dict[str, list[str]] = {}
    budget = [ids.MAX_INFLATED]

    def add(role: str, blocks: list[Any]) -> None:
        if not blocks:
            return
        if turns and turns[-1].role == role:
            turns[-1].content += blocks  # Anthropic wants roles to alternate
        else:
            turns.append(MessageParam(role=role, content=blocks))

    for i, m in enumerate(req.messages):
        where = f"messages[{i}].content"
        mark = marks[i] if marks is not None and i < len(marks) else None
        if isinstance(m, (oai.SystemMessage, oai.DeveloperMessage)):
            system += _mark(_system(m.content, where), mark)
        elif isinstance(m, oai.UserMessage):
            add("user", _mark(_blocks(m.content, where), mark))
        elif isinstance(m, oai.AssistantMessage):
            add("assistant", _assistant(m, i, legacy, budget))
        elif isinstance(m, oai.ToolMessage):
            result = _tool_result(m.content, ids.tool_use_id(m.tool_call_id), where)
            if mark is not None:
                # The result is one block: a mark on the message or on any of its parts is its mark.
                parts = mark.content if isinstance(mark.content, list) else []
                result.cache_control = mark.cache_control or next((p.cache_control for p in parts if p.cache_control), None)
            add("user", [result])
        elif isinstance(m, oai.FunctionMessage):
            pending = legacy.get(m.name)
            if not pending:
                raise _bad(f"messages[{i}].name", f"function {m.name!r} answers no earlier function_call.")
            add("user", [_tool_result(m.content, pending.pop(0), where)])
    if legacy or any(isinstance(m, oai.ToolMessage) for m in req.messages):
        for turn in turns:
            # Tool results must open their user turn, before any text the user adds.
            if turn.role == "user" and len(turn.content) > 1:
                turn.content.sort(key=_not_tool_result)
    # Anthropic wants the user to speak first; a leading assistant text (a greeting, say) is
    # merged into the first user turn rather than answered with a 400 or a filler turn.
    if turns and turns[0].role == "assistant" and not any(isinstance(b, ToolUseBlock) for b in turns[0].content):
        lead = turns.pop(0)
        if turns:
            turns[0].content = lead.content + turns[0].content
        else:
            turns.append(MessageParam(role="user", content=lead.content))
    if not turns:
        raise Error(400, "`messages` needs at least one user, assistant or tool message for Anthropic.", param="messages", code="invalid_value")
    return system, turns


# --- tools, answers, thinking ---------------------------------------------------------------


def to_tools(req: oai.ChatCompletionRequest, model: str, marks: list[_CCTool] | None) -> list[ToolParam]:
    # Strict tool use exists on the models with structured outputs; elsewhere the schema is sent
    # without the guarantee (documented in the README).
    strict_ok = tables.structured_outputs(model)
    out: list[ToolParam] = []
    for i, t in enumerate(req.tools or ()):
        if t.type != "function" or t.function is None:
            raise _bad(f"tools[{i}]", f"only function tools can be sent to Anthropic (got {t.type!r}).", "unsupported_parameter")
        f = t.function
        tool = ToolParam(
            name=f.name,
            description=f.description,
            input_schema=f.parameters if f.parameters is not None else {"type": "object", "properties": {}},
            strict=f.strict if strict_ok else None,
        )
        if marks is not None and i < len(marks) and marks[i].cache_control is not None:
            tool.cache_control = marks[i].cache_control
        out.append(tool)
    for f in req.functions or ():
        schema = f.parameters if f.parameters is not None else {"type": "object", "properties": {}}
        out.append(ToolParam(name=f.name, description=f.description, input_schema=schema))
    return out


def to_tool_choice(req: oai.ChatCompletionRequest, has_tools: bool) -> ToolChoice | None:
    choice, param = (req.tool_choice, "tool_choice") if req.tool_choice is not None else (req.function_call, "function_call")
    out: ToolChoice | None = None
    if isinstance(choice, str):
        kind = tables.TOOL_CHOICE.get(choice)
        if kind is None:
            raise _bad(param, f"{choice!r} is not one of none, auto, required.")
        out = ToolChoice(type=kind)
    elif isinstance(choice, oai.NamedToolChoice):
        if choice.type != "function" or choice.function is None:
            raise _bad(param, f"a {choice.type!r} choice cannot be sent to Anthropic.", "unsupported_parameter")
        out = ToolChoice(type="tool", name=choice.function.name)
    elif isinstance(choice, oai.ToolChoiceFunction):
        out = ToolChoice(type="tool", name=choice.name)
    if not has_tools:
        if out is not None and out.type in ("any", "tool"):
            raise _bad(param, "asks for a tool call, but no tools were given.")
        return None
    if req.parallel_tool_calls is False:
        out = out or ToolChoice(type="auto")
        if out.type != "none":
            out.disable_parallel_tool_use = True
    return out


def to_answer(req: oai.ChatCompletionRequest, model: str) -> tuple[dict[str, Any] | None, ToolParam | None]:
    """response_format → (output_config.format, None) on models with structured outputs, else
    (None, a tool whose input is the answer); json_object always takes the tool: native
    structured outputs need a schema that closes every object."""
    rf = req.response_format
    if isinstance(rf, oai.ResponseFormatJSONSchema):
        schema = rf.json_schema.schema_ if rf.json_schema.schema_ is not None else {"type": "object"}
        if tables.structured_outputs(model):
            return {"type": "json_schema", "schema": schema}, None
        if schema.get("type") != "object":
            raise _bad("response_format.json_schema.schema", "must describe a JSON object for this model (it is sent as a tool's input schema).")
        about = rf.json_schema.description or f"the {rf.json_schema.name} object"
        return None, ToolParam(name=ANSWER_TOOL, description=f"Give the final answer as this tool's input: {about}.", input_schema=schema)
    if isinstance(rf, oai.ResponseFormatJSONObject):
        return None, ToolParam(name=ANSWER_TOOL, description="Give the final answer as this tool's input: a JSON object.", input_schema={"type": "object"})
    return None, None


def to_thinking(req: oai.ChatCompletionRequest, extra: Extras, model: str) -> tuple[dict[str, Any] | None, str | None, int | None]:
    """→ (thinking, output_config.effort, budget aoa chose or None). The client's own `thinking`
    or `budget_tokens` win over reasoning_effort."""
    if extra.thinking is not None:
        return extra.thinking, None, None
    if extra.budget_tokens is not None:
        return {"type": "enabled", "budget_tokens": extra.budget_tokens}, None, None
    effort = req.reasoning_effort
    if effort is None:
        return None, None, None
    if effort == "none":
        v = tables.version(model)
        # Models before 3.7 never think and compatible hosts may not know the field: omit it.
        return ({"type": "disabled"} if v is not None and v >= (3, 7) else None), None, None
    if effort not in tables.REASONING_BUDGET:
        raise _bad("reasoning_effort", f"{effort!r} is not one of none, {', '.join(tables.REASONING_BUDGET)}.")
    if tables.adaptive_thinking(model):
        return {"type": "adaptive"}, tables.ADAPTIVE_EFFORT[effort], None
    budget = tables.REASONING_BUDGET[effort]
    return {"type": "enabled", "budget_tokens": budget}, None, budget


def _check_policy(call: Call, req: oai.ChatCompletionRequest) -> None:
    for name in call.fields:  # only what the client sent: a few names, not the whole policy
        if name in tables.UNSUPPORTED:
            if getattr(req, name) is not None:
                raise Error(400, f"`{name}` is not supported by Anthropic.", param=name, code="unsupported_parameter")
        elif name in tables.ONLY:
            value, allowed = getattr(req, name), tables.ONLY[name]
            if value is not None and value not in allowed:
                shown = ", ".join(msgspec.json.encode(a).decode() for a in allowed)
                raise Error(400, f"`{name}`={msgspec.json.encode(value).decode()} is not supported by Anthropic (only {shown}).", param=name, code="unsupported_parameter")
    t = req.temperature
    if t is not None and not 0 <= t <= tables.TEMPERATURE_MAX:
        # OpenAI's range is 0–2, Anthropic's 0–1; rescaling would change what the client asked for.
        raise Error(400, f"`temperature`={t:g} is outside Anthropic's range [0, 1].", param="temperature", code="invalid_value")


def to_request(call: Call, req: oai.ChatCompletionRequest, *, default_max_tokens: int = 0, prompt_cache: str = "off") -> MessageCreateParams:
    _check_policy(call, req)
    extra = extras(call)
    msg_marks, tool_marks = _cache_marks(call)
    system, messages = to_messages(call, req, msg_marks)
    tools = to_tools(req, call.model, tool_marks) if req.tools or req.functions else []
    fmt, answer = to_answer(req, call.model) if req.response_format is not None else (None, None)
    choice = to_tool_choice(req, bool(tools)) if tools or req.tool_choice is not None or req.function_call is not None else None
    if answer is not None:
        if any(t.name == ANSWER_TOOL for t in tools):
            raise _bad("tools", f"the tool name {ANSWER_TOOL!r} is reserved for response_format on this model.")
        if choice is None or choice.type == "auto":
            parallel = choice.disable_parallel_tool_use if choice else None
            choice = ToolChoice(type="any", disable_parallel_tool_use=parallel) if tools else ToolChoice(type="tool", name=ANSWER_TOOL)
        tools.append(answer)
    thinking, effort, budget = to_thinking(req, extra, call.model)

    asked = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
    param = "max_completion_tokens" if req.max_completion_tokens is not None else "max_tokens"
    default, limit = tables.max_tokens(call.model)
    if asked is None:
        if default_max_tokens:
            default = default_max_tokens
        wanted = (thinking or {}).get("budget_tokens")
        max_tokens = default + (wanted if isinstance(wanted, int) else 0)
        if limit is not None and default <= limit:
            max_tokens = min(max_tokens, limit)
    else:
        max_tokens = asked
    if budget is not None and budget >= max_tokens:
        # OpenAI's max tokens include reasoning: aoa's own budget gives way to the client's cap.
        budget = max_tokens - 1
        if budget < tables.MIN_BUDGET:
            raise _bad(param, f"{max_tokens} leaves no room for thinking (Anthropic's smallest budget is {tables.MIN_BUDGET} tokens); raise it or drop reasoning_effort.")
        thinking = {"type": "enabled", "budget_tokens": budget}

    if prompt_cache == "auto" and msg_marks is None and tool_marks is None:
        # Breakpoints where a conversation's prefix stops changing: system, tools, and the newest
        # user turn (Anthropic looks back from it for the previous turn's entry).
        if system:
            system[-1].cache_control = EPHEMERAL
        if tools:
            tools[-1].cache_control = EPHEMERAL
        for turn in reversed(messages):
            if turn.role == "user":
                last = turn.content[-1]
                if not isinstance(last, (ThinkingBlock, RedactedThinkingBlock)):
                    last.cache_control = EPHEMERAL
                break

    user = req.user or req.safety_identifier
    return MessageCreateParams(
        model=call.model,
        max_tokens=max_tokens,
        messages=messages,
        system=system or None,
        metadata=Metadata(user_id=user) if user else None,
        stop_sequences=oai.stop_list(req.stop),
        stream=True if call.stream else None,
        temperature=req.temperature,
        top_p=req.top_p,
        top_k=extra.top_k,
        tools=tools or None,
        tool_choice=choice,
        thinking=thinking,
        output_config=OutputConfig(effort=effort, format=fmt) if effort or fmt else None,
    )
