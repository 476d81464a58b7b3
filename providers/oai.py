"""OpenAI wire types (Chat Completions, legacy Completions, Embeddings, Models) and helpers.

Ground truth: the official `openai` Python SDK, `openai/types/chat/*`,
`openai/types/completion*.py`, `openai/types/embedding*.py`.

Requests are decoded leniently: unknown fields are ignored (clients add them), every known
field is declared so a provider's parameter policy can name each one. Responses are encoded
with `UNSET` for fields that must be absent and `None` for fields OpenAI sends as `null`.
"""

from __future__ import annotations

import base64
import re
import sys
from typing import Any, Literal

import msgspec
from msgspec import UNSET, Struct, UnsetType

from .core import Error

# --- request ------------------------------------------------------------------------------


class Base(Struct, omit_defaults=True, kw_only=True):
    """OpenAI request convention: snake_case, absent fields omitted."""


class TextPart(Base, tag="text", tag_field="type"):
    text: str


class ImageURL(Base):
    url: str
    detail: str | None = None


class ImagePart(Base, tag="image_url", tag_field="type"):
    image_url: ImageURL


class InputAudio(Base):
    data: str  # base64
    format: str  # "wav" | "mp3"


class AudioPart(Base, tag="input_audio", tag_field="type"):
    input_audio: InputAudio


class FileData(Base):
    file_data: str | None = None  # data: URL or base64
    file_id: str | None = None
    filename: str | None = None


class FilePart(Base, tag="file", tag_field="type"):
    file: FileData


class RefusalPart(Base, tag="refusal", tag_field="type"):
    refusal: str


class VideoURL(Base):
    url: str


class VideoPart(Base, tag="video_url", tag_field="type"):
    # Not OpenAI's: the convention of Qwen-VL, vLLM and DashScope's compatible mode.
    video_url: VideoURL


class VideoFramesPart(Base, tag="video", tag_field="type"):
    # Not OpenAI's: DashScope's video as a list of frame image URLs (or one video URL).
    video: list[str] | str


ContentPart = TextPart | ImagePart | AudioPart | FilePart | RefusalPart | VideoPart | VideoFramesPart


class FunctionCall(Base):
    name: str
    arguments: str  # a JSON document, as a string


class ToolCall(Struct, kw_only=True):
    # Not `Base`: responses must carry "type": "function" even though it is the default.
    id: str
    function: FunctionCall
    type: str = "function"
    # Not OpenAI's: vendor data on a call, as Google's OpenAI endpoint returns it
    # (`{"google": {"thought_signature": …}}`); read on requests, never written by aoa.
    extra_content: dict[str, Any] | UnsetType = UNSET


class SystemMessage(Base, tag="system", tag_field="role"):
    content: str | list[ContentPart]
    name: str | None = None


class DeveloperMessage(Base, tag="developer", tag_field="role"):
    content: str | list[ContentPart]
    name: str | None = None


class UserMessage(Base, tag="user", tag_field="role"):
    content: str | list[ContentPart]
    name: str | None = None


class AssistantMessage(Base, tag="assistant", tag_field="role"):
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    refusal: str | None = None
    # Not OpenAI's; DeepSeek/Qwen/Kimi clients send it back on thinking turns.
    reasoning_content: str | None = None
    # Not OpenAI's; vendor data a client echoes back (Gemini: `{"google": {"thought_signature"}}`).
    extra_content: dict[str, Any] | None = None


class ToolMessage(Base, tag="tool", tag_field="role"):
    content: str | list[ContentPart]
    tool_call_id: str


class FunctionMessage(Base, tag="function", tag_field="role"):
    content: str | None
    name: str


Message = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage


class FunctionDef(Base):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(Base):
    type: str = "function"  # "custom" tools exist too; providers refuse what they cannot send
    function: FunctionDef | None = None


class ToolChoiceFunction(Base):
    name: str


class NamedToolChoice(Base):
    type: str = "function"
    function: ToolChoiceFunction | None = None


class StreamOptions(Base):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class JSONSchema(Base):
    name: str
    description: str | None = None
    # `schema` shadows a Struct attribute name in some tools; keep the wire name explicitly.
    schema_: dict[str, Any] | None = msgspec.field(default=None, name="schema")
    strict: bool | None = None


class ResponseFormatText(Base, tag="text", tag_field="type"):
    pass


class ResponseFormatJSONObject(Base, tag="json_object", tag_field="type"):
    pass


class ResponseFormatJSONSchema(Base, tag="json_schema", tag_field="type"):
    json_schema: JSONSchema


ResponseFormat = ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema


class ChatCompletionRequest(Base):
    """`POST /v1/chat/completions` — every field of `completion_create_params`."""

    messages: list[Message]
    model: str = ""
    audio: dict[str, Any] | None = None
    frequency_penalty: float | None = None
    function_call: str | ToolChoiceFunction | None = None
    functions: list[FunctionDef] | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    max_completion_tokens: int | None = None
    max_tokens: int | None = None
    metadata: dict[str, str] | None = None
    modalities: list[str] | None = None
    moderation: Any = None
    n: int | None = None
    parallel_tool_calls: bool | None = None
    prediction: dict[str, Any] | None = None
    presence_penalty: float | None = None
    prompt_cache_key: str | None = None
    prompt_cache_options: Any = None
    prompt_cache_retention: str | None = None
    reasoning_effort: str | None = None
    response_format: ResponseFormat | None = None
    safety_identifier: str | None = None
    seed: int | None = None
    service_tier: str | None = None
    stop: str | list[str] | None = None
    store: bool | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    tool_choice: str | NamedToolChoice | None = None
    tools: list[Tool] | None = None
    top_logprobs: int | None = None
    top_p: float | None = None
    user: str | None = None
    verbosity: str | None = None
    web_search_options: dict[str, Any] | None = None


CHAT_REQUEST_FIELDS = frozenset(f for f in ChatCompletionRequest.__struct_fields__)


class CompletionRequest(Base):
    """Legacy `POST /v1/completions`."""

    # str | list[str] | list[int] | list[list[int]]; msgspec allows one array type per union.
    prompt: str | list[str | int | list[int]]
    model: str = ""
    best_of: int | None = None
    echo: bool | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: int | None = None
    max_tokens: int | None = None
    n: int | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    suffix: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    user: str | None = None


class EmbeddingRequest(Base):
    input: str | list[str | int | list[int]]  # see CompletionRequest.prompt
    model: str = ""
    dimensions: int | None = None
    encoding_format: Literal["float", "base64"] | None = None
    user: str | None = None


# --- responses ----------------------------------------------------------------------------


class Out(Struct, kw_only=True):
    """OpenAI response convention: every field is sent (null included) unless it is UNSET."""


class PromptTokensDetails(Out):
    cached_tokens: int = 0
    audio_tokens: int | UnsetType = UNSET


class CompletionTokensDetails(Out):
    reasoning_tokens: int = 0
    audio_tokens: int | UnsetType = UNSET
    accepted_prediction_tokens: int | UnsetType = UNSET
    rejected_prediction_tokens: int | UnsetType = UNSET


class Usage(Out):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | UnsetType = UNSET
    completion_tokens_details: CompletionTokensDetails | UnsetType = UNSET


class TopLogprob(Out):
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprob(Out):
    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = []


class ChoiceLogprobs(Out):
    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None


class ResponseMessage(Out):
    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | UnsetType = UNSET
    function_call: FunctionCall | UnsetType = UNSET
    # Reasoning text of thinking models, kept out of `content` (the DeepSeek/Qwen convention).
    reasoning_content: str | UnsetType = UNSET
    # Vendor data for the client to echo back on the next turn (see AssistantMessage).
    extra_content: dict[str, Any] | UnsetType = UNSET


class Choice(Out):
    index: int
    message: ResponseMessage
    finish_reason: str | None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletion(Out):
    id: str
    choices: list[Choice]
    created: int
    model: str
    object: str = "chat.completion"
    usage: Usage | UnsetType = UNSET
    system_fingerprint: str | UnsetType = UNSET


class ToolCallDelta(Out):
    index: int
    id: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    function: dict[str, str] | UnsetType = UNSET  # {"name"?, "arguments"?}


class Delta(Out):
    role: str | UnsetType = UNSET
    content: str | None | UnsetType = UNSET
    reasoning_content: str | UnsetType = UNSET
    tool_calls: list[ToolCallDelta] | UnsetType = UNSET
    refusal: str | None | UnsetType = UNSET
    extra_content: dict[str, Any] | UnsetType = UNSET


class ChunkChoice(Out):
    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(Out):
    id: str
    choices: list[ChunkChoice]
    created: int
    model: str
    object: str = "chat.completion.chunk"
    # None ("usage": null) on every chunk when the client asked for include_usage.
    usage: Usage | None | UnsetType = UNSET
    system_fingerprint: str | UnsetType = UNSET


class Embedding(Out):
    index: int
    embedding: list[float] | str
    object: str = "embedding"


class EmbeddingUsage(Out):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(Out):
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
    object: str = "list"


class Model(Out):
    id: str
    created: int = 0
    owned_by: str = "aoa"
    object: str = "model"


class ModelList(Out):
    data: list[Model]
    object: str = "list"


class ErrorBody(Out):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorEnvelope(Out):
    error: ErrorBody


# Encoders/decoders are built once; msgspec caches the per-type plans inside them.
encoder = msgspec.json.Encoder()
encode = encoder.encode
_chat_decoder = msgspec.json.Decoder(ChatCompletionRequest)
_completion_decoder = msgspec.json.Decoder(CompletionRequest)
_embedding_decoder = msgspec.json.Decoder(EmbeddingRequest)


# --- helpers ------------------------------------------------------------------------------

_PATH = re.compile(r"`\$\.?([^`]*)`")


def validation_error(exc: msgspec.DecodeError) -> Error:
    """A msgspec error → a 400 that names the offending field as OpenAI's `param`."""
    text = str(exc)
    match = _PATH.search(text)
    param = match.group(1) if match else None
    if isinstance(exc, msgspec.ValidationError):
        return Error(400, f"Invalid request: {text}", param=param or None, code="invalid_type")
    return Error(400, f"Request body is not valid JSON: {text}", code="invalid_json")


def decode_chat(body: bytes) -> ChatCompletionRequest:
    try:
        return _chat_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise validation_error(exc) from None


def decode_completion(body: bytes) -> CompletionRequest:
    try:
        return _completion_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise validation_error(exc) from None


def decode_embedding(body: bytes) -> EmbeddingRequest:
    try:
        return _embedding_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise validation_error(exc) from None


def text_of(content: str | list[ContentPart] | None) -> str:
    """The text of a message's content; non-text parts contribute nothing."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.text for p in content if isinstance(p, TextPart))


def stop_list(stop: str | list[str] | None) -> list[str] | None:
    if stop is None:
        return None
    return [stop] if isinstance(stop, str) else stop


def embedding_inputs(req: EmbeddingRequest) -> list[str]:
    """OpenAI's `input` as a list of strings; token-id input cannot be translated."""
    value = req.input
    if isinstance(value, str):
        return [value]
    if value and not all(isinstance(v, str) for v in value):
        raise Error(
            400,
            "Token-id input is not supported by this upstream; send text.",
            param="input",
            code="unsupported_value",
        )
    if not value:
        raise Error(400, "`input` must not be empty.", param="input")
    return list(value)  # type: ignore[arg-type]


def float32_base64(vector: list[float]) -> str:
    """OpenAI's base64 embedding encoding: little-endian float32, base64."""
    import array

    arr = array.array("f", vector)
    if sys.byteorder != "little":
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode("ascii")


def embedding_list(
    vectors: list[list[float]], model: str, prompt_tokens: int, encoding_format: str | None
) -> bytes:
    as_b64 = encoding_format == "base64"
    data = [
        Embedding(index=i, embedding=float32_base64(v) if as_b64 else v)
        for i, v in enumerate(vectors)
    ]
    usage = EmbeddingUsage(prompt_tokens=prompt_tokens, total_tokens=prompt_tokens)
    return encode(EmbeddingList(data=data, model=model, usage=usage))


# --- legacy completions on top of chat ----------------------------------------------------


def completion_to_chat(req: CompletionRequest) -> ChatCompletionRequest:
    """A legacy completion as one user turn, for upstreams that only have chat."""
    prompt = req.prompt
    if not isinstance(prompt, str):
        if len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        else:
            raise Error(
                400,
                "Only a single text prompt can be translated for this upstream.",
                param="prompt",
                code="unsupported_value",
            )
    for name in ("best_of", "echo", "suffix", "logprobs"):
        value = getattr(req, name)
        if value not in (None, False, 1 if name == "best_of" else None):
            raise Error(400, f"`{name}` is not supported by this upstream.", param=name)
    return ChatCompletionRequest(
        model=req.model,
        messages=[UserMessage(content=prompt)],
        frequency_penalty=req.frequency_penalty,
        logit_bias=req.logit_bias,
        max_tokens=req.max_tokens,
        n=req.n,
        presence_penalty=req.presence_penalty,
        seed=req.seed,
        stop=req.stop,
        stream=req.stream,
        stream_options=req.stream_options,
        temperature=req.temperature,
        top_p=req.top_p,
        user=req.user,
    )


class _ChatIn(Struct):
    id: str
    created: int
    model: str
    choices: list[dict[str, Any]]
    usage: Any = None
    system_fingerprint: str | None = None


_chat_in_decoder = msgspec.json.Decoder(_ChatIn)


def chat_to_completion(body: bytes, chunk: bool) -> bytes:
    """A chat.completion(.chunk) body → text_completion; tool calls have no legacy form."""
    doc = _chat_in_decoder.decode(body)
    choices = []
    for c in doc.choices:
        part = c.get("delta" if chunk else "message") or {}
        choices.append(
            {
                "index": c.get("index", 0),
                "text": part.get("content") or "",
                "finish_reason": c.get("finish_reason"),
                "logprobs": None,
            }
        )
    out: dict[str, Any] = {
        "id": doc.id.replace("chatcmpl-", "cmpl-", 1),
        "object": "text_completion",
        "created": doc.created,
        "model": doc.model,
        "choices": choices,
    }
    if doc.usage is not None or not chunk:
        out["usage"] = doc.usage
    return encode(out)


# --- assembling a stream into one completion ---------------------------------------------


class _DeltaIn(Struct, frozen=True):
    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class _ChunkChoiceIn(Struct):
    index: int = 0
    delta: _DeltaIn = _DeltaIn()
    finish_reason: str | None = None


class _ChunkIn(Struct):
    id: str = ""
    created: int = 0
    model: str = ""
    choices: list[_ChunkChoiceIn] = []
    usage: Usage | None = None
    system_fingerprint: str | None = None


_chunk_in_decoder = msgspec.json.Decoder(_ChunkIn)


class Assembler:
    """Folds encoded chat.completion.chunk payloads into one chat.completion.

    Used when a client asked for one JSON answer but the upstream (or the provider's choice)
    streams: the stream's text, tool calls, finish reasons and usage come out exactly as a
    non-stream call would give them.
    """

    def __init__(self) -> None:
        self.id = ""
        self.created = 0
        self.model = ""
        self.usage: Usage | None = None
        self.fingerprint: str | None = None
        self.text: dict[int, list[str]] = {}
        self.reasoning: dict[int, list[str]] = {}
        self.refusal: dict[int, list[str]] = {}
        self.finish: dict[int, str | None] = {}
        self.tools: dict[int, dict[int, dict[str, Any]]] = {}

    def feed(self, payload: bytes) -> None:
        chunk = _chunk_in_decoder.decode(payload)
        self.id = self.id or chunk.id
        self.created = self.created or chunk.created
        self.model = self.model or chunk.model
        self.fingerprint = self.fingerprint or chunk.system_fingerprint
        if chunk.usage is not None:
            self.usage = chunk.usage
        for c in chunk.choices:
            i = c.index
            self.finish.setdefault(i, None)
            d = c.delta
            if d.content:
                self.text.setdefault(i, []).append(d.content)
            if d.reasoning_content:
                self.reasoning.setdefault(i, []).append(d.reasoning_content)
            if d.refusal:
                self.refusal.setdefault(i, []).append(d.refusal)
            for tc in d.tool_calls or ():
                slot = self.tools.setdefault(i, {}).setdefault(
                    tc.get("index", 0), {"id": "", "name": "", "arguments": []}
                )
                slot["id"] = slot["id"] or tc.get("id") or ""
                fn = tc.get("function") or {}
                slot["name"] = slot["name"] or fn.get("name") or ""
                if fn.get("arguments"):
                    slot["arguments"].append(fn["arguments"])
            if c.finish_reason:
                self.finish[i] = c.finish_reason

    def result(self) -> ChatCompletion:
        choices = []
        for i in sorted(self.finish):
            msg = ResponseMessage(
                content="".join(self.text[i]) if i in self.text else None,
                refusal="".join(self.refusal[i]) if i in self.refusal else None,
            )
            if i in self.reasoning:
                msg.reasoning_content = "".join(self.reasoning[i])
            if i in self.tools:
                msg.tool_calls = [
                    ToolCall(
                        id=t["id"],
                        function=FunctionCall(name=t["name"], arguments="".join(t["arguments"])),
                    )
                    for _, t in sorted(self.tools[i].items())
                ]
            choices.append(Choice(index=i, message=msg, finish_reason=self.finish[i]))
        out = ChatCompletion(id=self.id, choices=choices, created=self.created, model=self.model)
        if self.usage is not None:
            out.usage = self.usage
        if self.fingerprint:
            out.system_fingerprint = self.fingerprint
        return out
