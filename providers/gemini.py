"""Google Gemini on the Generative Language API (`generativelanguage.googleapis.com`), native.

Docs: https://ai.google.dev/api/generate-content , field names as in the official SDK
https://github.com/googleapis/python-genai (`google/genai/types.py`).

- chat: `POST {endpoint}/{ver}/models/{model}:generateContent`; a streaming client gets
  `:streamGenerateContent?alt=sse`, where every `data:` is a whole GenerateContentResponse and
  no `[DONE]` follows. The key travels in `x-goog-api-key`, never in the URL.
- system and developer messages become `systemInstruction`; user/assistant turns become
  `user`/`model` contents, consecutive turns of one role merged. Gemini wants the
  conversation to open with a user turn: a leading assistant text is merged into the first
  user turn (no filler text is invented).
- images: data: URLs are inlined; http(s) URLs are fetched by the IO layer and inlined;
  `gs://` and Gemini Files API URIs go as `fileData`. `input_audio` and `file` parts with
  inline data are inlined; `file_id` parts cannot be resolved (400).
- tools: function tools → `functionDeclarations` with `parametersJsonSchema` (JSON Schema as
  sent). Tool results → `functionResponse`, its `name` recovered from the assistant tool call
  with the same id; a result that is not a JSON object is wrapped as `{"result": <value or
  text>}` (Gemini wants an object). Thought signatures ride inside the tool call id (see
  `tool_call_id`). Legacy `functions` requests are answered with `tool_calls` too: a
  `function_call` has no id to carry the signature.
- `reasoning_effort` → `thinkingConfig` (REASONING_BUDGET); thoughts come back as
  `reasoning_content`. Gemini's own `top_k` and `thinking_budget` (0 off, -1 dynamic; wins over
  reasoning_effort) are accepted as top-level request fields (`Extras`).
- embeddings: `:batchEmbedContents`, 100 texts per call. Models: `GET {ver}/models`, paged.
Ignored (no effect on the answer): user, metadata, store, service_tier, prompt cache keys,
safety_identifier, parallel_tool_calls (Gemini decides how many calls to make).
Not supported (400 naming the field): logit_bias, audio output, modalities other than text,
prediction, web_search_options, verbosity, non-function tools, `file_id` parts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msgspec
from msgspec import Struct

from . import oai
from .core import Call, Common, ConfigError, Error, Media, NeedMedia, Outbound, load_common, model_segment

PREFIX = "GEMINI"
DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"
DEFAULT_MODEL = "gemini-2.5-flash"
API_VERSIONS = ("v1beta", "v1")
EMBED_BATCH = 100  # https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
MODELS_PAGE_SIZE = 1000

# https://ai.google.dev/api/generate-content#harmcategory (the four the API still filters on)
HARM_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)
# https://ai.google.dev/api/generate-content#HarmBlockThreshold
SAFETY_THRESHOLDS = (
    "OFF",
    "BLOCK_NONE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_LOW_AND_ABOVE",
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
)


class Settings(Struct, kw_only=True):
    common: Common
    api_version: str = "v1beta"
    safety: str = ""  # one threshold for every category; "" sends no safetySettings


def load_settings(env: Mapping[str, str]) -> Settings:
    common = load_common(env, PREFIX, endpoint=DEFAULT_ENDPOINT, model=DEFAULT_MODEL)
    ver = env.get("GEMINI_API_VER", "").strip() or "v1beta"
    if ver not in API_VERSIONS:
        raise ConfigError(f"GEMINI_API_VER={ver!r} is not one of {', '.join(API_VERSIONS)}")
    safety = env.get("GEMINI_SAFETY", "").strip().upper()
    if safety and safety not in SAFETY_THRESHOLDS:
        raise ConfigError(f"GEMINI_SAFETY={safety!r} is not one of {', '.join(SAFETY_THRESHOLDS)}")
    return Settings(common=common, api_version=ver, safety=safety)


def headers(key: str) -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if key:
        # The official SDK's header; `?key=` would leak the key into URLs and logs.
        h["x-goog-api-key"] = key
    return h


def model_path(model: str) -> str:
    """`gemini-2.5-flash` → `models/gemini-2.5-flash`; `models/x` and `tunedModels/x` are kept.

    The name lands in the URL path next to the server key, so it must be one safe segment after
    its collection: `../x`, `cachedContents/…`, `x?alt=…` are refused (400 naming `model`).
    """
    for collection in ("models/", "tunedModels/"):
        if model.startswith(collection):
            return collection + model_segment(model[len(collection):])
    return f"models/{model_segment(model)}"


def _base(s: Settings) -> str:
    return f"{s.common.endpoint}/{s.api_version}"


# --- Gemini wire types (names as in google/genai/types.py) ----------------------------------


class G(Struct, rename="camel", omit_defaults=True, kw_only=True):
    """Gemini's convention: camelCase, absent fields omitted."""


class Blob(G):
    mime_type: str
    data: str  # base64


class FileData(G):
    file_uri: str
    mime_type: str | None = None


class FunctionCall(G):
    name: str = ""
    args: dict[str, Any] | None = None
    id: str | None = None


class FunctionResponse(G):
    name: str
    response: dict[str, Any]
    id: str | None = None


class Part(G):
    """Gemini tells part kinds apart by which key is present."""

    text: str | None = None
    thought: bool | None = None
    thought_signature: str | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None


class Content(G):
    role: str | None = None
    parts: list[Part] | None = None


class ThinkingConfig(G):
    include_thoughts: bool | None = None
    thinking_budget: int | None = None


class GenerationConfig(G):
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    candidate_count: int | None = None
    max_output_tokens: int | None = None
    stop_sequences: list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_logprobs: bool | None = None
    logprobs: int | None = None
    response_mime_type: str | None = None
    response_json_schema: dict[str, Any] | None = None
    thinking_config: ThinkingConfig | None = None


class FunctionDeclaration(G):
    name: str
    description: str | None = None
    parameters_json_schema: dict[str, Any] | None = None


class Tool(G):
    function_declarations: list[FunctionDeclaration]


class FunctionCallingConfig(G):
    mode: str
    allowed_function_names: list[str] | None = None


class ToolConfig(G):
    function_calling_config: FunctionCallingConfig


class SafetySetting(G):
    category: str
    threshold: str


class GenerateContentRequest(G):
    contents: list[Content]
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    tool_config: ToolConfig | None = None
    safety_settings: list[SafetySetting] | None = None
    generation_config: GenerationConfig | None = None


class LogprobCandidate(G):
    token: str = ""
    log_probability: float = 0.0


class TopCandidates(G):
    candidates: list[LogprobCandidate] = []


class LogprobsResult(G):
    chosen_candidates: list[LogprobCandidate] = []
    top_candidates: list[TopCandidates] = []


class Candidate(G):
    content: Content | None = None
    finish_reason: str | None = None
    index: int | None = None
    logprobs_result: LogprobsResult | None = None


class PromptFeedback(G):
    block_reason: str | None = None
    block_reason_message: str | None = None


class UsageMetadata(G):
    prompt_token_count: int = 0
    candidates_token_count: int = 0
    thoughts_token_count: int = 0
    cached_content_token_count: int = 0
    total_token_count: int | None = None


class GenerateContentResponse(G):
    candidates: list[Candidate] | None = None
    prompt_feedback: PromptFeedback | None = None
    usage_metadata: UsageMetadata | None = None
    model_version: str | None = None
    error: Any = None  # a stream may end with Google's error envelope as data


_response_decoder = msgspec.json.Decoder(GenerateContentResponse)
_encode = msgspec.json.Encoder().encode

# --- policy and tables ----------------------------------------------------------------------

MAPPED = frozenset({
    "messages", "model", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop",
    "n", "seed", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs",
    "response_format", "reasoning_effort", "tools", "tool_choice", "functions", "function_call",
})
# Bookkeeping or transport fields with no effect on the answer (stream is the IO layer's).
IGNORED = frozenset({
    "user", "metadata", "store", "safety_identifier", "prompt_cache_key", "prompt_cache_retention",
    "prompt_cache_options", "service_tier", "stream", "stream_options", "parallel_tool_calls",
    "moderation",
})
UNSUPPORTED = frozenset({
    "logit_bias", "audio", "modalities", "prediction", "web_search_options", "verbosity",
})
# Values of unsupported fields that ask for nothing beyond Gemini's default: accepted.
NEUTRAL: dict[str, Any] = {"modalities": ["text"], "logit_bias": {}}

ROLE = {"user": "user", "assistant": "model", "tool": "user", "function": "user"}

TOOL_CHOICE_MODE = {"none": "NONE", "auto": "AUTO", "required": "ANY"}

# OpenAI effort → thinkingBudget, as Google's own OpenAI-compatible endpoint maps it:
# https://ai.google.dev/gemini-api/docs/openai#thinking ("minimal" is aoa's choice).
REASONING_BUDGET = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576}

# https://ai.google.dev/api/generate-content#FinishReason
FINISH_REASON = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "LANGUAGE": "content_filter",
    # The model ended without a usable answer; OpenAI has no closer reason than "stop".
    "MALFORMED_FUNCTION_CALL": "stop",
    "UNEXPECTED_TOOL_CALL": "stop",
    "TOO_MANY_TOOL_CALLS": "stop",
    "OTHER": "stop",
    "FINISH_REASON_UNSPECIFIED": "stop",
}
FINISH_FALLBACK = "stop"

AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mp3"}
# fileData wants a mimeType where Gemini cannot tell; guessed from the name's extension only.
EXTENSION_MIME = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
    "gif": "image/gif", "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf",
    "txt": "text/plain", "wav": "audio/wav", "mp3": "audio/mp3", "mp4": "video/mp4",
}
FILES_API_PREFIX = "https://generativelanguage.googleapis.com/"

# --- tool call ids --------------------------------------------------------------------------

SIGNATURE_MARK = "__ts__"
ID_MARK = "__id__"


def tool_call_id(call: Call, candidate: int, position: int, signature: str | None, gemini_id: str | None = None) -> str:
    """`call_<hash of the request id>_<candidate>_<position>[__id__<hex of Gemini's id>][__ts__<urlsafe b64 of signature>]`.

    Gemini needs the `thoughtSignature` of a functionCall echoed in the next request
    (https://ai.google.dev/gemini-api/docs/thought-signatures), and a functionResponse should
    carry the functionCall's `id` when Gemini gave one; OpenAI clients send back only the tool
    call id, so both travel inside it, reversibly. Hex has no `_`, so the marks stay unambiguous.
    """
    stem = hashlib.sha256(call.id.encode()).hexdigest()[:12]
    out = f"call_{stem}_{candidate}_{position}"
    if gemini_id:
        out += ID_MARK + gemini_id.encode().hex()
    if signature:
        out += SIGNATURE_MARK + base64.urlsafe_b64encode(signature.encode()).decode().rstrip("=")
    return out


def signature_of(tool_id: str) -> str | None:
    _, mark, tail = tool_id.partition(SIGNATURE_MARK)
    if not mark or not tail:
        return None
    try:
        return base64.urlsafe_b64decode(tail + "=" * (-len(tail) % 4)).decode()
    except (binascii.Error, ValueError):
        return None


def gemini_id_of(tool_id: str) -> str | None:
    head = tool_id.partition(SIGNATURE_MARK)[0]
    _, mark, tail = head.partition(ID_MARK)
    if not mark or not tail:
        return None
    try:
        return bytes.fromhex(tail).decode()
    except ValueError:
        return None


# --- request translation --------------------------------------------------------------------


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


def _image(url: str, call: Call, where: str, need: list[str]) -> Part | None:
    if url.startswith("data:"):
        return Part(inline_data=_data_url(url, where))
    if url.startswith("gs://") or (url.startswith(FILES_API_PREFIX) and "/files/" in url):
        return Part(file_data=FileData(file_uri=url, mime_type=_extension_mime(url)))
    if url.startswith(("http://", "https://")):
        media: Media | None = call.media.get(url)
        if media is None:
            need.append(url)
            return None
        return Part(inline_data=Blob(mime_type=media.mime, data=base64.b64encode(media.data).decode()))
    raise Error(400, f"`{where}`: image URLs must be data:, http(s):// or gs:// URLs.", param=where, code="invalid_image_url")


def _file(f: oai.FileData, where: str) -> Part:
    if f.file_id is not None:
        raise Error(400, f"`{where}`: file_id cannot be resolved for Gemini; send file_data.", param=where, code="unsupported_content")
    if not f.file_data:
        raise Error(400, f"`{where}`: file part without file_data.", param=where, code="invalid_value")
    if f.file_data.startswith("data:"):
        return Part(inline_data=_data_url(f.file_data, where))
    mime = _extension_mime(f.filename or "")
    if mime is None:
        raise Error(400, f"`{where}`: send file_data as a data: URL so its type is known.", param=where, code="invalid_value")
    return Part(inline_data=Blob(mime_type=mime, data=f.file_data))


def _parts(content: str | list[oai.ContentPart] | None, call: Call, where: str, need: list[str]) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [Part(text=content)] if content else []
    out: list[Part] = []
    for j, p in enumerate(content):
        at = f"{where}[{j}]"
        if isinstance(p, oai.TextPart):
            out.append(Part(text=p.text))
        elif isinstance(p, oai.ImagePart):
            part = _image(p.image_url.url, call, at, need)
            if part is not None:
                out.append(part)
        elif isinstance(p, oai.AudioPart):
            mime = AUDIO_MIME.get(p.input_audio.format)
            if mime is None:
                raise Error(400, f"`{at}`: audio format {p.input_audio.format!r} is not one of wav, mp3.", param=at, code="invalid_value")
            out.append(Part(inline_data=Blob(mime_type=mime, data=p.input_audio.data)))
        elif isinstance(p, oai.FilePart):
            out.append(_file(p.file, at))
        elif isinstance(p, oai.RefusalPart):
            out.append(Part(text=p.refusal))
        else:
            raise _unsupported(at, f"{type(p).__name__} parts")
    return out


def _args(arguments: str, where: str) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(arguments or "{}")
    except msgspec.DecodeError:
        raise Error(400, f"`{where}` is not valid JSON.", param=where, code="invalid_value") from None
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
        value = msgspec.json.decode(text)
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
            for k, tc in enumerate(m.tool_calls or ()):
                at = f"messages[{i}].tool_calls[{k}].function.arguments"
                names[tc.id] = tc.function.name
                parts.append(Part(
                    function_call=FunctionCall(name=tc.function.name, args=_args(tc.function.arguments, at), id=gemini_id_of(tc.id)),
                    thought_signature=signature_of(tc.id),
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
    return contents, (Content(parts=system) if system else None)


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


_extras_decoder = msgspec.json.Decoder(Extras)


def extras(call: Call) -> Extras:
    # Only the two top-level values are decoded: the body (images included) was split once already.
    picked = {name: call.fields[name] for name in Extras.__struct_fields__ if name in call.fields}
    if not picked:
        return Extras()
    try:
        return _extras_decoder.decode(msgspec.json.encode(picked))
    except msgspec.ValidationError as exc:
        path = str(exc).rpartition("at `$.")[2].rstrip("`") or "body"
        raise Error(400, f"`{path}` must be a whole number.", param=path, code="invalid_type") from None


def _thinking(effort: str | None, budget: int | None = None) -> ThinkingConfig | None:
    if budget is not None:
        return ThinkingConfig(thinking_budget=budget, include_thoughts=True if budget else None)
    if effort is None:
        return None
    if effort not in REASONING_BUDGET:
        raise Error(400, f"`reasoning_effort`={effort!r} is not one of {', '.join(REASONING_BUDGET)}.", param="reasoning_effort", code="invalid_value")
    budget = REASONING_BUDGET[effort]
    return ThinkingConfig(thinking_budget=budget, include_thoughts=True if budget else None)


def to_generation_config(req: oai.ChatCompletionRequest, extra: Extras = Extras()) -> GenerationConfig | None:
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
        thinking_config=_thinking(req.reasoning_effort, extra.thinking_budget),
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
        generation_config=to_generation_config(req, extras(call)),
    )


def chat(s: Settings, call: Call) -> Outbound:
    req = oai.decode_chat(call.body)
    body = to_request(s, call, req)
    op = ":streamGenerateContent?alt=sse" if call.stream else ":generateContent"
    url = f"{_base(s)}/{model_path(call.model)}{op}"
    return Outbound(url=url, headers=headers(call.key), body=_encode(body), stream=call.stream)


# --- response translation -------------------------------------------------------------------


def finish_reason(raw: str | None, has_tool_calls: bool) -> str:
    # Gemini says STOP when the parts hold function calls.
    if has_tool_calls:
        return "tool_calls"
    return FINISH_REASON.get(raw or "", FINISH_FALLBACK)


def usage(u: UsageMetadata) -> oai.Usage:
    completion = u.candidates_token_count + u.thoughts_token_count
    total = u.total_token_count if u.total_token_count is not None else u.prompt_token_count + completion
    return oai.Usage(
        prompt_tokens=u.prompt_token_count,
        completion_tokens=completion,
        total_tokens=total,
        prompt_tokens_details=oai.PromptTokensDetails(cached_tokens=u.cached_content_token_count),
        completion_tokens_details=oai.CompletionTokensDetails(reasoning_tokens=u.thoughts_token_count),
    )


def logprobs(r: LogprobsResult | None) -> oai.ChoiceLogprobs | None:
    if r is None:
        return None
    content = []
    for k, chosen in enumerate(r.chosen_candidates):
        top = r.top_candidates[k].candidates if k < len(r.top_candidates) else []
        content.append(oai.TokenLogprob(
            token=chosen.token,
            logprob=chosen.log_probability,
            top_logprobs=[oai.TopLogprob(token=t.token, logprob=t.log_probability) for t in top],
        ))
    return oai.ChoiceLogprobs(content=content)


def _decode(body: bytes) -> GenerateContentResponse:
    try:
        return _response_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Error(502, f"Gemini answered with an unexpected body: {exc}", code="upstream_invalid_json") from None


def _blocked(doc: GenerateContentResponse) -> Error | None:
    fb = doc.prompt_feedback
    if doc.candidates or fb is None or not fb.block_reason:
        return None
    detail = f": {fb.block_reason_message}" if fb.block_reason_message else ""
    return Error(400, f"Gemini blocked the prompt ({fb.block_reason}){detail}.", code="content_filter")


class _Split(Struct):
    text: list[str]
    thoughts: list[str]
    calls: list[tuple[FunctionCall, str | None]]


def _split(c: Candidate) -> _Split:
    out = _Split(text=[], thoughts=[], calls=[])
    for p in (c.content.parts if c.content else None) or ():
        if p.function_call is not None:
            out.calls.append((p.function_call, p.thought_signature))
        elif p.text is not None:
            (out.thoughts if p.thought else out.text).append(p.text)
    return out


def _tool_call(call: Call, candidate: int, position: int, fc: FunctionCall, sig: str | None) -> oai.ToolCall:
    return oai.ToolCall(
        id=tool_call_id(call, candidate, position, sig, fc.id),
        function=oai.FunctionCall(name=fc.name, arguments=_encode(fc.args or {}).decode()),
    )


def chat_result(s: Settings, call: Call, body: bytes) -> bytes:
    doc = _decode(body)
    if doc.error is not None:
        raise error(502, body)
    if (blocked := _blocked(doc)) is not None:
        raise blocked
    if not doc.candidates:
        raise Error(502, "Gemini answered without a candidate.", code="upstream_incomplete")
    choices = []
    for pos, c in enumerate(doc.candidates):
        index = c.index if c.index is not None else pos
        split = _split(c)
        msg = oai.ResponseMessage(content="".join(split.text) if split.text or not split.calls else None)
        if split.thoughts:
            msg.reasoning_content = "".join(split.thoughts)
        if split.calls:
            msg.tool_calls = [_tool_call(call, index, k, fc, sig) for k, (fc, sig) in enumerate(split.calls)]
        finish = finish_reason(c.finish_reason, bool(split.calls))
        choices.append(oai.Choice(index=index, message=msg, finish_reason=finish, logprobs=logprobs(c.logprobs_result)))
    result = oai.ChatCompletion(id=call.id, choices=choices, created=call.created, model=doc.model_version or call.model)
    if doc.usage_metadata is not None:
        result.usage = usage(doc.usage_metadata)
    return oai.encode(result)


class _Slot:
    __slots__ = ("tools", "finish")

    def __init__(self) -> None:
        self.tools = 0
        self.finish: str | None = None


class ChatStream:
    """Per-request stream state: each SSE `data:` is a whole GenerateContentResponse."""

    def __init__(self, s: Settings, call: Call) -> None:
        self.call = call
        self.model = call.model
        self.slots: dict[int, _Slot] = {}
        self.usage: UsageMetadata | None = None

    def _chunk(self, choices: list[oai.ChunkChoice]) -> bytes:
        chunk = oai.ChatCompletionChunk(id=self.call.id, choices=choices, created=self.call.created, model=self.model)
        if self.call.include_usage:
            chunk.usage = None
        return oai.encode(chunk)

    def feed(self, event: str, data: bytes) -> list[bytes]:
        if event == "error":
            raise error(500, data, streaming=True)
        if not data.strip():
            return []
        doc = _decode(data)
        if doc.error is not None:
            raise error(500, data, streaming=True)
        if (blocked := _blocked(doc)) is not None:
            raise blocked
        if doc.model_version:
            self.model = doc.model_version
        if doc.usage_metadata is not None:
            self.usage = doc.usage_metadata  # cumulative: the last one is the total
        out = []
        for pos, c in enumerate(doc.candidates or ()):
            out += self._candidate(c.index if c.index is not None else pos, c)
        return out

    def _candidate(self, index: int, c: Candidate) -> list[bytes]:
        first = index not in self.slots
        slot = self.slots.setdefault(index, _Slot())
        split = _split(c)
        delta = oai.Delta()
        if first:
            delta.role = "assistant"
        text = "".join(split.text)
        if text or (first and not split.calls):
            delta.content = text
        if split.thoughts:
            delta.reasoning_content = "".join(split.thoughts)
        if split.calls:
            deltas = []
            for fc, sig in split.calls:
                tc = _tool_call(self.call, index, slot.tools, fc, sig)
                deltas.append(oai.ToolCallDelta(index=slot.tools, id=tc.id, type="function", function={"name": tc.function.name, "arguments": tc.function.arguments}))
                slot.tools += 1
            delta.tool_calls = deltas
        if c.finish_reason:
            # Held until the end of the stream: gemini-1.0 streams repeat finishReason on
            # every chunk, so the first one seen need not be the last.
            slot.finish = c.finish_reason
        if delta == oai.Delta():
            return []
        return [self._chunk([oai.ChunkChoice(index=index, delta=delta, logprobs=logprobs(c.logprobs_result))])]

    def close(self) -> list[bytes]:
        if not self.slots or any(slot.finish is None for slot in self.slots.values()):
            raise Error(502, "Gemini's stream ended before the answer was complete.", code="upstream_incomplete")
        out = [
            self._chunk([oai.ChunkChoice(index=i, delta=oai.Delta(), finish_reason=finish_reason(slot.finish, slot.tools > 0))])
            for i, slot in sorted(self.slots.items())
        ]
        if self.call.include_usage and self.usage is not None:
            chunk = oai.ChatCompletionChunk(id=self.call.id, choices=[], created=self.call.created, model=self.model, usage=usage(self.usage))
            out.append(oai.encode(chunk))
        return out


# --- embeddings -----------------------------------------------------------------------------


class EmbedContentRequest(G):
    model: str
    content: Content
    output_dimensionality: int | None = None


class BatchEmbedContentsRequest(G):
    requests: list[EmbedContentRequest]


class ContentEmbedding(G):
    values: list[float] = []


class _EmbedUsage(G):
    prompt_token_count: int = 0


class BatchEmbedContentsResponse(G):
    embeddings: list[ContentEmbedding] = []
    usage_metadata: _EmbedUsage | None = None


_embed_decoder = msgspec.json.Decoder(BatchEmbedContentsResponse)


def embeddings(s: Settings, call: Call) -> list[Outbound]:
    req = oai.decode_embedding(call.body)
    texts = oai.embedding_inputs(req)
    name = model_path(call.model)
    url = f"{_base(s)}/{name}:batchEmbedContents"
    outs = []
    for i in range(0, len(texts), EMBED_BATCH):
        batch = BatchEmbedContentsRequest(requests=[
            EmbedContentRequest(model=name, content=Content(parts=[Part(text=t)]), output_dimensionality=req.dimensions)
            for t in texts[i : i + EMBED_BATCH]
        ])
        outs.append(Outbound(url=url, headers=headers(call.key), body=_encode(batch)))
    return outs


def embeddings_result(s: Settings, call: Call, bodies: list[bytes]) -> bytes:
    """prompt_tokens is Gemini's usageMetadata.promptTokenCount where sent, else 0."""
    req = oai.decode_embedding(call.body)
    vectors: list[list[float]] = []
    tokens = 0
    for body in bodies:
        try:
            doc = _embed_decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise Error(502, f"Gemini answered embeddings with an unexpected body: {exc}", code="upstream_invalid_json") from None
        vectors += [e.values for e in doc.embeddings]
        if doc.usage_metadata is not None:
            tokens += doc.usage_metadata.prompt_token_count
    expected = len(oai.embedding_inputs(req))
    if len(vectors) != expected:
        raise Error(502, f"Gemini returned {len(vectors)} embeddings for {expected} texts.", code="upstream_invalid_json")
    return oai.embedding_list(vectors, call.model, tokens, req.encoding_format)


# --- models ---------------------------------------------------------------------------------


class _Model(G):
    name: str = ""


class ListModelsResponse(G):
    models: list[_Model] = []
    next_page_token: str | None = None


_models_decoder = msgspec.json.Decoder(ListModelsResponse)


def models(s: Settings, call: Call, page: str | None) -> Outbound | None:
    url = f"{_base(s)}/models?pageSize={MODELS_PAGE_SIZE}"
    if page:
        url += "&pageToken=" + quote(page, safe="")
    return Outbound(method="GET", url=url, headers=headers(call.key))


def models_result(s: Settings, body: bytes) -> tuple[list[str], str | None]:
    try:
        doc = _models_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Error(502, f"Gemini answered the model list with an unexpected body: {exc}", code="upstream_invalid_json") from None
    return [m.name.removeprefix("models/") for m in doc.models if m.name], doc.next_page_token or None


# --- errors ---------------------------------------------------------------------------------


class _Status(G):
    code: int | None = None
    message: str = ""
    status: str | None = None


class _Envelope(G):
    error: _Status | None = None


_error_decoder = msgspec.json.Decoder(_Envelope | list[_Envelope])


def error(status: int, body: bytes, *, streaming: bool = False) -> Error:
    """Google's `{"error":{"code","message","status"}}` → Error with the status name as code."""
    try:
        doc = _error_decoder.decode(body)
    except msgspec.DecodeError:
        doc = None
    if isinstance(doc, list):  # the JSON-array stream wraps the envelope in a list
        doc = doc[0] if doc else None
    if doc is None or doc.error is None:
        return Error(status, f"Gemini answered HTTP {status} with a body aoa cannot read.", code="upstream_error")
    e = doc.error
    code_status = status
    if streaming and e.code and e.code >= 400:
        code_status = e.code  # an error inside a 200 stream carries its own status
    return Error(code_status, e.message or f"Gemini error {e.status or status}.", code=e.status)
