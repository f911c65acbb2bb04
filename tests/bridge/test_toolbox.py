"""The toolbox over real MCP sessions: stdio child processes, in-process servers and streamable
HTTP on 127.0.0.1. Persistent sessions, concurrency, restarts, timeouts, caps and redaction."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import types as pytypes
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from mcp_bridge.sessions import ServerState
from mcp_bridge.toolbox import Toolbox, offered_name
from tests.bridge.conftest import (
    OPS_SERVER,
    OpsHttpServer,
    configs,
    ops_in_process,
    ops_stdio,
    until,
)
from tests.bridge.servers import ops


def tool_call(tool: BaseTool, **args: Any) -> dict[str, Any]:
    return {"name": tool.name, "args": args, "id": f"call-{tool.name}", "type": "tool_call"}


async def pid_of(toolbox: Toolbox, tool: str = "ops_pid") -> int:
    result = await toolbox.call(tool)
    assert result.status == "success", result.text
    pid = result.structured["result"]
    assert isinstance(pid, int)
    return pid


async def wait_for_state(toolbox: Toolbox, server: str, state: ServerState) -> None:
    await until(lambda: toolbox.server(server).state is state)


async def test_stdio_server_tools_become_langchain_tools_with_schema_and_metadata() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        echo = toolbox.tool("ops_echo")
        assert echo.description == "Echo the text back."
        assert echo.response_format == "content_and_artifact"
        assert echo.tool_call_schema["properties"]["text"]["type"] == "string"  # type: ignore[index]
        assert echo.metadata == {
            "server": "ops",
            "mcp_name": "echo",
            "read_only": True,
            "annotations": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True},
        }
        message = await echo.ainvoke(tool_call(echo, text="hello"))
        assert isinstance(message, ToolMessage)
        assert message.status == "success"
        assert message.content == '{"result":"hello"}'
        assert message.artifact == {
            "status": "success",
            "structured": {"result": "hello"},
            "truncated": False,
        }


async def test_session_is_persistent_one_process_serves_every_call() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        pids = {await pid_of(toolbox) for _ in range(25)}
        assert len(pids) == 1
        assert pids != {os.getpid()}
        assert toolbox.server("ops").restarts == 0


async def test_calls_of_one_step_run_concurrently_on_the_same_session() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        sleep = toolbox.tool("ops_sleep")
        started = time.perf_counter()
        messages = await asyncio.gather(
            *(sleep.ainvoke(tool_call(sleep, seconds=0.2)) for _ in range(10))
        )
        elapsed = time.perf_counter() - started
        assert all(m.artifact["status"] == "success" for m in messages)
        # Ten 0.2 s calls one after another would take 2 s.
        assert elapsed < 0.6, f"10 concurrent 0.2 s calls took {elapsed:.2f}s"


async def test_servers_start_concurrently() -> None:
    # Each server sleeps 2 s before starting (waiting, not computing, so a busy machine barely
    # matters): one after another, four take over 8 s.
    slow_start = (
        "import runpy, time; time.sleep(2); "
        f"runpy.run_path({str(OPS_SERVER)!r}, run_name='__main__')"
    )
    entries = {f"ops{i}": {"command": sys.executable, "args": ["-c", slow_start]} for i in range(4)}
    started = time.perf_counter()
    async with Toolbox.open(configs(entries)) as toolbox:
        opened = time.perf_counter() - started
        pids = {await pid_of(toolbox, f"ops{i}_pid") for i in range(4)}
    assert len(pids) == 4
    assert opened < 6.0, f"4 servers that start in 2 s each took {opened:.2f}s together"


async def test_server_killed_during_a_call_gives_an_error_result_and_restarts_on_the_next() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        first_pid = await pid_of(toolbox)
        sleep = toolbox.tool("ops_sleep")
        running = asyncio.create_task(sleep.ainvoke(tool_call(sleep, seconds=30)))
        await asyncio.sleep(0.3)
        os.kill(first_pid, signal.SIGKILL)
        async with asyncio.timeout(5):
            message = await running
        assert message.status == "error"
        assert message.artifact["status"] == "error"
        assert "went away during this call" in message.content
        assert "started again on the next call" in message.content

        second_pid = await pid_of(toolbox)
        assert second_pid != first_pid
        assert toolbox.server("ops").state is ServerState.READY
        assert toolbox.server("ops").restarts == 1


async def test_server_that_exits_by_itself_mid_call_reports_its_last_stderr() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        result = await toolbox.call("ops_crash")
        assert result.status == "error"
        assert "crashing on purpose" in result.text
        assert (await toolbox.call("ops_echo", {"text": "back"})).structured == {"result": "back"}


async def test_server_killed_between_calls_is_started_again_by_the_next_call() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        first_pid = await pid_of(toolbox)
        os.kill(first_pid, signal.SIGKILL)
        await wait_for_state(toolbox, "ops", ServerState.STOPPED)
        second_pid = await pid_of(toolbox)
        assert second_pid != first_pid
        assert toolbox.server("ops").restarts == 1


async def test_calls_arriving_together_after_a_death_share_one_restart() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        os.kill(await pid_of(toolbox), signal.SIGKILL)
        await wait_for_state(toolbox, "ops", ServerState.STOPPED)
        pids = await asyncio.gather(*(pid_of(toolbox) for _ in range(5)))
        assert len(set(pids)) == 1
        assert toolbox.server("ops").restarts == 1


async def test_server_that_cannot_be_started_again_fails_fast_with_the_reason(
    tmp_path: Path,
) -> None:
    # Starts the first time; every later start finds the marker and exits with a message.
    marker = tmp_path / "started-once"
    once = (
        "import pathlib, runpy, sys\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if marker.exists(): sys.exit('license server unreachable')\n"
        "marker.touch()\n"
        f"runpy.run_path({str(OPS_SERVER)!r}, run_name='__main__')\n"
    )
    entry = {"command": sys.executable, "args": ["-c", once]}
    async with Toolbox.open(configs({"ops": entry})) as toolbox:
        os.kill(await pid_of(toolbox), signal.SIGKILL)
        await wait_for_state(toolbox, "ops", ServerState.STOPPED)
        first = await toolbox.call("ops_echo", {"text": "x"})
        assert first.status == "error"
        assert "could not be started again" in first.text
        assert "license server unreachable" in first.text
        started = time.perf_counter()
        second = await toolbox.call("ops_echo", {"text": "x"})
        assert time.perf_counter() - started < 0.1
        assert "it is tried again 5s after a failure" in second.text
        assert toolbox.server("ops").state is ServerState.FAILED


async def test_server_that_fails_to_start_is_recorded_and_the_others_work() -> None:
    entries = {
        "ops": ops_stdio(),
        "missing": {"command": "/nonexistent/bin/mcp-server"},
        "crashes": {
            "command": sys.executable,
            "args": ["-c", "import sys; sys.exit('config file /etc/x.yaml not found')"],
        },
    }
    async with Toolbox.open(configs(entries)) as toolbox:
        states = {s.name: (s.state, s.error) for s in toolbox.servers()}
        assert states["ops"] == (ServerState.READY, None)
        assert states["missing"][0] is ServerState.FAILED
        assert "No such file or directory: '/nonexistent/bin/mcp-server'" in str(
            states["missing"][1]
        )
        assert states["crashes"][0] is ServerState.FAILED
        assert "config file /etc/x.yaml not found" in str(states["crashes"][1])
        assert {t.metadata["server"] for t in toolbox.tools()} == {"ops"}  # type: ignore[index]
        assert (await toolbox.call("ops_echo", {"text": "ok"})).status == "success"


async def test_server_that_never_answers_fails_after_its_startup_timeout() -> None:
    hangs = {
        "command": sys.executable,
        "args": ["-c", "import time; time.sleep(60)"],
        "startup_timeout_s": 0.5,
    }
    started = time.perf_counter()
    async with Toolbox.open(configs({"hangs": hangs, "ops": ops_stdio()})) as toolbox:
        assert time.perf_counter() - started < 10
        status = toolbox.server("hangs")
        assert status.state is ServerState.FAILED
        assert status.error == "did not start within 0.5s (startup_timeout_s)"
        assert (await toolbox.call("ops_echo", {"text": "ok"})).status == "success"


async def test_slow_call_times_out_with_a_hint_and_the_session_keeps_working() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio(timeout_s=0.3)})) as toolbox:
        pid = await pid_of(toolbox)
        started = time.perf_counter()
        result = await toolbox.call("ops_sleep", {"seconds": 10})
        assert time.perf_counter() - started < 2
        assert result.status == "error"
        assert result.text.startswith("ops_sleep timed out: no answer within 0.3s (timeout_s")
        assert "Narrow the query" in result.text
        assert await pid_of(toolbox) == pid


async def test_long_output_is_cut_with_a_hint_and_marked_truncated() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio(max_output_chars=500)})) as toolbox:
        result = await toolbox.call("ops_big", {"chars": 5000})
        assert result.status == "success"
        assert result.truncated is True
        assert len(result.text) <= 500
        assert "[output cut: " in result.text
        assert "Narrow the query" in result.text


async def test_empty_result_is_no_data_and_tool_error_is_error() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        empty = await toolbox.call("ops_nothing")
        assert (empty.status, empty.text) == ("no_data", "The tool returned no data.")
        failed = await toolbox.call("ops_fail", {"message": "pod checkout-1 not found"})
        assert failed.status == "error"
        assert "pod checkout-1 not found" in failed.text
        message = await toolbox.tool("ops_fail").ainvoke(
            tool_call(toolbox.tool("ops_fail"), message="nope")
        )
        assert message.status == "error"


@pytest.mark.parametrize("entry", [ops_stdio(), ops_in_process()], ids=["stdio", "in-process"])
async def test_structured_results_are_checked_against_the_declared_output_schema(
    entry: dict[str, Any],
) -> None:
    async with Toolbox.open(configs({"ops": entry})) as toolbox:
        for n in (1, 2, 3):  # the compiled check is reused call after call
            good = await toolbox.call("ops_count", {"n": n})
            assert good.status == "success"
            assert good.structured == {"count": n}
        drifted = await toolbox.call("ops_drifted")
        assert drifted.status == "error"
        assert "Invalid structured content returned by tool drifted" in drifted.text
        assert "'total' is a required property" in drifted.text


async def test_arguments_the_server_rejects_come_back_as_an_error_result() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        result = await toolbox.call("ops_sleep", {"seconds": "soon"})
        assert result.status == "error"
        assert "seconds" in result.text


async def test_arguments_named_like_langchain_internals_reach_the_server() -> None:
    async with Toolbox.open(configs({"ops": ops_in_process()})) as toolbox:
        tool = toolbox.tool("ops_arguments")
        message = await tool.ainvoke(tool_call(tool, config="a", run_manager="b", callbacks="c"))
        assert message.artifact["structured"] == {"result": "a|b|c"}


async def test_secrets_in_tool_output_are_redacted_in_text_and_structured_result() -> None:
    secret = "ghp_" + "Ab3" * 12
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        result = await toolbox.call("ops_leak", {"secret": secret})
    assert secret not in result.text
    assert secret not in repr(result.structured)
    assert result.structured == {
        "log": "GET /orders Authorization: Bearer [REDACTED:authorization]",
        "password": "[REDACTED:password]",
        "pod": "api-key-rotator-7d9f8b-x2k4q",
    }


async def test_in_process_server_runs_in_this_process_with_its_env() -> None:
    servers = configs({"ops": ops_in_process(env={"CLUSTER": "prod-eu"})})
    async with Toolbox.open(servers) as toolbox:
        assert await pid_of(toolbox) == os.getpid()
        option = await toolbox.call("ops_option", {"name": "CLUSTER"})
        assert option.structured == {"result": "prod-eu"}


async def test_in_process_server_does_not_reconfigure_the_hosts_logging() -> None:
    import logging

    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    async with Toolbox.open(configs({"ops": ops_in_process()})):
        assert (list(root.handlers), root.level) == before


async def test_bundled_kubernetes_server_runs_in_process_with_the_process_kubeconfig(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Stands in for mcp_bridge.servers.kubernetes, which another branch provides.
    monkeypatch.setitem(sys.modules, "mcp_bridge.servers.kubernetes", ops)
    servers = configs({"kubernetes": {}}, environ={"KUBECONFIG": "/etc/sre/kubeconfig"})
    async with Toolbox.open(servers) as toolbox:
        status = toolbox.server("kubernetes")
        assert (status.state, status.transport) == (ServerState.READY, "in-process")
        assert await pid_of(toolbox, "kubernetes_pid") == os.getpid()
        option = await toolbox.call("kubernetes_option", {"name": "KUBECONFIG"})
        assert option.structured == {"result": "/etc/sre/kubeconfig"}


async def test_bundled_prometheus_without_a_url_offers_nothing_and_says_what_to_set() -> None:
    async with Toolbox.open(configs({"prometheus": {}, "ops": ops_stdio()})) as toolbox:
        status = toolbox.server("prometheus")
        assert status.state is ServerState.NOT_CONFIGURED
        assert status.error is not None
        assert "set PROMETHEUS_URL" in status.error
        assert not [t for t in toolbox.tools() if t.name.startswith("prometheus_")]


async def test_server_module_that_cannot_be_imported_fails_to_start_with_the_reason() -> None:
    servers = configs({"kubernetes": {"module": "tests.bridge.servers.no_such_server"}})
    async with Toolbox.open(servers) as toolbox:
        status = toolbox.server("kubernetes")
        assert status.state is ServerState.FAILED
        assert status.error is not None
        assert status.error.startswith("cannot import tests.bridge.servers.no_such_server")


async def test_module_without_build_server_fails_to_start_with_the_reason() -> None:
    async with Toolbox.open(configs({"bad": {"module": "tests.bridge.servers"}})) as toolbox:
        assert (
            toolbox.server("bad").error == "tests.bridge.servers has no build_server(env) function"
        )


async def test_streamable_http_server_with_headers_from_the_environment(
    ops_http: OpsHttpServer,
) -> None:
    token = "Zz9" * 10
    entry = {"url": ops_http.url, "headers": {"Authorization": "Bearer ${OPS_TOKEN}"}}
    servers = configs({"remote": entry}, environ={"OPS_TOKEN": token})
    async with Toolbox.open(servers) as toolbox:
        assert toolbox.server("remote").transport == "streamable-http"
        echo = await toolbox.call("remote_echo", {"text": "over http"})
        assert echo.structured == {"result": "over http"}
        header = await toolbox.call("remote_header", {"name": "authorization"})
        # The header arrived; the tool's echo of it is redacted on the way back.
        assert header.status == "success"
        assert token not in header.text
        assert header.structured == {"result": "Bearer [REDACTED:bearer_token]"}
        started = time.perf_counter()
        results = await asyncio.gather(
            *(toolbox.call("remote_sleep", {"seconds": 0.2}) for _ in range(5))
        )
        assert time.perf_counter() - started < 0.6
        assert {r.status for r in results} == {"success"}


async def test_streamable_http_server_that_restarts_is_reconnected_on_the_next_call(
    ops_http: OpsHttpServer,
) -> None:
    async with Toolbox.open(configs({"remote": {"url": ops_http.url}})) as toolbox:
        assert (await toolbox.call("remote_echo", {"text": "before"})).status == "success"
        await ops_http.stop()
        while_down = await toolbox.call("remote_echo", {"text": "down"})
        assert while_down.status == "error"
        assert "went away during this call" in while_down.text
        await ops_http.start()
        after = await toolbox.call("remote_echo", {"text": "after"})
        assert (after.status, after.structured) == ("success", {"result": "after"})
        assert toolbox.server("remote").restarts == 1


async def test_streamable_http_server_that_is_not_there_fails_to_start() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    servers = configs({"remote": {"url": f"http://127.0.0.1:{port}/mcp", "startup_timeout_s": 5}})
    async with Toolbox.open(servers) as toolbox:
        status = toolbox.server("remote")
        assert status.state is ServerState.FAILED
        assert status.error is not None
        assert "cannot connect" in status.error


async def test_tools_can_be_narrowed_by_globs_for_a_runbook() -> None:
    async with Toolbox.open(configs({"ops": ops_in_process()})) as toolbox:
        names = [t.name for t in toolbox.tools(["ops_pid", "ops_s*"])]
        assert names == ["ops_pid", "ops_sleep"]


async def test_colliding_tool_names_are_listed_but_only_the_first_is_offered() -> None:
    # Server ops's tool "ops.pid" and server ops_ops's tool "pid" are both offered as ops_ops_pid.
    servers = configs({"ops": ops_in_process(), "ops_ops": ops_in_process()})
    async with Toolbox.open(servers) as toolbox:
        winner = toolbox.tool("ops_ops_pid")
        assert winner.metadata["server"] == "ops"  # type: ignore[index]
        assert winner.metadata["mcp_name"] == "ops.pid"  # type: ignore[index]
        [loser] = [e for e in toolbox.catalog() if e.withheld and "already taken" in e.withheld]
        assert (loser.server, loser.mcp_name) == ("ops_ops", "pid")
        assert loser.withheld == (
            "its name ops_ops_pid is already taken by ops.pid of the ops server; "
            "rename one of the servers"
        )
        names = [t.name for t in toolbox.tools()]
        assert len(names) == len(set(names))
    assert offered_name("a_b", "c") == offered_name("a", "b_c") == "a_b_c"


async def test_offered_names_fit_llm_function_name_rules() -> None:
    assert offered_name("docs", "search.pages/v2") == "docs_search_pages_v2"
    long = offered_name("server", "x" * 100)
    assert len(long) == 64
    assert long != offered_name("server", "x" * 99)


async def test_toolbox_can_be_closed_from_another_task() -> None:
    toolbox = await asyncio.create_task(Toolbox.start(configs({"ops": ops_stdio()})))
    pid = await pid_of(toolbox)
    await asyncio.create_task(toolbox.aclose())
    assert toolbox.server("ops").state is ServerState.CLOSED
    result = await toolbox.call("ops_pid")
    assert result.status == "error"
    assert "closed" in result.text
    await until(lambda: not _alive(pid))
    await toolbox.aclose()  # closing twice is harmless


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_test_server_module_is_a_real_module() -> None:
    assert isinstance(ops, pytypes.ModuleType)
