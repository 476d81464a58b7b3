"""Real agent clients that speak only the Responses API, run against aoa with the mock upstream:
the OpenAI Agents SDK (a function-tool loop) and, when installed, the Codex CLI."""

from __future__ import annotations

import os
import shutil
import subprocess

import openai
import pytest

from tests.fakes.gemini_api import FakeGemini

FAST = {"AOA_TYPE": "mock", "MOCK_FIRST_TOKEN_DELAY": "0", "MOCK_TOKEN_RATE": "0"}


@pytest.mark.parametrize("streamed", [False, True])
async def test_agents_sdk_runs_a_function_tool(aoa_server, streamed):
    agents = pytest.importorskip("agents")
    agents.set_tracing_disabled(True)  # the SDK would otherwise export traces to api.openai.com
    srv = aoa_server(FAST)
    calls: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"sunny in {city}"

    client = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="client", max_retries=0)
    model = agents.OpenAIResponsesModel(model="mock-gpt", openai_client=client)
    agent = agents.Agent(name="weather", instructions="Answer with the tool.", tools=[get_weather], model=model)
    if streamed:
        run = agents.Runner.run_streamed(agent, "Weather in Paris?")
        kinds = [e.type async for e in run.stream_events()]
        assert "raw_response_event" in kinds and "run_item_stream_event" in kinds
    else:
        run = await agents.Runner.run(agent, "Weather in Paris?")
    # The mock calls the first tool with arguments from its schema, then answers with the result.
    assert calls == ["mock"]
    assert run.final_output == "The tool answered: sunny in mock"


def _codex() -> str | None:
    return os.environ.get("AOA_TEST_CODEX") or shutil.which("codex")


@pytest.mark.skipif(_codex() is None, reason="the Codex CLI is not installed (npm install -g @openai/codex, or set AOA_TEST_CODEX to its path)")
@pytest.mark.parametrize("upstream", ["mock", "gemini"])
def test_codex_exec_completes_a_prompt(serve, aoa_server, tmp_path, upstream):
    if upstream == "gemini":
        fake = FakeGemini(key="AIza-upstream")
        up = serve(fake.app())
        srv = aoa_server({"AOA_TYPE": "gemini", "GEMINI_ENDPOINT": up.url, "GEMINI_API_KEY": "AIza-upstream", "GEMINI_MODEL_ALIAS": "mock-gpt:gemini-2.5-flash"})
    else:
        srv = aoa_server(FAST)
    home, work = tmp_path / "codex-home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    # web_search is a built-in tool aoa refuses for a chat upstream; Codex sends it unless told not to.
    (home / "config.toml").write_text(
        'model = "mock-gpt"\n'
        'model_provider = "aoa"\n'
        'web_search = "disabled"\n'
        "[model_providers.aoa]\n"
        'name = "aoa"\n'
        f'base_url = "{srv.url}/v1"\n'
        'wire_api = "responses"\n'
        'env_key = "AOA_CODEX_KEY"\n'
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work), "CODEX_HOME": str(home), "AOA_CODEX_KEY": "client"}
    done = subprocess.run(
        [_codex(), "exec", "--skip-git-repo-check", "--sandbox", "read-only", "say hello"],
        env=env, cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    if upstream == "gemini":
        # Gemini's fake echoes the last user turn over a streamGenerateContent call.
        assert "echo:" in done.stdout and "say hello" in done.stdout
        assert fake.last.path.endswith(":streamGenerateContent")
    else:
        # The mock called Codex's first tool, Codex answered with a function_call_output, and
        # the mock's final message (its echo of that output) is what `codex exec` prints.
        assert "The tool answered:" in done.stdout
