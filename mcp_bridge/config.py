"""MCP server declarations: the common `mcpServers` shape plus per-server policy, validated once.

`parse_servers` turns the `mcpServers` setting into `ServerConfig`s, adds the bundled servers
(kubernetes, prometheus) and expands `${VAR}` references from the environment, so secrets stay out
of the config file:

    mcpServers:
      prometheus:                       # bundled, in-process; options as env
        env: {PROMETHEUS_URL: "http://prometheus.monitoring:9090"}
      time:                             # stdio
        command: uvx
        args: [mcp-server-time]
        timeout_s: 10
      docs:                             # streamable HTTP
        url: https://mcp.example.com/mcp
        headers: {Authorization: "Bearer ${DOCS_TOKEN}"}
        allow_tools: ["search_*"]
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Bundled servers run in-process from these modules (`build_server(env) -> FastMCP`) unless their
# entry names a `command` (stdio) or `url` (streamable HTTP).
BUNDLED_SERVERS: dict[str, str] = {
    "kubernetes": "mcp_bridge.servers.kubernetes",
    "prometheus": "mcp_bridge.servers.prometheus",
}

# Process environment a bundled server reads. It is passed on explicitly, so the server sees the
# same options in-process and as a child process (which otherwise gets only HOME, PATH and a few
# more: the MCP SDK's default, which keeps the bot's secrets away from third-party servers).
_PROXY_ENV = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy")
BUNDLED_ENV: dict[str, tuple[str, ...]] = {
    "kubernetes": (
        "KUBECONFIG",
        "SRE_AGENT_KUBE_CONTEXT",
        "SRE_AGENT_KUBE_TIMEOUT_S",
        # In-cluster configuration is found through these two.
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        *_PROXY_ENV,
    ),
    "prometheus": (
        "PROMETHEUS_URL",
        "PROMETHEUS_HEADERS",
        "SRE_AGENT_PROMETHEUS_TIMEOUT_S",
        *_PROXY_ENV,
    ),
}

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# What other MCP clients write in `type`; the transport is implied by command or url anyway.
_TransportName = Literal["stdio", "http", "streamable-http", "streamable_http", "streamableHttp"]


class McpConfigError(ValueError):
    """An `mcpServers` entry is wrong; the message names the server, the field and the fix."""


class Transport(StrEnum):
    IN_PROCESS = "in-process"
    STDIO = "stdio"
    STREAMABLE_HTTP = "streamable-http"


class ServerConfig(BaseModel):
    """One MCP server: how to reach it, and what the bridge lets the agent do with it.

    Exactly one of `module` (in-process), `command` (stdio) or `url` (streamable HTTP).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="server name; tools are offered as <name>_<tool>")
    type: _TransportName | None = Field(
        default=None, description="optional; implied by command or url"
    )
    module: str | None = Field(
        default=None, description="in-process: Python module with build_server(env) -> FastMCP"
    )
    command: str | None = Field(default=None, description="stdio: the program to run")
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description="stdio: added to the SDK's minimal environment; in-process: the options",
    )
    cwd: Path | None = None
    url: str | None = Field(default=None, description="streamable HTTP endpoint, http(s)://...")
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    enabled: bool = True
    read_only: bool = Field(
        default=True, description="offer only tools annotated readOnlyHint: true"
    )
    allow_tools: list[str] = Field(
        default_factory=list, description="globs; when set, only matching tools are offered"
    )
    deny_tools: list[str] = Field(default_factory=list, description="globs; never offered")
    timeout_s: float = Field(default=30.0, gt=0, le=3600, description="per tool call")
    max_output_chars: int = Field(default=20_000, ge=200, le=1_000_000)
    startup_timeout_s: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _one_transport(self) -> ServerConfig:
        given = [f for f in ("module", "command", "url") if getattr(self, f) is not None]
        if len(given) != 1:
            found = " and ".join(given) if given else "none"
            raise ValueError(
                "give exactly one of command (stdio), url (streamable HTTP) or module "
                f"(in-process); found {found}"
            )
        if self.url is not None:
            if not re.match(r"https?://[^/\s]+", self.url):
                raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
            if self.type == "stdio":
                raise ValueError("type is stdio but url is set; stdio needs command")
            if self.args or self.cwd is not None or self.env:
                raise ValueError("args, env and cwd apply to stdio servers (command), not url")
        else:
            if self.type is not None and self.type != "stdio":
                raise ValueError(f"type is {self.type} but there is no url")
            if self.headers:
                raise ValueError("headers apply to streamable HTTP servers (url)")
        if self.module is not None and (self.args or self.cwd is not None or self.type):
            raise ValueError("type, args and cwd apply to stdio servers (command), not module")
        return self

    @property
    def transport(self) -> Transport:
        if self.module is not None:
            return Transport.IN_PROCESS
        if self.command is not None:
            return Transport.STDIO
        return Transport.STREAMABLE_HTTP

    @property
    def not_configured(self) -> str | None:
        """Why this server is not started at all, when a required setting is missing.

        Only the bundled Prometheus server in-process has one: without `PROMETHEUS_URL` there is
        nothing to query, so it is listed as not configured and offers no tools (instead of
        offering tools that can only fail).
        """
        if (
            self.name == "prometheus"
            and self.module == BUNDLED_SERVERS["prometheus"]
            and not self.env.get("PROMETHEUS_URL")
        ):
            return "set PROMETHEUS_URL (in the environment, or in mcpServers.prometheus.env)"
        return None


def parse_servers(
    raw: Mapping[str, Mapping[str, Any]], *, environ: Mapping[str, str] | None = None
) -> list[ServerConfig]:
    """Validate the `mcpServers` setting and add the bundled servers.

    Bundled servers (`kubernetes`, `prometheus`) come first and are on unless their entry says
    `enabled: false`; an entry for one may set `env` (options such as `KUBECONFIG`), or `command`
    / `url` to run it elsewhere. `${VAR}` and `${VAR:-default}` in command, args, env, cwd, url
    and headers are read from `environ` (the process environment by default). Every problem is
    reported at once, each naming `mcpServers.<server>.<field>`; raises `McpConfigError`.
    """
    environ = os.environ if environ is None else environ
    names = list(BUNDLED_SERVERS) + [name for name in raw if name not in BUNDLED_SERVERS]
    servers: list[ServerConfig] = []
    problems: list[str] = []
    for name in names:
        entry = raw.get(name, {})
        try:
            servers.append(_parse_one(name, entry, environ))
        except McpConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise McpConfigError("; ".join(problems))
    return servers


def _parse_one(name: str, entry: Any, environ: Mapping[str, str]) -> ServerConfig:
    where = f"mcpServers.{name}"
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise McpConfigError(
            f"{where}: a server name is 1-40 letters, digits, '-' or '_' starting with a letter "
            "or digit (it prefixes tool names)"
        )
    if not isinstance(entry, Mapping):
        raise McpConfigError(f"{where}: expected a mapping (command/args/env or url/headers)")
    fields = dict(entry)
    if "name" in fields:
        raise McpConfigError(f"{where}.name: the server's name is its key in mcpServers")
    if fields.get("type") == "sse":
        raise McpConfigError(
            f"{where}.type: the SSE transport is not supported; use the server's streamable HTTP "
            "endpoint (url) or run it over stdio (command)"
        )
    enabled = fields.get("enabled", True)
    if enabled is not False:  # a disabled server's secrets need not be set
        for field in ("command", "url", "cwd"):
            if isinstance(fields.get(field), str):
                fields[field] = _expand(fields[field], f"{where}.{field}", environ)
        if isinstance(fields.get("args"), list):
            fields["args"] = [
                _expand(a, f"{where}.args[{i}]", environ) if isinstance(a, str) else a
                for i, a in enumerate(fields["args"])
            ]
        for field in ("env", "headers"):
            if isinstance(fields.get(field), Mapping):
                fields[field] = {
                    k: _expand(v, f"{where}.{field}.{k}", environ) if isinstance(v, str) else v
                    for k, v in fields[field].items()
                }
    if name in BUNDLED_SERVERS:
        if not any(fields.get(f) is not None for f in ("module", "command", "url")):
            fields["module"] = BUNDLED_SERVERS[name]
        if fields.get("url") is None:
            own_env = fields.get("env") if isinstance(fields.get("env"), Mapping) else {}
            inherited = {k: environ[k] for k in BUNDLED_ENV[name] if k in environ}
            fields["env"] = {**inherited, **(own_env or {})}
    try:
        return ServerConfig(name=name, **fields)
    except ValidationError as exc:
        raise McpConfigError(_describe(where, exc)) from None


def _expand(value: str, where: str, environ: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        variable, default = match.group(1), match.group(2)
        if variable in environ:
            return environ[variable]
        if default is not None:
            return default
        raise McpConfigError(
            f"{where}: ${{{variable}}} is not set in the environment "
            f"(set it, or write ${{{variable}:-default}})"
        )

    return _REFERENCE.sub(substitute, value)


def _describe(where: str, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        problems.append(f"{where}.{location}: {message}" if location else f"{where}: {message}")
    return "; ".join(problems)
