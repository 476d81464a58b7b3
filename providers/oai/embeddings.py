"""Embeddings (`openai/types/embedding*.py`)."""

from __future__ import annotations

import base64
import sys
from typing import Literal

import msgspec

from ..core import Error
from .base import Base, Out, encode
from .errors import validation_error


class EmbeddingRequest(Base):
    input: str | list[str | int | list[int]]  # see CompletionRequest.prompt
    model: str = ""
    dimensions: int | None = None
    encoding_format: Literal["float", "base64"] | None = None
    user: str | None = None


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


_embedding_decoder = msgspec.json.Decoder(EmbeddingRequest)


def decode_embedding(body: bytes) -> EmbeddingRequest:
    try:
        return _embedding_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise validation_error(exc) from None


def embedding_inputs(req: EmbeddingRequest) -> list[str]:
    """OpenAI's `input` as a list of strings; token-id input cannot be translated."""
    value = req.input
    if isinstance(value, str):
        return [value]
    if value and not all(isinstance(v, str) for v in value):
        raise Error(
            400,
            "Token-id input (lists of integers) cannot be sent to this upstream, which only takes text: "
            "send strings. LangChain's OpenAIEmbeddings sends token ids by default; create it with "
            "check_embedding_ctx_length=False.",
            param="input",
            code="unsupported_value",
        )
    if not value:
        raise Error(400, "`input` must not be empty.", param="input")
    return list(value)  # type: ignore[arg-type]


# OpenAI's own limit on inputs per request; a translating upstream batches them, so without it one
# request could fan out into thousands of upstream calls.
MAX_INPUTS = 2048


def embedding_texts(req: EmbeddingRequest) -> list[str]:
    """`embedding_inputs` for an upstream aoa batches itself: at most MAX_INPUTS, dimensions ≥ 1."""
    texts = embedding_inputs(req)
    if len(texts) > MAX_INPUTS:
        raise Error(400, f"`input` holds {len(texts)} texts; at most {MAX_INPUTS} per request.", param="input", code="invalid_value")
    if req.dimensions is not None and req.dimensions < 1:
        raise Error(400, "`dimensions` must be at least 1.", param="dimensions", code="invalid_value")
    return texts


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
