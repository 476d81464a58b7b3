"""Gemini request translation: OpenAI chat request → GenerateContentRequest."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from msgspec import Struct

from .. import oai
from ..core import Call, Error, Media, NeedMedia, Outbound, top_level
from .endpoint import Settings, headers_for, model_url
from .ids import gemini_id_of, signature_of
from .tables import (
    AUDIO_MIME,
    EXTENSION_MIME,
    FILE_MIME_PREFIXES,
    FILES_API_PREFIX,
    HARM_CATEGORIES,
    FOREIGN_SIGNATURE,
    NEUTRAL,
    REASONING_EFFORTS,
    TOOL_CHOICE_MODE,
    UNSUPPORTED,
    YOUTUBE_PREFIXES,
    family,
)
from .wire import (
    Blob,
    Content,
    FileData,
    FunctionCall,
    FunctionCallingConfig,
    FunctionDeclaration,
    FunctionResponse,
    GenerateContentRequest,
    GenerationConfig,
    Part,
    SafetySetting,
    ThinkingConfig,
    Tool,
    ToolConfig,
    encode,
)


def _unsupported(where: str, what: str) -> Error:
    return Error(400, f"`{where}`: {what} cannot be sent to Gemini.", param=where, code="unsupported_content")


def _data_url(url: str, where: str) -> Blob:
    head, comma, data = url.partition(",")
    if not comma or not head.endswith(";base64"):
        raise Error(400, f"`{where}`: data URLs must be base64 (data:<mime>;base64,...).", param=where, code="invalid_value")
    return Blob(mime_type=head[5:-7] or "application/octet-stream", data=data)


def _extension_mime(name: str) -> str | None:
    tail = name.rsplit("/", 1)[-1].split("?", 1)[0]
    return EXTENSION_MIME.get(tail.rsplit(".", 1)[-1].lower()) if "." in tail else None


def _fetched(url: str, call: Call, need: list[str]) -> Media | None:
    """An http(s) URL the IO layer fetches (guarded: size cap, timeout, no private addresses)."""
    media: Media | None = call.media.get(url)
    if media is None:
        need.append(url)
    return media


def _inline(media: Media) -> Part:
    return Part(inline_data=Blob(mime_type=media.mime, data=base64.b64encode(media.data).decode()))


def _google_file(url: str) -> bool:
    return url.startswith("gs://") or (url.startswith(FILES_API_PREFIX) and "/files/" in url)


def _image(url: str, call: Call, where: str, need: list[str]) -> Part | None:
    if url.startswith("data:"):
        return Part(inline_data=_data_url(url, where))
    if _google_file(url):
        return Part(file_data=FileData(file_uri=url, mime_type=_extension_mime(url)))
    if url.startswith(("http://", "https://")):
        media = _fetched(url, call, need)
        return None if media is None else _inline(media)
    raise Error(400, f"`{where}`: image URLs must be data:, http(s):// or gs:// URLs.", param=where, code="invalid_image_url")


def _video(url: str, call: Call, where: str, need: list[str]) -> Part | None:
    """Storage and YouTube links go as fileData (Gemini reads them); other https videos are
    fetched and inlined, as Gemini cannot fetch arbitrary URLs itself."""
    if url.startswith("data:"):
        return Part(inline_data=_checked(_data_url(url, where), where, "video/"))
    if _google_file(url):
        return Part(file_data=FileData(file_uri=url, mime_type=_extension_mime(url) or "video/mp4"))
    if url.startswith(YOUTUBE_PREFIXES):
        return Part(file_data=FileData(file_uri=url))
    if url.startswith(("http://", "https://")):
        media = _fetched(url, call, need)
        if media is None:
            return None
        mime = media.mime if media.mime.startswith("video/") else _extension_mime(url) or media.mime
        return Part(inline_data=_checked(Blob(mime_type=mime, data=base64.b64encode(media.data).decode()), where, "video/"))
    raise Error(400, f"`{where}`: video URLs must be data:, http(s):// or gs:// URLs.", param=where, code="invalid_value")


def _check_mime(mime: str, where: str, prefixes: str | tuple[str, ...] = FILE_MIME_PREFIXES) -> str:
    if not mime.lower().startswith(prefixes):
        raise Error(400, f"`{where}`: files of type {mime[:80]!r} cannot be sent to Gemini.", param=where, code="unsupported_content")
    return mime


def _checked(blob: Blob, where: str, prefixes: str | tuple[str, ...] = FILE_MIME_PREFIXES) -> Blob:
    _check_mime(blob.mime_type, where, prefixes)
    return blob


def _file(f: oai.FileData, call: Call, where: str, need: list[str]) -> Part | None:
    """A `file` part: a PDF or other document (or media) Gemini reads, from a data: URL, raw base64
    with a filename, an http(s) URL (fetched and inlined) or a gs:// / Files API URI."""
    if f.file_id is not None:
        raise Error(400, f"`{where}`: file_id cannot be resolved for Gemini; send file_data.", param=where, code="unsupported_content")
    data = f.file_data
    if not data:
        raise Error(400, f"`{where}`: file part without file_data.", param=where, code="invalid_value")
    if data.startswith("data:"):
        return Part(inline_data=_checked(_data_url(data, where), where))
    named = _extension_mime(f.filename or "")
    if _google_file(data):
        mime = named or _extension_mime(data)
        if mime is None:
            raise Error(400, f"`{where}`: name the file (filename with an extension) so Gemini knows its type.", param=where, code="invalid_value")
        return Part(file_data=FileData(file_uri=data, mime_type=_check_mime(mime, where)))
    if data.startswith(("http://", "https://")):
        media = _fetched(data, call, need)
        if media is None:
            return None
        # Servers often say octet-stream for PDFs; the file's name is the better witness then.
        mime = media.mime if media.mime != "application/octet-stream" else named or _extension_mime(data) or media.mime
        return Part(inline_data=_checked(Blob(mime_type=mime, data=base64.b64encode(media.data).decode()), where))
    if named is None:
        raise Error(400, f"`{where}`: send file_data as a data: URL so its type is known.", param=where, code="invalid_value")
    return Part(inline_data=_checked(Blob(mime_type=named, data=data), where))


def _parts(content: str | list[oai.ContentPart] | None, call: Call, where: str, need: list[str]) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [Part(text=content)] if content else []
    out: list[Part] = []
    for j, p in enumerate(content):
        at = f"{where}[{j}]"
        part: Part | None
        if isinstance(p, oai.TextPart):
            part = Part(text=p.text)
        elif isinstance(p, oai.ImagePart):
            part = _image(p.image_url.url, call, at, need)
        elif isinstance(p, oai.AudioPart):
            mime = AUDIO_MIME.get(p.input_audio.format)
            if mime is None:
                raise Error(400, f"`{at}`: audio format {p.input_audio.format!r} is not one of {', '.join(AUDIO_MIME)}.", param=at, code="invalid_value")
            part = Part(inline_data=Blob(mime_type=mime, data=p.input_audio.data))
        elif isinstance(p, oai.FilePart):
            part = _file(p.file, call, at, need)
        elif isinstance(p, oai.VideoPart):
            part = _video(p.video_url.url, call, at, need)
        elif isinstance(p, oai.RefusalPart):
            part = Part(text=p.refusal)
        else:
            raise _unsupported(at, f"{type(p).__name__} parts")
        if part is not None:
            out.append(part)
    return out


def _json(text: str) -> Any:
    """A JSON document a client put inside a string (tool arguments, a tool result). The body's
    own nesting was checked when it was read, not what its strings hold: too deep is a 400."""
    try:
        return msgspec.json.decode(text)
    except RecursionError:
        raise msgspec.DecodeError("JSON is nested too deeply") from None


def _args(arguments: str, where: str) -> dict[str, Any]:
    try:
        value = _json(arguments or "{}")
    except msgspec.DecodeError:
        raise Error(400, f"`{where}` is not valid JSON (or is nested too deeply).", param=where, code="invalid_value") from None
    if not isinstance(value, dict):
        raise Error(400, f"`{where}` must be a JSON object.", param=where, code="invalid_value")
    return value


def _response(content: str | list[oai.ContentPart] | None, at: str) -> dict[str, Any]:
    """A tool result → functionResponse.response, which must be an object."""
    for j, part in enumerate(content if isinstance(content, list) else ()):
        if not isinstance(part, oai.TextPart):
            where = f"{at}.content[{j}]"
            raise Error(400, f"`{where}`: a tool result can only hold text for Gemini.", param=where, code="unsupported_content")
    text = oai.text_of(content)
    try:
        value = _json(text)
    except msgspec.DecodeError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


def to_contents(call: Call, messages: list[oai.Message]) -> tuple[list[Content], Content | None]:
    system: list[Part] = []
    contents: list[Content] = []
    names: dict[str, str] = {}  # tool call id → function name, for functionResponse.name
    need: list[str] = []

    def add(role: str, parts: list[Part]) -> None:
        if not parts:
            return
        if contents and contents[-1].role == role:
            # In place: rebuilding the list per message made 100k same-role turns quadratic.
            contents[-1].parts.extend(parts)  # type: ignore[union-attr]  # set below, never None
        else:
            contents.append(Content(role=role, parts=parts))

    for i, m in enumerate(messages):
        where = f"messages[{i}].content"
        if isinstance(m, (oai.SystemMessage, oai.DeveloperMessage)):
            system += _parts(m.content, call, where, need)
        elif isinstance(m, oai.UserMessage):
            add("user", _parts(m.content, call, where, need))
        elif isinstance(m, oai.AssistantMessage):
            parts = _parts(m.content, call, where, need)
            if (sig := _google_signature(m.extra_content, f"messages[{i}].extra_content")) is not None:
                texts = [p for p in parts if p.text is not None]
                if texts:  # Gemini attaches it to the last part of the text it signed
                    texts[-1].thought_signature = sig
            for k, tc in enumerate(m.tool_calls or ()):
                at = f"messages[{i}].tool_calls[{k}].function.arguments"
                names[tc.id] = tc.function.name
                parts.append(Part(
                    function_call=FunctionCall(name=tc.function.name, args=_args(tc.function.arguments, at), id=gemini_id_of(tc.id)),
                    thought_signature=signature_of(tc.id) or _google_signature(tc.extra_content or None, f"messages[{i}].tool_calls[{k}].extra_content"),
                ))
            if m.function_call is not None:
                at = f"messages[{i}].function_call.arguments"
                parts.append(Part(function_call=FunctionCall(name=m.function_call.name, args=_args(m.function_call.arguments, at))))
            add("model", parts)
        elif isinstance(m, oai.ToolMessage):
            name = names.get(m.tool_call_id)
            if name is None:
                at = f"messages[{i}].tool_call_id"
                raise Error(400, f"`{at}` {m.tool_call_id!r} matches no earlier assistant tool call; Gemini needs the function's name.", param=at, code="invalid_value")
            response = FunctionResponse(name=name, response=_response(m.content, f"messages[{i}]"), id=gemini_id_of(m.tool_call_id))
            add("user", [Part(function_response=response)])
        elif isinstance(m, oai.FunctionMessage):
            add("user", [Part(function_response=FunctionResponse(name=m.name, response=_response(m.content, f"messages[{i}]")))])
    if need:
        raise NeedMedia(need)
    # Gemini wants the user to speak first; a leading assistant text (a greeting, say) is
    # merged into the first user turn rather than answered with a 400 or a filler turn.
    if contents and contents[0].role == "model" and not any(p.function_call for p in contents[0].parts or ()):
        lead = contents.pop(0)
        if contents:
            contents[0].parts = [*(lead.parts or []), *(contents[0].parts or [])]
        else:
            contents.insert(0, Content(role="user", parts=lead.parts))
    if not contents:
        raise Error(400, "`messages` needs at least one user, assistant or tool message for Gemini.", param="messages", code="invalid_value")
    if family(call.model).signed_calls:
        _sign_foreign_calls(contents)
    return contents, (Content(parts=system) if system else None)


def _google_signature(extra: dict[str, Any] | None, where: str) -> str | None:
    """`{"google": {"thought_signature": "…"}}` → the signature, echoed back where aoa put it on
    a text part (the name Google's own OpenAI-compatible endpoint uses; tool calls recorded
    from that endpoint carry theirs this way too). Other vendors' keys are not Gemini's to judge;
    a `google` entry of the wrong shape is a 400 naming it."""
    google = (extra or {}).get("google")
    if google is None:
        return None
    if not isinstance(google, dict):
        raise Error(400, f"`{where}.google` must be an object.", param=f"{where}.google", code="invalid_type")
    sig = google.get("thought_signature")
    if sig is not None and not isinstance(sig, str):
        at = f"{where}.google.thought_signature"
        raise Error(400, f"`{at}` must be a string.", param=at, code="invalid_type")
    return sig or None


def _sign_foreign_calls(contents: list[Content]) -> None:
    """Gemini 3 refuses a model turn whose first functionCall has no thoughtSignature; calls it
    did not produce (another model's history, few-shot examples, client-minted ids) get Google's
    documented stand-in. Later calls in a turn are unsigned by design (parallel calls)."""
    for content in contents:
        if content.role != "model":
            continue
        first = next((p for p in content.parts or () if p.function_call is not None), None)
        if first is not None and first.thought_signature is None:
            first.thought_signature = FOREIGN_SIGNATURE


def to_tools(req: oai.ChatCompletionRequest) -> list[Tool] | None:
    decls: list[FunctionDeclaration] = []
    for i, t in enumerate(req.tools or ()):
        if t.type != "function" or t.function is None:
            raise Error(400, f"`tools[{i}]`: only function tools can be sent to Gemini (got {t.type!r}).", param=f"tools[{i}]", code="unsupported_parameter")
        decls.append(FunctionDeclaration(name=t.function.name, description=t.function.description, parameters_json_schema=t.function.parameters))
    for f in req.functions or ():
        decls.append(FunctionDeclaration(name=f.name, description=f.description, parameters_json_schema=f.parameters))
    return [Tool(function_declarations=decls)] if decls else None


def to_tool_config(req: oai.ChatCompletionRequest) -> ToolConfig | None:
    choice, param = (req.tool_choice, "tool_choice") if req.tool_choice is not None else (req.function_call, "function_call")
    if choice is None:
        return None
    if isinstance(choice, str):
        mode = TOOL_CHOICE_MODE.get(choice)
        if mode is None:
            raise Error(400, f"`{param}`={choice!r} is not one of none, auto, required.", param=param, code="invalid_value")
        return ToolConfig(function_calling_config=FunctionCallingConfig(mode=mode))
    if isinstance(choice, oai.NamedToolChoice):
        if choice.type != "function" or choice.function is None:
            raise Error(400, f"`{param}` of type {choice.type!r} cannot be sent to Gemini.", param=param, code="unsupported_parameter")
        name = choice.function.name
    else:
        name = choice.name
    return ToolConfig(function_calling_config=FunctionCallingConfig(mode="ANY", allowed_function_names=[name]))


class Extras(Struct):
    """Gemini settings OpenAI has no name for, accepted as top-level request fields (the names
    other OpenAI-compatible vendors use for them, e.g. DashScope)."""

    top_k: int | None = None
    # Tokens of thinking: 0 off, -1 the model decides; wins over reasoning_effort.
    thinking_budget: int | None = None
    # Gemini 3's own level (`minimal`, `low`, `medium`, `high`, any case); wins over
    # reasoning_effort. Gemini refuses a level and a budget together, so does aoa.
    thinking_level: str | None = None


_extras_decoder = msgspec.json.Decoder(Extras)
_EXTRA_TYPE = {"top_k": "a whole number", "thinking_budget": "a whole number", "thinking_level": "a string"}


def extras(call: Call) -> Extras:
    return top_level(call, _extras_decoder, Extras, _EXTRA_TYPE)


def _thinking(model: str, effort: str | None, extra: Extras = Extras()) -> ThinkingConfig | None:
    if extra.thinking_level is not None and extra.thinking_budget is not None:
        raise Error(400, "Send `thinking_level` or `thinking_budget`, not both.", param="thinking_level", code="invalid_value")
    if extra.thinking_level is not None:
        return ThinkingConfig(thinking_level=extra.thinking_level.strip().upper(), include_thoughts=True)
    if extra.thinking_budget is not None:
        budget = extra.thinking_budget
        return ThinkingConfig(thinking_budget=budget, include_thoughts=True if budget else None)
    if effort is None:
        return None
    if effort not in REASONING_EFFORTS:
        raise Error(400, f"`reasoning_effort`={effort!r} is not one of {', '.join(REASONING_EFFORTS)}.", param="reasoning_effort", code="invalid_value")
    table = family(model).effort
    value = table.get(effort)
    if value is None:
        if not table and effort == "none":
            return None  # a model without thinking already does what was asked
        why = "it does not think" if not table else "it cannot turn thinking off"
        raise Error(400, f"`reasoning_effort`={effort!r} is not available on {model[:80]}: {why}.", param="reasoning_effort", code="unsupported_value")
    if isinstance(value, str):
        return ThinkingConfig(thinking_level=value, include_thoughts=True)
    return ThinkingConfig(thinking_budget=value, include_thoughts=True if value else None)


def to_generation_config(req: oai.ChatCompletionRequest, extra: Extras = Extras(), model: str = "") -> GenerationConfig | None:
    mime = schema = None
    rf = req.response_format
    if isinstance(rf, oai.ResponseFormatJSONObject):
        mime = "application/json"
    elif isinstance(rf, oai.ResponseFormatJSONSchema):
        # No schema: plain JSON mode (an empty responseJsonSchema is not the same request).
        mime, schema = "application/json", rf.json_schema.schema_
    config = GenerationConfig(
        temperature=req.temperature,
        top_p=req.top_p,
        top_k=extra.top_k,
        candidate_count=req.n,
        max_output_tokens=req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens,
        stop_sequences=oai.stop_list(req.stop),
        seed=req.seed,
        presence_penalty=req.presence_penalty,
        frequency_penalty=req.frequency_penalty,
        response_logprobs=req.logprobs,
        logprobs=req.top_logprobs,
        response_mime_type=mime,
        response_json_schema=schema,
        thinking_config=_thinking(model, req.reasoning_effort, extra),
    )
    return None if config == GenerationConfig() else config


def _check_policy(req: oai.ChatCompletionRequest) -> None:
    for name in sorted(UNSUPPORTED):
        value = getattr(req, name)
        if value is not None and value != NEUTRAL.get(name, object()):
            raise Error(400, f"`{name}` is not supported by Gemini.", param=name, code="unsupported_parameter")


def to_request(s: Settings, call: Call, req: oai.ChatCompletionRequest) -> GenerateContentRequest:
    _check_policy(req)
    contents, system = to_contents(call, req.messages)
    safety = [SafetySetting(category=c, threshold=s.safety) for c in HARM_CATEGORIES] if s.safety else None
    return GenerateContentRequest(
        contents=contents,
        system_instruction=system,
        tools=to_tools(req),
        tool_config=to_tool_config(req),
        safety_settings=safety,
        generation_config=to_generation_config(req, extras(call), call.model),
    )


def chat(s: Settings, call: Call) -> Outbound:
    try:
        req = oai.decode_chat(call.body)
        body = to_request(s, call, req)
        data = encode(body)
    except RecursionError:
        # The body passed the IO layer's depth check, but a schema or tool result within a few
        # levels of the limit cannot be decoded into types (or re-encoded) without recursing deeper.
        raise Error(400, "Request body is nested too deeply to be translated for Gemini.", code="invalid_json") from None
    op = ":streamGenerateContent?alt=sse" if call.stream else ":generateContent"
    return Outbound(url=model_url(s, call.model) + op, headers=headers_for(s, call.key), body=data, stream=call.stream)
