"""The LLM providers the settings configure, in order, with their keys: the config file's
`llm_providers` list when it has one, else what the environment gives (OpenAI or any compatible
endpoint through `OPENAI_API_KEY`/`OPENAI_BASE_URL`/`SRE_AGENT_LLM_MODEL`, then Azure through
`AZURE_OPENAI_*`/`OPENAI_API_VERSION`). A provider whose key is missing is left out, with the
reason, so an investigation still runs on the rest (and the offline reasoner, always last)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import SecretStr

from agent.llm.config import LLMProvider, ProviderConfig, ProviderKind, price_for
from bot.settings import Settings

if TYPE_CHECKING:
    from agent.casefile import ReasonerFactory

_DEFAULT_KEY_ENV = {
    ProviderKind.OPENAI: "OPENAI_API_KEY",
    ProviderKind.AZURE: "AZURE_OPENAI_API_KEY",
}


@dataclass(frozen=True)
class LLMChain:
    providers: list[LLMProvider] = field(default_factory=list)
    # (provider name, why it is not used), e.g. ("gemini", "GEMINI_API_KEY is not set")
    skipped: list[tuple[str, str]] = field(default_factory=list)


def llm_chain(settings: Settings, environ: Mapping[str, str] | None = None) -> LLMChain:
    env = os.environ if environ is None else environ
    if settings.llm_providers:
        return _declared(settings, env)
    return _from_environment(settings)


def default_reasoners(settings: Settings, *, warm_up: bool = False) -> list[ReasonerFactory]:
    """The configured LLM providers in order, then the offline reasoner, which always answers.
    Everything sent to an LLM goes through the bridge's redaction filter.

    With `warm_up` (called from a running event loop), each provider's chat model starts being
    built in a worker thread at once: its client's imports take about a second, which then
    overlap with whatever the command starts next."""
    from agent.offline import offline_reasoner

    providers = llm_chain(settings).providers
    if not providers:
        return [offline_reasoner]
    from agent.llm.reasoner import LLMReasonerFactory
    from mcp_bridge.redaction import redact

    llms = [
        LLMReasonerFactory(
            provider, redact=redact, price=price_for(provider.config.model, settings.llm_prices)
        )
        for provider in providers
    ]
    if warm_up:
        for factory in llms:
            factory.warm_up()
    return [*llms, offline_reasoner]


def reasoner_notice(settings: Settings, environ: Mapping[str, str] | None = None) -> str | None:
    """The one line a command prints when investigations will not use an LLM as configured:
    none configured (the offline reasoner answers), or some providers left out."""
    chain = llm_chain(settings, environ)
    skipped = "; ".join(f"{name}: {why}" for name, why in chain.skipped)
    if not chain.providers:
        head = "No LLM configured"
        if skipped:
            head += f" ({skipped})"
        return (
            f"{head}: investigations use the offline reasoner. Set OPENAI_API_KEY (or "
            "llm_providers in the config file) to use an LLM."
        )
    if skipped:
        using = ", ".join(p.name for p in chain.providers)
        return f"LLM providers left out ({skipped}); using {using}."
    return None


def _declared(settings: Settings, env: Mapping[str, str]) -> LLMChain:
    chain = LLMChain()
    for config in settings.llm_providers:
        resolved = config
        if config.kind is ProviderKind.AZURE:
            resolved = config.model_copy(
                update={
                    "base_url": config.base_url or settings.azure_openai_endpoint,
                    "api_version": config.api_version or settings.openai_api_version,
                }
            )
            if not resolved.base_url or not resolved.api_version:
                chain.skipped.append(
                    (
                        config.name,
                        "Azure needs base_url (or AZURE_OPENAI_ENDPOINT) and "
                        "api_version (or OPENAI_API_VERSION)",
                    )
                )
                continue
        key_env = config.api_key_env or _DEFAULT_KEY_ENV.get(config.kind)
        key: SecretStr | None = None
        if key_env is not None:
            value = env.get(key_env, "").strip()
            if not value:
                chain.skipped.append((config.name, f"{key_env} is not set"))
                continue
            key = SecretStr(value)
        chain.providers.append(LLMProvider(config=resolved, api_key=key))
    return chain


def _from_environment(settings: Settings) -> LLMChain:
    chain = LLMChain()
    if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value():
        base_url = settings.openai_base_url or None
        config = ProviderConfig(
            name="openai" if base_url is None else "openai_compatible",
            kind=ProviderKind.OPENAI if base_url is None else ProviderKind.COMPATIBLE,
            model=settings.llm_model,
            base_url=base_url,
        )
        chain.providers.append(LLMProvider(config=config, api_key=settings.openai_api_key))
    azure_key = settings.azure_openai_api_key
    if azure_key is not None and azure_key.get_secret_value():
        missing = [
            name
            for name, value in (
                ("AZURE_OPENAI_ENDPOINT", settings.azure_openai_endpoint),
                ("OPENAI_API_VERSION", settings.openai_api_version),
            )
            if not value
        ]
        if missing:
            chain.skipped.append(("azure", f"{' and '.join(missing)} not set"))
        else:
            deployment = settings.azure_openai_deployment or settings.llm_model
            # The model names the reasoner and its price; a deployment's own name says neither
            # unless SRE_AGENT_LLM_MODEL is not given.
            model = settings.llm_model if "llm_model" in settings.model_fields_set else deployment
            config = ProviderConfig(
                name="azure",
                kind=ProviderKind.AZURE,
                model=model,
                base_url=settings.azure_openai_endpoint,
                deployment=deployment,
                api_version=settings.openai_api_version,
            )
            chain.providers.append(LLMProvider(config=config, api_key=azure_key))
    return chain
