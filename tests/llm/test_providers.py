"""Which LLM providers the settings configure, in which order, with which keys; what the CLI
says without one; and the reasoner chain the engine builds from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.llm.config import ModelPrice, ProviderKind
from agent.llm.reasoner import LLMReasonerFactory
from agent.offline import offline_reasoner
from bot.engine import default_reasoners, reasoner_notice
from bot.llm import llm_chain
from bot.settings import ConfigError, load_settings


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sre-agent.yaml"
    path.write_text(text)
    return path


def test_no_key_anywhere_means_the_offline_reasoner_and_one_line_says_so() -> None:
    settings = load_settings()
    assert llm_chain(settings).providers == []
    assert default_reasoners(settings) == [offline_reasoner]
    notice = reasoner_notice(settings)
    assert notice is not None
    assert "\n" not in notice
    assert "offline reasoner" in notice
    assert "OPENAI_API_KEY" in notice


def test_openai_key_selects_openai_with_the_configured_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("SRE_AGENT_LLM_MODEL", "gpt-4.1")
    settings = load_settings()
    (primary,) = llm_chain(settings).providers
    assert primary.config.kind is ProviderKind.OPENAI
    assert primary.name == "openai:gpt-4.1"
    assert primary.config.base_url is None
    assert primary.api_key is not None
    assert primary.api_key.get_secret_value() == "sk-test-key"
    assert reasoner_notice(settings) is None
    assert "sk-test-key" not in repr(settings)


def test_a_base_url_makes_it_an_openai_compatible_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "gemini-key")
    monkeypatch.setenv(
        "OPENAI_BASE_URL", "https://generativelanguage.googleapis.com/v1beta/openai/"
    )
    monkeypatch.setenv("SRE_AGENT_LLM_MODEL", "gemini-2.5-flash")
    (primary,) = llm_chain(load_settings()).providers
    assert primary.config.kind is ProviderKind.COMPATIBLE
    assert primary.name == "openai_compatible:gemini-2.5-flash"


def test_azure_from_its_usual_variables_comes_after_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://acme.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT_NAME", "prod-4o-mini")
    openai, azure = llm_chain(load_settings()).providers
    assert openai.name == "openai:gpt-4.1-mini"
    assert azure.config.kind is ProviderKind.AZURE
    assert azure.config.deployment == "prod-4o-mini"
    assert azure.name == "azure:prod-4o-mini"  # no SRE_AGENT_LLM_MODEL: the deployment names it
    assert azure.config.api_version == "2024-10-21"


def test_azure_without_its_endpoint_is_left_out_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    settings = load_settings()
    chain = llm_chain(settings)
    assert chain.providers == []
    assert chain.skipped == [("azure", "AZURE_OPENAI_ENDPOINT and OPENAI_API_VERSION not set")]
    notice = reasoner_notice(settings)
    assert notice is not None
    assert "AZURE_OPENAI_ENDPOINT" in notice


def test_the_config_file_declares_the_chain_in_order_with_keys_from_named_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-secret")
    path = config(
        tmp_path,
        """
llm_providers:
  - {name: gemini, kind: openai_compatible, model: gemini-2.5-flash,
     base_url: "https://generativelanguage.googleapis.com/v1beta/openai/",
     api_key_env: GEMINI_API_KEY, temperature: 0, timeout_s: 30}
  - {name: ollama, model: "qwen2.5:14b", base_url: "http://localhost:11434/v1",
     context_window: 32768, budget_tokens: 4000}
  - {name: openai, kind: openai, model: gpt-4.1-mini}
  - {name: grok, model: grok-3-mini, base_url: "https://api.x.ai/v1", api_key_env: XAI_API_KEY}
llm_prices:
  gemini-2.5-flash: {input: 0.30, output: 2.50}
""",
    )
    settings = load_settings(path)
    chain = llm_chain(settings)
    assert [p.name for p in chain.providers] == [
        "gemini:gemini-2.5-flash",
        "ollama:qwen2.5:14b",
        "openai:gpt-4.1-mini",
    ]
    gemini, ollama, openai = chain.providers
    assert gemini.api_key is not None
    assert gemini.api_key.get_secret_value() == "gemini-secret"
    assert gemini.config.temperature == 0
    assert ollama.api_key is None  # a local server needs no key
    assert ollama.config.context_window == 32768
    assert openai.api_key is not None
    assert openai.api_key.get_secret_value() == "sk-openai"  # the default variable for openai
    assert chain.skipped == [("grok", "XAI_API_KEY is not set")]

    factories = default_reasoners(settings)
    assert factories[-1] is offline_reasoner
    llms = factories[:-1]
    assert all(isinstance(f, LLMReasonerFactory) for f in llms)
    assert [f.name for f in llms if isinstance(f, LLMReasonerFactory)] == [
        p.name for p in chain.providers
    ]
    prices = [f.price for f in llms if isinstance(f, LLMReasonerFactory)]
    assert prices == [
        ModelPrice(input=0.30, output=2.50),
        None,
        ModelPrice(input=0.40, cached_input=0.10, output=1.60),  # built-in
    ]
    notice = reasoner_notice(settings)
    assert notice is not None
    assert "grok: XAI_API_KEY is not set" in notice


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("{name: x, kind: anthropic, model: m}", "llm_providers.0.kind"),
        ("{name: x, model: m}", "needs base_url"),
        ("{name: x, kind: openai, model: m, api_key: sk-inline}", "llm_providers.0.api_key"),
        ("{name: x, kind: openai, model: m, timeout_s: 0}", "llm_providers.0.timeout_s"),
        ("{name: 'bad name', kind: openai, model: m}", "llm_providers.0.name"),
        ("{name: x, kind: openai, model: m, api_key_env: 'not-a-var'}", "api_key_env"),
    ],
)
def test_a_bad_provider_entry_is_a_config_error_naming_it(
    tmp_path: Path, entry: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings(config(tmp_path, f"llm_providers:\n  - {entry}\n"))


def test_two_providers_with_one_name_are_a_config_error(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        "llm_providers:\n"
        "  - {name: a, kind: openai, model: m}\n"
        "  - {name: a, kind: openai, model: n}\n",
    )
    with pytest.raises(ConfigError, match=r"llm_providers: .*the name a is used twice"):
        load_settings(path)


def test_a_bad_price_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"llm_prices\.gpt-x\.input"):
        load_settings(config(tmp_path, "llm_prices:\n  gpt-x: {input: -1, output: 2}\n"))


def test_cost_uses_the_cached_input_price_for_cached_tokens() -> None:
    price = ModelPrice(input=2.0, cached_input=0.5, output=8.0)
    assert price.cost(1_000_000, 0) == 2.0
    assert price.cost(1_000_000, 1_000_000, cached_tokens=400_000) == 1.2 + 0.2 + 8.0
    assert ModelPrice(input=1.0, output=1.0).cost(10, 0, cached_tokens=10) == 0.00001


async def test_warming_up_starts_building_each_model_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The build is handed to a worker thread when asked, not when the event loop next runs:
    a command warms up and then blocks on imports, and the two must overlap."""
    import threading

    import agent.llm.reasoner as reasoner_module

    started = threading.Event()
    built = object()

    def build(provider: object) -> object:
        started.set()
        return built

    monkeypatch.setattr(reasoner_module, "build_chat_model", build)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    llm, offline = default_reasoners(load_settings(), warm_up=True)
    assert offline is offline_reasoner
    assert isinstance(llm, LLMReasonerFactory)
    assert started.wait(timeout=5)  # without yielding to the event loop
    assert await llm.model() is built


def test_no_llm_configured_warms_nothing_up() -> None:
    assert default_reasoners(load_settings(), warm_up=True) == [offline_reasoner]
