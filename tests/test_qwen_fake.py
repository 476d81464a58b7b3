"""The fake DashScope upstream is faithful: the official `dashscope` SDK talks to it and reads
its answers (non-stream, incremental stream, multimodal, embeddings, errors)."""

from __future__ import annotations

import dashscope
import pytest
from dashscope import Generation, MultiModalConversation, TextEmbedding

from tests.fakes.dashscope_api import FakeDashScope, frame

KEY = "sk-dashscope-test"


@pytest.fixture
def fake(serve, monkeypatch):
    fake = FakeDashScope(key=KEY)
    up = serve(fake.app())
    monkeypatch.setattr(dashscope, "base_http_api_url", up.url + "/api/v1")
    monkeypatch.setenv("DASHSCOPE_DISABLE_SDK_HEADERS", "1")
    return fake


def test_generation_non_stream(fake):
    r = Generation.call(model="qwen-plus", api_key=KEY, messages=[{"role": "user", "content": "hello there"}], result_format="message", temperature=0)
    assert r.status_code == 200
    assert r.output.choices[0].message.content == "echo: hello there"
    assert r.output.choices[0].finish_reason == "stop"
    assert r.usage.output_tokens == 3 and r.request_id
    assert fake.last.path == "/api/v1/services/aigc/text-generation/generation"
    assert fake.last.headers["Authorization"] == f"Bearer {KEY}"
    assert "X-DashScope-SSE" not in fake.last.headers
    assert fake.last.json["parameters"]["temperature"] == 0


def test_generation_incremental_stream(fake):
    frames = list(Generation.call(model="qwen-plus", api_key=KEY, messages=[{"role": "user", "content": "a b c"}], result_format="message", stream=True, incremental_output=True))
    assert fake.last.headers["X-DashScope-SSE"] == "enable"
    assert fake.last.json["parameters"]["incremental_output"] is True
    assert "".join(f.output.choices[0].message.content for f in frames) == "echo: a b c"
    assert [f.output.choices[0].finish_reason for f in frames][-1] == "stop"
    assert all(f.output.choices[0].finish_reason == "null" for f in frames[:-1])
    assert frames[-1].usage.output_tokens == 4  # cumulative


def test_generation_cumulative_stream_without_incremental_output(fake):
    # The SDK asks for incremental frames itself for some models and merges them; talk raw here.
    import requests

    r = requests.post(
        dashscope.base_http_api_url + "/services/aigc/text-generation/generation",
        headers={"Authorization": f"Bearer {KEY}", "X-DashScope-SSE": "enable", "Accept": "text/event-stream"},
        json={"model": "qwen-plus", "input": {"messages": [{"role": "user", "content": "x y"}]}, "parameters": {"result_format": "message"}},
    )
    body = r.text
    assert body.startswith("id:1\nevent:result\n:HTTP_STATUS/200\ndata:{")
    assert '"content": "echo: x"' in body and '"content": "echo: x y"' in body


def test_multimodal_conversation(fake):
    msgs = [{"role": "user", "content": [{"image": "https://example.com/dog.png"}, {"text": "what is it"}]}]
    r = MultiModalConversation.call(model="qwen-vl-plus", api_key=KEY, messages=msgs)
    assert r.status_code == 200
    assert fake.last.path == "/api/v1/services/aigc/multimodal-generation/generation"
    assert r.output.choices[0].message.content[0]["text"].startswith("echo: what is it [1 image(s)")
    # The SDK sends data: URLs on unchanged (only local paths are uploaded first), as aoa does.
    data_url = "data:image/png;base64,iVBORw0KGgo="
    MultiModalConversation.call(model="qwen-vl-plus", api_key=KEY, messages=[{"role": "user", "content": [{"image": data_url}, {"text": "x"}]}])
    assert fake.last.json["input"]["messages"][0]["content"][0] == {"image": data_url}
    stream = list(MultiModalConversation.call(model="qwen-vl-plus", api_key=KEY, messages=msgs, stream=True, incremental_output=True))
    assert "".join(f.output.choices[0].message.content[0]["text"] for f in stream if f.output.choices[0].message.content).startswith("echo: what")


def test_multimodal_video_as_url_and_frames(fake):
    # The SDK's documented video shapes (https://help.aliyun.com/zh/model-studio/vision): a video
    # URL, and a list of frame images; both reach the service unchanged, as aoa sends them.
    frames = ["https://example.com/f1.jpg", "https://example.com/f2.jpg"]
    msgs = [{"role": "user", "content": [{"video": "https://example.com/clip.mp4"}, {"video": frames}, {"text": "what happens"}]}]
    r = MultiModalConversation.call(model="qwen-vl-max", api_key=KEY, messages=msgs)
    assert r.status_code == 200
    assert fake.last.json["input"]["messages"][0]["content"] == msgs[0]["content"]
    assert "[2 video(s)]" in r.output.choices[0].message.content[0]["text"]


def test_text_embedding(fake):
    r = TextEmbedding.call(model="text-embedding-v4", api_key=KEY, input=["a", "bb"], dimension=4)
    assert r.status_code == 200
    got = sorted(r.output["embeddings"], key=lambda e: e["text_index"])
    assert [len(e["embedding"]) for e in got] == [4, 4]
    too_many = TextEmbedding.call(model="text-embedding-v4", api_key=KEY, input=[str(i) for i in range(11)])
    assert too_many.status_code == 400 and too_many.code == "InvalidParameter"


def test_errors_reach_the_sdk(fake):
    r = Generation.call(model="qwen-plus", api_key="wrong", messages=[{"role": "user", "content": "hi"}], result_format="message")
    assert (r.status_code, r.code, r.message) == (401, "InvalidApiKey", "Invalid API-key provided.")
    fake.reply_sse([
        {"output": {"choices": [{"message": {"role": "assistant", "content": "par"}, "finish_reason": "null"}]}, "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}, "request_id": "r1"},
        frame(2, {"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded, please try again later.", "request_id": "r1"}, event="error", status=429),
    ])
    frames = list(Generation.call(model="qwen-plus", api_key=KEY, messages=[{"role": "user", "content": "hi"}], result_format="message", stream=True, incremental_output=True))
    assert frames[0].output.choices[0].message.content == "par"
    assert frames[-1].code == "Throttling.RateQuota"
