"""Chat Completions: the request, the response and the stream chunk (`openai/types/chat/*`)."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, Struct, UnsetType

from .base import Base, Out
from .errors import validation_error

# --- request ------------------------------------------------------------------------------


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


# --- responses ----------------------------------------------------------------------------


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


_chat_decoder = msgspec.json.Decoder(ChatCompletionRequest)


def decode_chat(body: bytes) -> ChatCompletionRequest:
    try:
        return _chat_decoder.decode(body)
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
