"""mcpServers configuration: the common shape, per-server policy, bundled servers, ${VAR}s."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_bridge.config import McpConfigError, ServerConfig, Transport, parse_servers


def by_name(servers: list[ServerConfig]) -> dict[str, ServerConfig]:
    return {server.name: server for server in servers}


def test_bundled_servers_are_added_in_process_and_first() -> None:
    servers = parse_servers({"time": {"command": "mcp-server-time"}}, environ={})
    assert [s.name for s in servers] == ["kubernetes", "prometheus", "time"]
    kubernetes = servers[0]
    assert kubernetes.transport is Transport.IN_PROCESS
    assert kubernetes.module == "mcp_bridge.servers.kubernetes"
    assert servers[1].module == "mcp_bridge.servers.prometheus"
    assert servers[2].transport is Transport.STDIO


def test_policy_defaults_are_read_only_with_timeouts_and_an_output_cap() -> None:
    time = by_name(parse_servers({"time": {"command": "t"}}, environ={}))["time"]
    assert time.enabled
    assert time.read_only
    assert (time.allow_tools, time.deny_tools) == ([], [])
    assert time.timeout_s == 30
    assert time.startup_timeout_s == 30
    assert time.max_output_chars == 20_000


def test_bundled_server_can_be_disabled() -> None:
    servers = by_name(parse_servers({"kubernetes": {"enabled": False}}, environ={}))
    assert servers["kubernetes"].enabled is False
    assert servers["prometheus"].enabled is True


def test_bundled_server_reads_its_options_from_the_process_environment_and_its_entry() -> None:
    environ = {"KUBECONFIG": "/etc/kube/config", "SRE_AGENT_KUBE_CONTEXT": "prod", "AWS_X": "no"}
    servers = by_name(
        parse_servers(
            {"kubernetes": {"env": {"SRE_AGENT_KUBE_CONTEXT": "staging"}}}, environ=environ
        )
    )
    assert servers["kubernetes"].env == {
        "KUBECONFIG": "/etc/kube/config",
        "SRE_AGENT_KUBE_CONTEXT": "staging",
    }


def test_bundled_server_with_a_command_runs_over_stdio_and_still_gets_its_options() -> None:
    raw = {"kubernetes": {"command": "python", "args": ["-m", "mcp_bridge.servers.kubernetes"]}}
    kubernetes = by_name(parse_servers(raw, environ={"KUBECONFIG": "/k"}))["kubernetes"]
    assert kubernetes.transport is Transport.STDIO
    assert kubernetes.module is None
    assert kubernetes.env == {"KUBECONFIG": "/k"}


def test_prometheus_without_a_url_is_not_configured() -> None:
    prometheus = by_name(parse_servers({}, environ={}))["prometheus"]
    assert prometheus.not_configured is not None
    assert "PROMETHEUS_URL" in prometheus.not_configured


@pytest.mark.parametrize(
    ("raw", "environ"),
    [
        ({}, {"PROMETHEUS_URL": "http://prometheus:9090"}),
        ({"prometheus": {"env": {"PROMETHEUS_URL": "http://prometheus:9090"}}}, {}),
    ],
    ids=["process-environment", "config-entry"],
)
def test_prometheus_url_from_the_environment_or_the_entry_configures_it(
    raw: dict[str, dict[str, object]], environ: dict[str, str]
) -> None:
    prometheus = by_name(parse_servers(raw, environ=environ))["prometheus"]
    assert prometheus.not_configured is None
    assert prometheus.env["PROMETHEUS_URL"] == "http://prometheus:9090"


def test_streamable_http_server_with_headers() -> None:
    raw = {"docs": {"url": "https://mcp.example.com/mcp", "headers": {"X-Team": "sre"}}}
    docs = by_name(parse_servers(raw, environ={}))["docs"]
    assert docs.transport is Transport.STREAMABLE_HTTP
    assert docs.headers == {"X-Team": "sre"}


def test_type_written_by_other_clients_is_accepted() -> None:
    raw = {
        "a": {"type": "stdio", "command": "x"},
        "b": {"type": "http", "url": "http://127.0.0.1:1/mcp"},
        "c": {"type": "streamable-http", "url": "http://127.0.0.1:1/mcp"},
    }
    assert len(parse_servers(raw, environ={})) == 5


def test_variables_are_expanded_from_the_environment() -> None:
    raw = {
        "gh": {
            "url": "https://${GH_HOST}/mcp",
            "headers": {"Authorization": "Bearer ${GH_TOKEN}"},
        },
        "local": {
            "command": "${HOME}/bin/server",
            "args": ["--level=${LEVEL:-info}"],
            "env": {"API_KEY": "${API_KEY}"},
            "cwd": "${HOME}",
        },
    }
    environ = {
        "GH_HOST": "api.example.com",
        "GH_TOKEN": "t0k3n",
        "HOME": "/home/sre",
        "API_KEY": "k",
    }
    servers = by_name(parse_servers(raw, environ=environ))
    assert servers["gh"].url == "https://api.example.com/mcp"
    assert servers["gh"].headers == {"Authorization": "Bearer t0k3n"}
    assert servers["local"].command == "/home/sre/bin/server"
    assert servers["local"].args == ["--level=info"]
    assert servers["local"].env == {"API_KEY": "k"}
    assert servers["local"].cwd == Path("/home/sre")


def test_missing_variable_names_the_server_field_and_variable() -> None:
    raw = {"gh": {"url": "https://x/mcp", "headers": {"Authorization": "Bearer ${GH_TOKEN}"}}}
    with pytest.raises(
        McpConfigError, match=r"mcpServers\.gh\.headers\.Authorization: \$\{GH_TOKEN\}"
    ):
        parse_servers(raw, environ={})


def test_disabled_server_does_not_need_its_variables() -> None:
    raw = {"gh": {"enabled": False, "url": "https://x/mcp", "headers": {"A": "${GH_TOKEN}"}}}
    assert by_name(parse_servers(raw, environ={}))["gh"].enabled is False


def test_secrets_do_not_show_in_the_config_repr() -> None:
    raw = {"gh": {"url": "https://x/mcp", "headers": {"Authorization": "Bearer s3cr3t-value"}}}
    gh = by_name(parse_servers(raw, environ={}))["gh"]
    assert "s3cr3t-value" not in repr(gh)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"command": "x", "url": "http://h/mcp"}, r"mcpServers\.bad: give exactly one of command"),
        ({"args": ["x"]}, r"mcpServers\.bad: give exactly one of command .* found none"),
        ({"url": "ftp://h/mcp"}, r"mcpServers\.bad: url must start with http:// or https://"),
        ({"command": "x", "headers": {"A": "b"}}, r"mcpServers\.bad: headers apply to"),
        ({"url": "http://h/mcp", "args": ["x"]}, r"mcpServers\.bad: args, env and cwd apply"),
        ({"command": "x", "read_onyl": False}, r"mcpServers\.bad\.read_onyl: unknown field"),
        ({"command": "x", "timeout_s": 0}, r"mcpServers\.bad\.timeout_s: .*greater than 0"),
        ({"command": "x", "max_output_chars": 10}, r"mcpServers\.bad\.max_output_chars"),
        ({"command": "x", "allow_tools": "get_*"}, r"mcpServers\.bad\.allow_tools: .*list"),
        ({"command": "x", "enabled": "perhaps"}, r"mcpServers\.bad\.enabled"),
        ({"type": "sse", "url": "http://h/sse"}, r"mcpServers\.bad\.type: the SSE transport"),
        ({"type": "http", "command": "x"}, r"mcpServers\.bad: type is http but there is no url"),
        ({"name": "other", "command": "x"}, r"mcpServers\.bad\.name: the server's name is its key"),
        ("mcp-server-time", r"mcpServers\.bad: expected a mapping"),
    ],
)
def test_bad_entry_is_reported_with_server_and_field(entry: object, message: str) -> None:
    with pytest.raises(McpConfigError, match=message):
        parse_servers({"bad": entry}, environ={})  # type: ignore[dict-item]


def test_bad_server_name_is_reported() -> None:
    with pytest.raises(McpConfigError, match=r"mcpServers\.my server: a server name is"):
        parse_servers({"my server": {"command": "x"}}, environ={})


def test_every_bad_entry_is_reported_at_once() -> None:
    with pytest.raises(McpConfigError) as caught:
        parse_servers({"a": {"url": "nope"}, "b": {"command": "x", "deny": []}}, environ={})
    assert "mcpServers.a:" in str(caught.value)
    assert "mcpServers.b.deny: unknown field" in str(caught.value)
