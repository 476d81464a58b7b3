"""Gemini embeddings (`:batchEmbedContents`) and the model list."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

import msgspec
from msgspec import Struct

from .. import oai
from ..core import Call, Error, Outbound, top_level
from .endpoint import Settings, base, headers_for, model_path, model_url
from .tables import EMBED_BATCH, EMBED_NATIVE_SIZE, MODELS_PAGE_SIZE, TASK_TYPES, VERTEX_EMBED_BATCH, VERTEX_EMBED_BATCH_FALLBACK
from .wire import (
    BatchEmbedContentsRequest,
    Content,
    EmbedContentRequest,
    Part,
    PredictInstance,
    PredictParameters,
    PredictRequest,
    embed_decoder,
    encode,
    models_decoder,
    predict_decoder,
)

class EmbedExtras(Struct):
    """Gemini's embedding options as top-level request fields (the openai SDK's `extra_body`)."""

    task_type: str | None = None  # RETRIEVAL_QUERY, RETRIEVAL_DOCUMENT, … (TASK_TYPES), any case
    title: str | None = None  # only with RETRIEVAL_DOCUMENT, as Google documents it


_embed_extras_decoder = msgspec.json.Decoder(EmbedExtras)


def embed_extras(call: Call) -> EmbedExtras:
    extra = top_level(call, _embed_extras_decoder, EmbedExtras, {"task_type": "a string", "title": "a string"})
    if extra.task_type is not None:
        extra.task_type = extra.task_type.strip().upper()
        if extra.task_type not in TASK_TYPES:
            raise Error(400, f"`task_type` must be one of {', '.join(sorted(TASK_TYPES))}.", param="task_type", code="invalid_value")
    if extra.title is not None and extra.task_type != "RETRIEVAL_DOCUMENT":
        raise Error(400, "`title` is only accepted with task_type RETRIEVAL_DOCUMENT.", param="title", code="invalid_value")
    return extra


def embeddings(s: Settings, call: Call) -> list[Outbound]:
    req = oai.decode_embedding(call.body)
    texts = oai.embedding_texts(req)
    extra = embed_extras(call)
    if s.vertex:
        return _vertex_embeddings(s, call, texts, extra, req.dimensions)
    name = model_path(call.model)
    url = f"{base(s)}/{name}:batchEmbedContents"
    outs = []
    for i in range(0, len(texts), EMBED_BATCH):
        batch = BatchEmbedContentsRequest(requests=[
            EmbedContentRequest(
                model=name,
                content=Content(parts=[Part(text=t)]),
                task_type=extra.task_type,
                title=extra.title,
                output_dimensionality=req.dimensions,
            )
            for t in texts[i : i + EMBED_BATCH]
        ])
        outs.append(Outbound(url=url, headers=headers_for(s, call.key), body=encode(batch)))
    return outs


def _decoded(decoder: msgspec.json.Decoder, body: bytes, what: str) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Error(502, f"{what} with an unexpected body: {exc}", code="upstream_invalid_json") from None
    except RecursionError:
        raise Error(502, f"{what} with JSON nested too deeply.", code="upstream_invalid_json") from None


def vertex_embed_batch(model: str) -> int:
    name = model.rsplit("/", 1)[-1]
    return next((n for prefix, n in VERTEX_EMBED_BATCH.items() if name.startswith(prefix)), VERTEX_EMBED_BATCH_FALLBACK)


def _vertex_embeddings(s: Settings, call: Call, texts: list[str], extra: EmbedExtras, dimensions: int | None) -> list[Outbound]:
    url = model_url(s, call.model) + ":predict"
    size = vertex_embed_batch(call.model)
    params = PredictParameters(output_dimensionality=dimensions)
    return [
        Outbound(
            url=url,
            headers=headers_for(s, call.key),
            body=encode(PredictRequest(
                instances=[PredictInstance(content=t, task_type=extra.task_type, title=extra.title) for t in texts[i : i + size]],
                parameters=params,
            )),
        )
        for i in range(0, len(texts), size)
    ]


def _vertex_vectors(bodies: list[bytes]) -> tuple[list[list[float]], int]:
    vectors: list[list[float]] = []
    tokens = 0
    for body in bodies:
        doc = _decoded(predict_decoder, body, "Vertex AI answered embeddings")
        for p in doc.predictions:
            if p.embeddings is None:
                raise Error(502, "Vertex AI answered a prediction without embeddings.", code="upstream_invalid_json")
            vectors.append(p.embeddings.values)
            tokens += int(p.embeddings.statistics.token_count)
    return vectors, tokens


def embeddings_result(s: Settings, call: Call, bodies: list[bytes]) -> bytes:
    """prompt_tokens is Gemini's usageMetadata.promptTokenCount where sent, else 0."""
    req = oai.decode_embedding(call.body)
    vectors, tokens = _vertex_vectors(bodies) if s.vertex else _gemini_vectors(bodies)
    expected = len(oai.embedding_inputs(req))
    if len(vectors) != expected:
        raise Error(502, f"Gemini returned {len(vectors)} embeddings for {expected} texts.", code="upstream_invalid_json")
    if needs_normalising(call.model, req.dimensions):
        vectors = [normalised(v) for v in vectors]
    return oai.embedding_list(vectors, call.model, tokens, req.encoding_format)


def _gemini_vectors(bodies: list[bytes]) -> tuple[list[list[float]], int]:
    vectors: list[list[float]] = []
    tokens = 0
    for body in bodies:
        doc = _decoded(embed_decoder, body, "Gemini answered embeddings")
        vectors += [e.values for e in doc.embeddings]
        if doc.usage_metadata is not None:
            tokens += doc.usage_metadata.prompt_token_count
    return vectors, tokens


def needs_normalising(model: str, dimensions: int | None) -> bool:
    """Google returns unit vectors only at the model's full size; OpenAI clients take the dot
    product as the cosine, so shorter vectors are scaled to unit length. A model the table does
    not know is normalised whenever `dimensions` is given (a unit vector stays one)."""
    if dimensions is None:
        return False
    native = EMBED_NATIVE_SIZE.get(model.rsplit("/", 1)[-1])
    return native is None or dimensions < native


def normalised(v: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(x * x for x in v))
    return [x / norm for x in v] if norm > 0 else v


def models(s: Settings, call: Call, page: str | None) -> Outbound | None:
    """Gemini API: `GET {ver}/models`. Vertex AI on a project: Google's publisher models
    (`GET v1beta1/publishers/google/models`, the list the official SDK reads); express mode has
    no list, so /v1/models shows the configured names."""
    if s.vertex and not s.project:
        return None
    if s.vertex:
        url = f"{s.common.endpoint}/v1beta1/publishers/google/models?pageSize={MODELS_PAGE_SIZE}"
    else:
        url = f"{base(s)}/models?pageSize={MODELS_PAGE_SIZE}"
    if page:
        url += "&pageToken=" + quote(page, safe="")
    return Outbound(method="GET", url=url, headers=headers_for(s, call.key))


def models_result(s: Settings, body: bytes) -> tuple[list[str], str | None]:
    doc = _decoded(models_decoder, body, "Gemini answered the model list")
    names = [m.name.removeprefix("models/") for m in doc.models if m.name]
    names += [m.name.rsplit("/", 1)[-1] for m in doc.publisher_models if m.name]
    return names, doc.next_page_token or None


