"""Settings: environment variables over an optional YAML file, validated once at start.

Errors name the setting. Secrets come only from the environment (or a file it points at) and are
`SecretStr`, so they never print. Each package owns the models for its part (`agent.limits`,
`mcp_bridge.config`); this module composes them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from agent.limits import Limits
from agent.llm.config import DEFAULT_MODEL, ModelPrice, ProviderConfig


class ConfigError(ValueError):
    """The configuration is wrong; the message names the setting and what was expected."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SRE_AGENT_",
        env_nested_delimiter="__",
        extra="forbid",
        populate_by_name=True,
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///sre-agent.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///PATH or postgresql+asyncpg://...",
    )
    limits: Limits = Field(default_factory=Limits)
    concurrency: int = Field(default=4, ge=1, le=256, description="investigations at a time")
    dedup_window_s: float = Field(
        default=900.0, ge=0, description="the same alert again within this window joins the first"
    )
    drain_grace_s: float = Field(
        default=30.0, ge=0, description="on shutdown, how long running investigations get"
    )
    lease_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="a running investigation's lease: when its replica stops renewing it (it "
        "died), another replica runs it again this long after the last renewal",
    )
    lease_renew_s: float = Field(
        default=15.0,
        gt=0,
        description="how often leases are renewed and expired ones requeued; well below lease_s",
    )

    @field_validator("lease_renew_s")
    @classmethod
    def _renewed_within_the_lease(cls, value: float, info: ValidationInfo) -> float:
        lease_s = info.data.get("lease_s")
        if lease_s is not None and value >= lease_s:
            raise ValueError(
                f"must be below lease_s ({lease_s:g}), well below it (a quarter is the default): "
                "a renewal that comes late loses the lease"
            )
        return value

    # --- HTTP endpoint and logs (owned by http; bot/http/, bot/logging.py) ---
    http_host: str = Field(default="127.0.0.1", min_length=1, description="address to listen on")
    http_port: int = Field(default=8080, ge=0, le=65535, description="port (0: any free port)")
    http_token: SecretStr | None = Field(
        default=None, description="bearer token every route but /healthz requires"
    )
    http_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="larger bodies get 413"
    )
    grafana_webhook_secret: SecretStr | None = Field(
        default=None,
        description="when set, POST /alerts/grafana needs a valid X-Grafana-Alerting-Signature",
    )
    grafana_webhook_timestamp_header: str | None = Field(
        default=None,
        description="the contact point's HMAC timestamp header, if it sets one (replays refused)",
    )
    http_sse_keepalive_s: float = Field(
        default=15.0, gt=0, le=300, description="comment line on idle event streams this often"
    )
    log_level: str = Field(
        default="INFO",
        pattern=r"(?i)^(debug|info|warning|error)$",
        description="level of `serve`'s logs: debug, info, warning or error",
    )
    log_format: str = Field(
        default="json",
        pattern=r"^(json|text)$",
        description="`serve`'s logs: json (one object per line) or text (for a terminal)",
    )

    @field_validator("http_token", "grafana_webhook_secret", mode="before")
    @classmethod
    def _strong_secret(cls, value: object) -> object:
        """Empty means not set (a blank line in a Secret); a short one is a mistake."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str):
            if not text.strip():
                return None
            if len(text.strip()) < 16:
                raise ValueError(
                    "must be at least 16 characters; generate one with `openssl rand -hex 32`"
                )
            return text.strip()
        return value

    runbook_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="extra runbook directories, searched before built-ins (comma-separated in env)",
    )
    runbook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="hosts (besides GitHub) that runbook_url annotations may be fetched from",
    )
    github_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("GITHUB_TOKEN", "SRE_AGENT_GITHUB_TOKEN")
    )
    mcp_servers: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("mcpServers", "mcp_servers"),
        description="MCP servers in the common mcpServers shape plus per-server policy",
    )

    # --- LLM providers (bot/llm.py turns them into the reasoner chain) ---
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"),
        description="an OpenAI-compatible API instead of OpenAI's (Gemini, Grok, vLLM, Ollama...)",
    )
    llm_model: str = Field(
        default=DEFAULT_MODEL,
        min_length=1,
        validation_alias=AliasChoices("SRE_AGENT_LLM_MODEL", "llm_model"),
        description="the model of the provider the environment configures",
    )
    azure_openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("AZURE_OPENAI_API_KEY", "azure_openai_api_key")
    )
    azure_openai_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AZURE_OPENAI_ENDPOINT", "azure_openai_endpoint"),
    )
    openai_api_version: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_VERSION", "openai_api_version")
    )
    azure_openai_deployment: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_DEPLOYMENT_NAME", "azure_openai_deployment"
        ),
    )
    llm_providers: list[ProviderConfig] = Field(
        default_factory=list,
        description="the reasoner chain in order (replaces the providers the environment gives)",
    )
    llm_prices: dict[str, ModelPrice] = Field(
        default_factory=dict, description="USD per million tokens by model, for cost estimates"
    )

    @field_validator("llm_providers")
    @classmethod
    def _provider_names_unique(cls, providers: list[ProviderConfig]) -> list[ProviderConfig]:
        seen: set[str] = set()
        for provider in providers:
            if provider.name in seen:
                raise ValueError(f"the name {provider.name} is used twice; names must be unique")
            seen.add(provider.name)
        return providers

    # --- Slack (see bot/slack/) ---
    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token"),
        description="Bot User OAuth Token (xoxb-...)",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token"),
        description="App-level token with connections:write (xapp-...), for Socket Mode",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url"),
        description="Slack Web API base URL (an enterprise proxy, a local test server)",
    )
    alert_channels: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="channels watched for alerts: IDs or names, comma-separated in the env",
    )
    http_alert_channel: str | None = Field(
        default=None,
        description="channel (ID or name) where HTTP-submitted alerts get their threads",
    )
    slack_answer_all_replies: bool = Field(
        default=False,
        description="any reply in a thread the bot owns is a question (default: only mentions)",
    )
    slack_status_interval_s: float = Field(
        default=1.0, ge=0, le=60, description="at most one status-message update per this interval"
    )
    slack_timeout_s: int = Field(
        default=15, ge=1, le=300, description="timeout of each Slack Web API request"
    )

    @field_validator("alert_channels", "runbook_dirs", "runbook_allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("alert_channels")
    @classmethod
    def _channel_names(cls, value: list[str]) -> list[str]:
        return [channel.strip().removeprefix("#") for channel in value if channel.strip()]

    @field_validator("http_alert_channel")
    @classmethod
    def _channel_name(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip().removeprefix("#")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("yaml_file"):
            sources.append(YamlConfigSettingsSource(settings_cls))
        sources.append(file_secret_settings)
        return tuple(sources)


def load_settings(config_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the environment over the YAML file (`--config` or SRE_AGENT_CONFIG)."""
    raw_path = config_path or os.environ.get("SRE_AGENT_CONFIG")
    path = Path(raw_path) if raw_path else None
    settings_cls = Settings
    if path is not None:
        _check_config_file(path)

        class SettingsWithFile(Settings):
            model_config = SettingsConfigDict(yaml_file=path)

        settings_cls = SettingsWithFile
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        raise ConfigError(f"invalid settings: {exc}") from None


def _check_config_file(path: Path) -> None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping at the top level")


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" (config file {path} or SRE_AGENT_* environment)" if path else ""
    problems = []
    for err in exc.errors():
        setting = ".".join(str(part) for part in err["loc"]) or "settings"
        problems.append(f"{setting}: {err['msg']}")
    return f"invalid settings{where}: " + "; ".join(problems)
