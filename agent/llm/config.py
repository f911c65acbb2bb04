"""LLM provider configuration: what a provider entry in the config file may say, the price table,
and a provider resolved with its key (`LLMProvider`), ready to build a chat model from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

DEFAULT_MODEL = "gpt-4.1-mini"


class ProviderKind(StrEnum):
    OPENAI = "openai"
    AZURE = "azure"
    # Anything that speaks OpenAI's Chat Completions API: Gemini's and Grok's OpenAI-compatible
    # APIs, vLLM, Ollama, LM Studio, LiteLLM...
    COMPATIBLE = "openai_compatible"


class ProviderConfig(BaseModel):
    """One entry of `llm_providers`. The key is never written here: `api_key_env` names the
    environment variable that holds it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="short name shown in reports and events, e.g. openai, azure, ollama",
    )
    kind: ProviderKind = ProviderKind.COMPATIBLE
    model: str = Field(min_length=1, description="model name (Azure: the model behind it)")
    base_url: str | None = Field(
        default=None,
        description="API base URL ending in /v1 (Azure: the resource endpoint https://X.openai.azure.com)",
    )
    api_key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="environment variable holding the key (defaults: OPENAI_API_KEY for openai, "
        "AZURE_OPENAI_API_KEY for azure; none for a local compatible server)",
    )
    deployment: str | None = Field(default=None, description="Azure deployment (default: model)")
    api_version: str | None = Field(
        default=None, description="Azure API version (default: OPENAI_API_VERSION)"
    )
    temperature: float | None = Field(
        default=None,
        ge=0,
        le=2,
        description="unset: the model's default (some models allow no other)",
    )
    timeout_s: float = Field(default=60.0, gt=0, le=600, description="per request attempt")
    max_retries: int = Field(
        default=2, ge=0, le=10, description="retries on 408/409/429/5xx, timeouts, lost connections"
    )
    max_output_tokens: int | None = Field(default=None, ge=1, description="per answer")
    stream: bool = Field(
        default=False,
        description="stream answers (SSE); keeps long answers alive through idle-timeout proxies",
    )
    context_window: int = Field(default=128_000, ge=2_000, description="the model's window")
    budget_tokens: int = Field(
        default=3_000,
        ge=1_000,
        description="soft limit per request: older tool results are summarized beyond it",
    )
    result_tokens: int = Field(
        default=1_000, ge=100, description="a tool result larger than this is cut (per result)"
    )

    @model_validator(mode="after")
    def _needs_endpoint(self) -> ProviderConfig:
        if self.kind is ProviderKind.COMPATIBLE and not self.base_url:
            raise ValueError(
                f"provider {self.name}: an openai_compatible provider needs base_url "
                "(e.g. http://localhost:11434/v1 for Ollama)"
            )
        return self

    @property
    def reasoner_name(self) -> str:
        """What reports and events call this reasoner: `openai:gpt-4.1-mini`."""
        return f"{self.name}:{self.model}"


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        cached = min(cached_tokens, input_tokens)
        cached_rate = self.cached_input if self.cached_input is not None else self.input
        dollars = (
            (input_tokens - cached) * self.input
            + cached * cached_rate
            + output_tokens * self.output
        ) / 1_000_000
        return round(dollars, 6)


# Published list prices (USD per 1M tokens) when this table was written; `llm_prices` in the
# config file overrides or extends it. A model without a price gets no cost estimate.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4.1": ModelPrice(input=2.00, cached_input=0.50, output=8.00),
    "gpt-4.1-mini": ModelPrice(input=0.40, cached_input=0.10, output=1.60),
    "gpt-4.1-nano": ModelPrice(input=0.10, cached_input=0.025, output=0.40),
    "gpt-4o": ModelPrice(input=2.50, cached_input=1.25, output=10.00),
    "gpt-4o-mini": ModelPrice(input=0.15, cached_input=0.075, output=0.60),
}


def price_for(model: str, prices: dict[str, ModelPrice]) -> ModelPrice | None:
    """The configured price of `model`, else the built-in one, else None."""
    return prices.get(model) or DEFAULT_PRICES.get(model)


@dataclass(frozen=True)
class LLMProvider:
    """A provider with its key resolved. `api_key` is None for a keyless local server."""

    config: ProviderConfig
    api_key: SecretStr | None = None

    @property
    def name(self) -> str:
        return self.config.reasoner_name
