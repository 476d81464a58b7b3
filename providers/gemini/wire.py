"""Gemini wire types, names as in the official SDK's `google/genai/types.py`.

Declared: only the fields aoa sends or reads. Decoders and the encoder are built once here.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

__all__ = [
    "G",
    "Blob",
    "FileData",
    "FunctionCall",
    "FunctionResponse",
    "Part",
    "Content",
    "ThinkingConfig",
    "GenerationConfig",
    "FunctionDeclaration",
    "Tool",
    "FunctionCallingConfig",
    "ToolConfig",
    "SafetySetting",
    "GenerateContentRequest",
    "LogprobCandidate",
    "TopCandidates",
    "LogprobsResult",
    "Candidate",
    "PromptFeedback",
    "UsageMetadata",
    "GenerateContentResponse",
    "EmbedContentRequest",
    "BatchEmbedContentsRequest",
    "ContentEmbedding",
    "BatchEmbedContentsResponse",
    "ListModelsResponse",
    "PredictInstance",
    "PredictParameters",
    "PredictRequest",
    "PredictResponse",
    "encode",
    "response_decoder",
    "embed_decoder",
    "models_decoder",
    "error_decoder",
    "predict_decoder",
]


class G(Struct, rename="camel", omit_defaults=True, kw_only=True):
    """Gemini's convention: camelCase, absent fields omitted."""


# A count an upstream reports: negative or past 2**53 (where JSON clients lose integers) is
# garbage, refused with a 502 like any other malformed answer rather than relayed.
Count = Annotated[int, Meta(ge=0, le=2**53 - 1)]


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
    thinking_level: str | None = None


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
    index: Count | None = None
    logprobs_result: LogprobsResult | None = None


class PromptFeedback(G):
    block_reason: str | None = None
    block_reason_message: str | None = None


class UsageMetadata(G):
    prompt_token_count: Count = 0
    candidates_token_count: Count = 0
    thoughts_token_count: Count = 0
    cached_content_token_count: Count = 0
    total_token_count: Count | None = None


class GenerateContentResponse(G):
    candidates: list[Candidate] | None = None
    prompt_feedback: PromptFeedback | None = None
    usage_metadata: UsageMetadata | None = None
    model_version: str | None = None
    error: Any = None  # a stream may end with Google's error envelope as data


response_decoder = msgspec.json.Decoder(GenerateContentResponse)
encode = msgspec.json.Encoder().encode

# --- embeddings and models ---


class EmbedContentRequest(G):
    model: str
    content: Content
    task_type: str | None = None
    title: str | None = None
    output_dimensionality: int | None = None


class BatchEmbedContentsRequest(G):
    requests: list[EmbedContentRequest]


class ContentEmbedding(G):
    values: list[float] = []


class _EmbedUsage(G):
    prompt_token_count: Count = 0


class BatchEmbedContentsResponse(G):
    embeddings: list[ContentEmbedding] = []
    usage_metadata: _EmbedUsage | None = None


embed_decoder = msgspec.json.Decoder(BatchEmbedContentsResponse)


class _Model(G):
    name: str = ""


class ListModelsResponse(G):
    models: list[_Model] = []
    publisher_models: list[_Model] = []  # Vertex AI's list of Google's models
    next_page_token: str | None = None


# --- Vertex AI embeddings (`:predict`, the instances/predictions convention, snake_case inside)
# https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api


class PredictInstance(Struct, omit_defaults=True, kw_only=True):
    content: str
    task_type: str | None = None
    title: str | None = None


class PredictParameters(G):
    output_dimensionality: int | None = None


class PredictRequest(Struct, kw_only=True):
    instances: list[PredictInstance]
    parameters: PredictParameters


class _PredictStatistics(Struct, frozen=True):
    token_count: Annotated[float, Meta(ge=0, le=2**53 - 1)] = 0  # Vertex sends a number, not always an integer
    truncated: bool = False


class _PredictEmbedding(Struct):
    values: list[float] = []
    statistics: _PredictStatistics = _PredictStatistics()


class _Prediction(Struct):
    embeddings: _PredictEmbedding | None = None


class PredictResponse(Struct):
    predictions: list[_Prediction] = []


predict_decoder = msgspec.json.Decoder(PredictResponse)


models_decoder = msgspec.json.Decoder(ListModelsResponse)

# --- errors ---


class _Status(G):
    code: int | None = None
    message: str = ""
    status: str | None = None


class _Envelope(G):
    error: _Status | None = None


error_decoder = msgspec.json.Decoder(_Envelope | list[_Envelope])

