"""Chat models for providers, through langchain-openai, and the one-request probe behind
`sre-agent config check`.

langchain-openai (and openai, ~1.5 s of imports) is imported only here, and only when a model is
built, so commands that never talk to an LLM do not pay for it. Retries are the openai client's:
408/409/429/5xx, timeouts and lost connections are retried `max_retries` times with exponential
backoff (0.5 s doubling to 8 s, with jitter), honouring `Retry-After`/`retry-after-ms` up to two
minutes; a longer `Retry-After` is not waited for, so the next provider takes over at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.llm.config import LLMProvider, ProviderKind

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

# A keyless local server (Ollama, vLLM, LM Studio) still needs some key: the client refuses none.
_NO_KEY = "not-needed"


class ProviderConfigError(ValueError):
    """A provider entry cannot be used as written; the message names the provider and field."""


def build_chat_model(
    provider: LLMProvider,
    *,
    timeout_s: float | None = None,
    max_retries: int | None = None,
    max_output_tokens: int | None = None,
) -> BaseChatModel:
    """The chat model for `provider` (Chat Completions API in every case, so one wire format
    covers OpenAI, Azure and every compatible server). Blocking on first use: it imports
    langchain-openai; call it through `asyncio.to_thread` from async code."""
    config = provider.config
    key = provider.api_key.get_secret_value() if provider.api_key else None
    common: dict[str, Any] = {
        "use_responses_api": False,
        "stream_usage": True,
        "streaming": config.stream,
        "timeout": timeout_s if timeout_s is not None else config.timeout_s,
        "max_retries": max_retries if max_retries is not None else config.max_retries,
        "temperature": config.temperature,
        "max_tokens": max_output_tokens or config.max_output_tokens,
    }
    if config.kind is ProviderKind.AZURE:
        from langchain_openai import AzureChatOpenAI

        if not (config.base_url and config.api_version):
            raise ProviderConfigError(
                f"provider {config.name}: Azure needs base_url (the endpoint, or "
                "AZURE_OPENAI_ENDPOINT) and api_version (or OPENAI_API_VERSION)"
            )
        if key is None:
            raise ProviderConfigError(f"provider {config.name}: Azure needs an API key")
        return AzureChatOpenAI(
            azure_endpoint=config.base_url,
            azure_deployment=config.deployment or config.model,
            api_version=config.api_version,
            api_key=key,
            model=config.model,
            **common,
        )
    from langchain_openai import ChatOpenAI

    if key is None and config.kind is ProviderKind.OPENAI:
        raise ProviderConfigError(f"provider {config.name}: OpenAI needs an API key")
    return ChatOpenAI(
        model=config.model,
        base_url=config.base_url,
        api_key=key or _NO_KEY,
        **common,
    )


@dataclass(frozen=True)
class ProbeResult:
    provider: str
    ok: bool
    detail: str
    latency_ms: float


async def probe(
    provider: LLMProvider, *, timeout_s: float = 15.0, redact: Callable[[str], str] | None = None
) -> ProbeResult:
    """Reach the provider with a tiny request (no retries) and say whether it answered."""
    started = time.monotonic()
    timeout = min(timeout_s, provider.config.timeout_s)

    def elapsed() -> float:
        return round((time.monotonic() - started) * 1000, 1)

    try:
        model = await asyncio.to_thread(
            build_chat_model, provider, timeout_s=timeout, max_retries=0, max_output_tokens=16
        )
        async with asyncio.timeout(timeout + 1):
            await model.ainvoke("Reply with the word ok.")
    except TimeoutError:
        return ProbeResult(provider.name, False, f"no answer within {timeout:g}s", elapsed())
    except Exception as exc:  # noqa: BLE001 - any failure is the answer to "does it work"
        text = describe_failure(exc)
        return ProbeResult(provider.name, False, redact(text) if redact else text, elapsed())
    return ProbeResult(provider.name, True, "answered", elapsed())


def describe_failure(exc: BaseException) -> str:
    """One line about a provider failure: the HTTP status and the provider's message, or what
    went wrong on the way (the deepest cause: refused, timed out...). Never the request."""
    status = getattr(exc, "status_code", None)
    if status is not None:
        body = getattr(exc, "body", None)
        message = ""
        if isinstance(body, dict):
            inner = body.get("error", body)
            message = str(inner.get("message") or "") if isinstance(inner, dict) else str(inner)
        message = message or _first_line(exc)
        return f"HTTP {status}: {message}"[:300]
    root = exc
    seen = {id(exc)}
    while (nxt := root.__cause__ or root.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        root = nxt
    text = _first_line(exc)
    if root is not exc and _first_line(root):
        text = f"{text} ({_first_line(root)})"
    return f"{_kind(exc)}: {text}"[:300]


def _kind(exc: BaseException) -> str:
    # By name: the openai package is imported only when a model is built.
    for cls in type(exc).__mro__:
        if cls.__name__ == "APITimeoutError":
            return "timed out"
        if cls.__name__ == "APIConnectionError":
            return "connection failed"
    return type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
