"""The chat model each provider gets, against the fake server through the real client: the
openai client's own retries (429 with Retry-After, 5xx, timeouts, dropped connections), the
request shape (Chat Completions for every kind), and the one-request probe."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from agent.llm.config import LLMProvider, ProviderConfig, ProviderKind
from agent.llm.models import build_chat_model, probe
from mcp_bridge.redaction import redact
from tests.fakes.openai_server import FakeOpenAI, Reply, drop, error, say, serve_openai, unused_port


def compatible(server: FakeOpenAI, **options: object) -> LLMProvider:
    config = ProviderConfig(
        name="local",
        kind=ProviderKind.COMPATIBLE,
        model="qwen2.5",
        base_url=server.base_url,
        **options,  # type: ignore[arg-type]
    )
    return LLMProvider(config=config)


async def test_every_kind_speaks_chat_completions_even_for_models_that_default_elsewhere(
    llm: FakeOpenAI,
) -> None:
    llm.script(say("ok"))
    provider = compatible(llm, max_output_tokens=64, temperature=0.0)
    provider = LLMProvider(provider.config.model_copy(update={"model": "o3-pro"}))
    answer = await build_chat_model(provider).ainvoke("hello")
    assert answer.content == "ok"
    (request,) = llm.chat_requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "o3-pro"
    assert request.body["max_completion_tokens"] == 64
    assert request.body["temperature"] == 0.0
    assert request.headers["Authorization"] == "Bearer not-needed"  # keyless local server


async def test_a_429_is_retried_after_its_retry_after(llm: FakeOpenAI) -> None:
    llm.script(error(429, retry_after="1"), say("ok"))
    started = time.monotonic()
    answer = await build_chat_model(compatible(llm, max_retries=2)).ainvoke("hi")
    assert answer.content == "ok"
    assert time.monotonic() - started >= 0.9
    assert len(llm.chat_requests) == 2


async def test_server_errors_are_retried_with_backoff_up_to_max_retries(llm: FakeOpenAI) -> None:
    llm.script(error(500), error(502), say("third time"))
    answer = await build_chat_model(compatible(llm, max_retries=2)).ainvoke("hi")
    assert answer.content == "third time"
    first, second, third = llm.chat_requests
    # Exponential: the second wait is longer than the first (0.5 s, then 1 s, less jitter).
    assert third.received_at - second.received_at > second.received_at - first.received_at


async def test_retries_run_out_and_the_error_says_what_happened(llm: FakeOpenAI) -> None:
    llm.respond_with(lambda _: error(503, "overloaded"))
    with pytest.raises(Exception, match="503"):
        await build_chat_model(compatible(llm, max_retries=1)).ainvoke("hi")
    assert len(llm.chat_requests) == 2


async def test_a_timeout_is_retried(llm: FakeOpenAI) -> None:
    llm.script(Reply(content="too late", delay_s=3), say("in time"))
    answer = await build_chat_model(compatible(llm, timeout_s=0.5, max_retries=1)).ainvoke("hi")
    assert answer.content == "in time"


async def test_a_dropped_connection_is_retried(llm: FakeOpenAI) -> None:
    llm.script(drop(), say("reconnected"))
    answer = await build_chat_model(compatible(llm, max_retries=1)).ainvoke("hi")
    assert answer.content == "reconnected"


async def test_the_probe_says_which_providers_answer() -> None:
    async with serve_openai(api_key="right-key") as server:
        server.respond_with(lambda _: say("ok"))
        good = LLMProvider(
            ProviderConfig(
                name="good", kind=ProviderKind.OPENAI, model="m", base_url=server.base_url
            ),
            api_key=SecretStr("right-key"),
        )
        wrong_key = LLMProvider(good.config.model_copy(update={"name": "wrong"}), SecretStr("nope"))
        down = LLMProvider(
            good.config.model_copy(
                update={"name": "down", "base_url": f"http://127.0.0.1:{unused_port()}/v1"}
            ),
            SecretStr("right-key"),
        )
        ok, unauthorized, unreachable = [
            await probe(p, timeout_s=5, redact=redact) for p in (good, wrong_key, down)
        ]
        assert len(server.chat_requests) == 2  # one each, no retries
    assert ok.ok
    assert ok.provider == "good:m"
    assert not unauthorized.ok
    assert unauthorized.detail == "HTTP 401: Incorrect API key provided."
    assert not unreachable.ok
    assert unreachable.detail.startswith("connection failed")


async def test_the_probe_gives_up_at_its_timeout(llm: FakeOpenAI) -> None:
    llm.script(Reply(content="slow", delay_s=5))
    result = await probe(compatible(llm), timeout_s=0.5)
    assert not result.ok
    assert result.latency_ms < 4000
