"""Gemini translation, round 2: thinking per model family, foreign tool calls on Gemini 3, text
signatures, file/audio/video parts, normalised embeddings and task types. Pure, table-driven.

Values come from Google's docs: https://ai.google.dev/gemini-api/docs/thinking (levels, budget
ranges), .../thought-signatures (dummy signatures), .../openai#thinking (effort mapping),
.../embeddings (task types, normalisation), .../document-processing, .../video-understanding.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import msgspec
import pytest

from providers import gemini
from providers.core import Call, Error, Media, NeedMedia
from tests.fakes.gemini_api import check_request

S = gemini.load_settings({})


def _call(body: dict, **kw) -> Call:
    fields = {k: msgspec.Raw(msgspec.json.encode(v)) for k, v in body.items()}
    model = body.get("model", "gemini-2.5-flash")
    opts = {"id": "chatcmpl-t", "created": 1, "model": model, "client_model": model, "key": "k", **kw}
    return Call(body=msgspec.json.encode(body), fields=fields, **opts)


def _sent(body: dict, **kw) -> dict:
    return json.loads(gemini.chat(S, _call(body, **kw)).body)


def _ask(model: str, **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "x"}], **extra}


# --- thinking ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("model", "effort", "config"), [
    # Gemini 3 Pro: low and high only.
    ("gemini-3-pro-preview", "minimal", {"thinkingLevel": "LOW"}),
    ("gemini-3-pro-preview", "low", {"thinkingLevel": "LOW"}),
    ("gemini-3-pro-preview", "medium", {"thinkingLevel": "HIGH"}),
    ("gemini-3-pro-preview", "high", {"thinkingLevel": "HIGH"}),
    # Gemini 3.1 Pro adds medium, not minimal.
    ("gemini-3.1-pro-preview", "minimal", {"thinkingLevel": "LOW"}),
    ("gemini-3.1-pro-preview", "medium", {"thinkingLevel": "MEDIUM"}),
    # Gemini 3 Flash takes all four.
    ("gemini-3-flash-preview", "minimal", {"thinkingLevel": "MINIMAL"}),
    ("gemini-3-flash-preview", "medium", {"thinkingLevel": "MEDIUM"}),
    ("models/gemini-3-flash-preview", "high", {"thinkingLevel": "HIGH"}),
    # 2.5 keeps budgets.
    ("gemini-2.5-flash", "none", {"thinkingBudget": 0}),
    ("gemini-2.5-flash", "low", {"thinkingBudget": 1024}),
    ("gemini-2.5-flash-lite", "minimal", {"thinkingBudget": 512}),
    ("gemini-2.5-pro", "minimal", {"thinkingBudget": 512}),
    ("gemini-2.5-pro", "high", {"thinkingBudget": 24576}),
    # A name the table does not know keeps the 2.5 behaviour.
    ("tunedModels/my-model-123", "medium", {"thinkingBudget": 8192}),
])
def test_reasoning_effort_by_family(model, effort, config):
    sent = _sent(_ask(model, reasoning_effort=effort))
    if config.get("thinkingBudget", 1):
        config = {**config, "includeThoughts": True}
    assert sent["generationConfig"]["thinkingConfig"] == config
    assert check_request(sent, model.rsplit("/", 1)[-1]) is None  # the fake (as Google) accepts it


@pytest.mark.parametrize("model", ["gemini-3-pro-preview", "gemini-3-flash-preview", "gemini-2.5-pro", "gemini-2.0-flash"])
@pytest.mark.parametrize("effort", ["none", "low"])
def test_effort_a_model_cannot_honour_is_refused_or_dropped(model, effort):
    fam = gemini.family(model)
    if effort in fam.effort:
        return  # covered above
    if effort == "none" and not fam.effort:
        assert "generationConfig" not in _sent(_ask(model, reasoning_effort=effort))  # never thinks anyway
        return
    with pytest.raises(Error) as exc:
        gemini.chat(S, _call(_ask(model, reasoning_effort=effort)))
    assert exc.value.status == 400 and exc.value.param == "reasoning_effort"


def test_every_family_sends_only_values_gemini_takes():
    levels = {"gemini-3-pro": {"LOW", "HIGH"}, "gemini-3.1-pro": {"LOW", "MEDIUM", "HIGH"}, "gemini-3": {"MINIMAL", "LOW", "MEDIUM", "HIGH"}}
    for prefix, fam in gemini.MODEL_FAMILIES.items():
        for effort, value in fam.effort.items():
            assert effort in gemini.REASONING_EFFORTS
            if isinstance(value, str):
                assert value in levels[prefix], (prefix, effort)
            else:
                assert 0 <= value <= 24576 and (value >= 128 or not prefix.endswith("pro")), (prefix, effort)
        assert fam.signed_calls == prefix.startswith("gemini-3")


def test_thinking_level_extra_and_conflict():
    assert _sent(_ask("gemini-3-flash-preview", thinking_level="low", reasoning_effort="high"))["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "LOW"}}
    with pytest.raises(Error) as exc:
        gemini.chat(S, _call(_ask("gemini-3-flash-preview", thinking_level="low", thinking_budget=100)))
    assert exc.value.param == "thinking_level"
    with pytest.raises(Error) as exc:
        gemini.chat(S, _call(_ask("gemini-3-flash-preview", thinking_level=3)))
    assert exc.value.param == "thinking_level" and "string" in exc.value.message


# --- foreign tool calls and signatures --------------------------------------------------------

def _history(model: str, ids: list[str]) -> dict:
    calls = [{"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}} for i in ids]
    return {"model": model, "messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "tool_calls": calls},
        *({"role": "tool", "tool_call_id": i, "content": "ok"} for i in ids),
        {"role": "assistant", "tool_calls": calls[:1]},
        {"role": "tool", "tool_call_id": ids[0], "content": "ok"},
    ]}


@pytest.mark.parametrize(("model", "signed"), [("gemini-3-flash-preview", True), ("gemini-3-pro-preview", True), ("gemini-2.5-flash", False)])
def test_foreign_calls_get_the_dummy_signature_on_gemini_3(model, signed):
    sent = _sent(_history(model, ["call_a", "call_b"]))
    steps = [c["parts"] for c in sent["contents"] if c["role"] == "model"]
    assert len(steps) == 2
    for parts in steps:
        sigs = [p.get("thoughtSignature") for p in parts]
        assert sigs[0] == (gemini.FOREIGN_SIGNATURE if signed else None)
        assert all(s is None for s in sigs[1:])  # parallel calls after the first stay unsigned
    fake_view = check_request(sent, model)
    assert fake_view is None if signed or not model.startswith("gemini-3") else fake_view


def test_unsigned_foreign_calls_are_what_the_fake_refuses():
    # Without the dummy signature, the fake answers as Google does.
    body = _sent(_history("gemini-3-flash-preview", ["call_a"]))
    for c in body["contents"]:
        for p in c["parts"]:
            p.pop("thoughtSignature", None)
    assert "missing a thought_signature" in check_request(body, "gemini-3-flash-preview")


def test_gemini_signatures_are_kept_not_replaced():
    tid = gemini.tool_call_id(_call(_ask("gemini-3-flash-preview")), 0, 0, "c2lnbmVk")
    sent = _sent(_history("gemini-3-flash-preview", [tid, "call_client_b"]))
    first_step = next(c["parts"] for c in sent["contents"] if c["role"] == "model")
    assert [p.get("thoughtSignature") for p in first_step] == ["c2lnbmVk", None]


def test_text_signature_out_and_back():
    body = json.dumps({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "a", "thought": True, "thoughtSignature": "dGhvdWdodA=="}, {"text": "Hi"}, {"text": "!", "thoughtSignature": "bGFzdA=="}]}, "finishReason": "STOP"}]}).encode()
    msg = json.loads(gemini.chat_result(S, _call(_ask("gemini-3-flash-preview")), body))["choices"][0]["message"]
    assert msg["content"] == "Hi!" and msg["extra_content"] == {"google": {"thought_signature": "bGFzdA=="}}
    follow = {"model": "gemini-3-flash-preview", "messages": [{"role": "user", "content": "x"}, msg, {"role": "user", "content": "y"}]}
    assert _sent(follow)["contents"][1] == {"role": "model", "parts": [{"text": "Hi!", "thoughtSignature": "bGFzdA=="}]}
    # Other vendors' extras are not Gemini's business: ignored.
    for other in ({"other": {}}, {"google": {}}, {"google": None}):
        follow["messages"][1] = {"role": "assistant", "content": "Hi", "extra_content": other}
        assert _sent(follow)["contents"][1] == {"role": "model", "parts": [{"text": "Hi"}]}
    # A `google` entry of the wrong shape is a 400 naming it, never a crash nor a silent drop.
    for junk, param in (({"google": "x"}, "messages[1].extra_content.google"),
                        ({"google": {"thought_signature": 5}}, "messages[1].extra_content.google.thought_signature")):
        follow["messages"][1] = {"role": "assistant", "content": "Hi", "extra_content": junk}
        with pytest.raises(Error) as exc:
            _sent(follow)
        assert exc.value.status == 400 and exc.value.param == param
    tool_turn = {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"},
                                                      "extra_content": {"google": {"thought_signature": ["x"]}}}]}
    follow["messages"][1] = tool_turn
    with pytest.raises(Error) as exc:
        _sent(follow)
    assert exc.value.param == "messages[1].tool_calls[0].extra_content.google.thought_signature"


def test_parallel_tool_calls_false_is_accepted_and_not_sent():
    # Gemini has no switch for it (documented as ignored): agents such as Codex always send it.
    sent = _sent(_ask("gemini-2.5-flash", parallel_tool_calls=False, tools=[{"type": "function", "function": {"name": "f"}}]))
    assert "parallel" not in json.dumps(sent).lower()
    assert "parallel_tool_calls" in gemini.IGNORED


# --- parts -------------------------------------------------------------------------------------

PDF = b"%PDF-1.4 tiny"
PDF_URL = "data:application/pdf;base64," + base64.b64encode(PDF).decode()


@pytest.mark.parametrize(("part", "media", "expected"), [
    ({"type": "file", "file": {"file_data": PDF_URL, "filename": "a.pdf"}}, {},
     {"inlineData": {"mimeType": "application/pdf", "data": base64.b64encode(PDF).decode()}}),
    ({"type": "file", "file": {"file_data": base64.b64encode(b"a,b").decode(), "filename": "t.csv"}}, {},
     {"inlineData": {"mimeType": "text/csv", "data": "YSxi"}}),
    ({"type": "file", "file": {"file_data": "https://example.com/paper"}}, {"https://example.com/paper": Media("application/pdf", PDF)},
     {"inlineData": {"mimeType": "application/pdf", "data": base64.b64encode(PDF).decode()}}),
    ({"type": "file", "file": {"file_data": "https://example.com/a.pdf"}}, {"https://example.com/a.pdf": Media("application/octet-stream", PDF)},
     {"inlineData": {"mimeType": "application/pdf", "data": base64.b64encode(PDF).decode()}}),
    ({"type": "file", "file": {"file_data": "gs://bucket/report.pdf"}}, {},
     {"fileData": {"fileUri": "gs://bucket/report.pdf", "mimeType": "application/pdf"}}),
    ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, {},
     {"inlineData": {"mimeType": "audio/wav", "data": "AAAA"}}),
    ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "flac"}}, {},
     {"inlineData": {"mimeType": "audio/flac", "data": "AAAA"}}),
    ({"type": "video_url", "video_url": {"url": "gs://cloud-samples-data/video/animals.mp4"}}, {},
     {"fileData": {"fileUri": "gs://cloud-samples-data/video/animals.mp4", "mimeType": "video/mp4"}}),
    ({"type": "video_url", "video_url": {"url": "https://www.youtube.com/watch?v=9hE5-98ZeCg"}}, {},
     {"fileData": {"fileUri": "https://www.youtube.com/watch?v=9hE5-98ZeCg"}}),
    ({"type": "video_url", "video_url": {"url": "https://example.com/clip.webm"}}, {"https://example.com/clip.webm": Media("application/octet-stream", b"\x1aE")},
     {"inlineData": {"mimeType": "video/webm", "data": "GkU="}}),
    ({"type": "video_url", "video_url": {"url": "data:video/mp4;base64,AAAA"}}, {},
     {"inlineData": {"mimeType": "video/mp4", "data": "AAAA"}}),
    ({"type": "image_url", "image_url": {"url": "gs://bucket/clip.mov"}}, {},
     {"fileData": {"fileUri": "gs://bucket/clip.mov", "mimeType": "video/mov"}}),
])
def test_parts_table(part, media, expected):
    body = {"messages": [{"role": "user", "content": [part]}]}
    if media:
        with pytest.raises(NeedMedia) as exc:
            gemini.chat(S, _call(body))
        assert exc.value.urls == list(media)
    assert _sent(body, media=media)["contents"][0]["parts"] == [expected]


@pytest.mark.parametrize(("part", "media"), [
    ({"type": "file", "file": {"file_data": "https://example.com/a.zip"}}, {"https://example.com/a.zip": Media("application/zip", b"PK")}),
    ({"type": "file", "file": {"file_data": "gs://bucket/noext"}}, {}),
    ({"type": "file", "file": {"file_data": "gs://bucket/a.docx"}}, {}),
    ({"type": "video_url", "video_url": {"url": "https://example.com/x"}}, {"https://example.com/x": Media("text/html", b"<html>")}),
])
def test_unsupported_files_are_400_naming_the_part(part, media):
    with pytest.raises(Error) as exc:
        gemini.chat(S, _call({"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}, part]}]}, media=media))
    assert exc.value.status == 400 and exc.value.param == "messages[0].content[1]"


# --- embeddings --------------------------------------------------------------------------------

# A recorded answer at outputDimensionality 768 (source in tests/fixtures/gemini/SOURCE.md).
REAL_768_BODY = (Path(__file__).parent / "fixtures" / "gemini" / "batch-embed-contents-768.json").read_bytes()
REAL_768 = json.loads(REAL_768_BODY)["embeddings"][0]["values"]


@pytest.mark.parametrize(("model", "dims", "normalise"), [
    ("gemini-embedding-001", None, False),
    ("gemini-embedding-001", 3072, False),
    ("gemini-embedding-001", 768, True),
    ("models/gemini-embedding-001", 128, True),
    ("text-embedding-004", 768, False),
    ("text-embedding-004", 256, True),
    ("some-new-embedder", 64, True),
])
def test_normalisation_table(model, dims, normalise):
    assert gemini.needs_normalising(model, dims) is normalise


def test_reduced_dimensions_come_back_unit_length():
    # gemini-embedding-001 documents non-unit vectors below 3072; this newer model's are unit
    # already, and normalising keeps them as they are. Halved, they stand for the 001 case.
    halved = json.dumps({"embeddings": [{"values": [x / 2 for x in REAL_768]}]}).encode()
    body = {"model": "gemini-embedding-001", "input": ["a"], "dimensions": 768, "encoding_format": "float"}
    for upstream in (REAL_768_BODY, halved):
        out = json.loads(gemini.embeddings_result(S, _call(body), [upstream]))
        v = out["data"][0]["embedding"]
        assert math.fsum(x * x for x in v) == pytest.approx(1.0)
        assert v == pytest.approx(REAL_768, rel=1e-6)  # direction kept
    full = json.loads(gemini.embeddings_result(S, _call({**body, "dimensions": None}), [REAL_768_BODY]))
    assert full["data"][0]["embedding"] == REAL_768  # as Google sent it
    zero = json.loads(gemini.embeddings_result(S, _call(body), [b'{"embeddings":[{"values":[0.0,0.0]}]}']))
    assert zero["data"][0]["embedding"] == [0.0, 0.0]


@pytest.mark.parametrize(("extra", "sent"), [
    ({"task_type": "RETRIEVAL_QUERY"}, {"taskType": "RETRIEVAL_QUERY"}),
    ({"task_type": "retrieval_document", "title": "A doc"}, {"taskType": "RETRIEVAL_DOCUMENT", "title": "A doc"}),
    ({"task_type": "CODE_RETRIEVAL_QUERY"}, {"taskType": "CODE_RETRIEVAL_QUERY"}),
    ({}, {}),
])
def test_task_type_extra(extra, sent):
    outs = gemini.embeddings(S, _call({"model": "gemini-embedding-001", "input": ["a", "b"], **extra}))
    reqs = json.loads(outs[0].body)["requests"]
    assert all({k: r[k] for k in ("taskType", "title") if k in r} == sent for r in reqs)


@pytest.mark.parametrize(("extra", "param"), [
    ({"task_type": "SUMMARISE"}, "task_type"),
    ({"task_type": 3}, "task_type"),
    ({"title": "x"}, "title"),
    ({"dimensions": 0}, "dimensions"),
])
def test_task_type_errors(extra, param):
    with pytest.raises(Error) as exc:
        gemini.embeddings(S, _call({"model": "gemini-embedding-001", "input": "a", **extra}))
    assert exc.value.status == 400 and exc.value.param == param


def test_retry_codes():
    assert {"RESOURCE_EXHAUSTED", "UNAVAILABLE"} <= gemini.RETRY_CODES
    assert gemini.error(429, b'{"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED"}}').code in gemini.RETRY_CODES
    assert "INVALID_ARGUMENT" not in gemini.RETRY_CODES


def test_signature_on_a_tool_call_from_googles_openai_endpoint_is_used():
    # History recorded through Google's own OpenAI-compatible endpoint carries the signature in
    # tool_calls[].extra_content.google.thought_signature (https://ai.google.dev/gemini-api/docs/openai).
    body = _history("gemini-3-flash-preview", ["call_x"])
    for m in body["messages"]:
        for tc in m.get("tool_calls") or ():
            tc["extra_content"] = {"google": {"thought_signature": "Z29vZ2xl"}}
    steps = [c["parts"] for c in _sent(body)["contents"] if c["role"] == "model"]
    assert [p[0]["thoughtSignature"] for p in steps] == ["Z29vZ2xl", "Z29vZ2xl"]
