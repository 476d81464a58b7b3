"""Gemini embeddings (`:batchEmbedContents`) and the model list."""

from __future__ import annotations

from urllib.parse import quote

import msgspec

from .. import oai
from ..core import Call, Error, Outbound
from .endpoint import Settings, base, headers, model_path
from .tables import EMBED_BATCH, MODELS_PAGE_SIZE
from .wire import BatchEmbedContentsRequest, Content, EmbedContentRequest, Part, embed_decoder, encode, models_decoder

def embeddings(s: Settings, call: Call) -> list[Outbound]:
    req = oai.decode_embedding(call.body)
    texts = oai.embedding_inputs(req)
    name = model_path(call.model)
    url = f"{base(s)}/{name}:batchEmbedContents"
    outs = []
    for i in range(0, len(texts), EMBED_BATCH):
        batch = BatchEmbedContentsRequest(requests=[
            EmbedContentRequest(model=name, content=Content(parts=[Part(text=t)]), output_dimensionality=req.dimensions)
            for t in texts[i : i + EMBED_BATCH]
        ])
        outs.append(Outbound(url=url, headers=headers(call.key), body=encode(batch)))
    return outs


def embeddings_result(s: Settings, call: Call, bodies: list[bytes]) -> bytes:
    """prompt_tokens is Gemini's usageMetadata.promptTokenCount where sent, else 0."""
    req = oai.decode_embedding(call.body)
    vectors: list[list[float]] = []
    tokens = 0
    for body in bodies:
        try:
            doc = embed_decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise Error(502, f"Gemini answered embeddings with an unexpected body: {exc}", code="upstream_invalid_json") from None
        vectors += [e.values for e in doc.embeddings]
        if doc.usage_metadata is not None:
            tokens += doc.usage_metadata.prompt_token_count
    expected = len(oai.embedding_inputs(req))
    if len(vectors) != expected:
        raise Error(502, f"Gemini returned {len(vectors)} embeddings for {expected} texts.", code="upstream_invalid_json")
    return oai.embedding_list(vectors, call.model, tokens, req.encoding_format)


def models(s: Settings, call: Call, page: str | None) -> Outbound | None:
    url = f"{base(s)}/models?pageSize={MODELS_PAGE_SIZE}"
    if page:
        url += "&pageToken=" + quote(page, safe="")
    return Outbound(method="GET", url=url, headers=headers(call.key))


def models_result(s: Settings, body: bytes) -> tuple[list[str], str | None]:
    try:
        doc = models_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Error(502, f"Gemini answered the model list with an unexpected body: {exc}", code="upstream_invalid_json") from None
    return [m.name.removeprefix("models/") for m in doc.models if m.name], doc.next_page_token or None


