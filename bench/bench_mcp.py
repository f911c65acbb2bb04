"""MCP bridge figures: tool-call overhead on the persistent session against a new session per call
(what langchain-mcp-adapters' default `MultiServerMCPClient.get_tools()` tools do), start-up time
in-process against stdio, and redaction throughput on 1 MB of log text.

    .venv/bin/python bench/bench_mcp.py
"""

from __future__ import annotations

import asyncio
import random
import secrets
import statistics
import string
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test servers live in tests/bridge/servers

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from mcp_bridge.config import parse_servers  # noqa: E402
from mcp_bridge.redaction import redact  # noqa: E402
from mcp_bridge.toolbox import Toolbox  # noqa: E402

OPS = ROOT / "tests" / "bridge" / "servers" / "ops.py"
CALLS = 300
FRESH_CALLS = 15
STARTS = 7


def servers(entry: dict[str, object]) -> list:  # type: ignore[type-arg]
    raw = {"kubernetes": {"enabled": False}, "prometheus": {"enabled": False}, "ops": entry}
    return [s for s in parse_servers(raw, environ={}) if s.name == "ops"]


STDIO = {"command": sys.executable, "args": [str(OPS)]}
IN_PROCESS = {"module": "tests.bridge.servers.ops"}


async def timed(action: Callable[[], Awaitable[object]], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - started)
    return samples


async def call_on_a_fresh_session() -> None:
    parameters = StdioServerParameters(command=sys.executable, args=[str(OPS)])
    async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.call_tool("echo", {"text": "hello"})


async def tool_calls() -> None:
    async with Toolbox.open(servers(STDIO)) as toolbox:
        echo = toolbox.tool("ops_echo")
        for _ in range(20):  # warm-up
            await toolbox.call("ops_echo", {"text": "hello"})
        persistent = await timed(lambda: toolbox.call("ops_echo", {"text": "hello"}), CALLS)
        call = {"name": "ops_echo", "args": {"text": "hello"}, "id": "c1", "type": "tool_call"}
        langchain = await timed(lambda: echo.ainvoke(call), CALLS)
        started = time.perf_counter()
        await asyncio.gather(*(toolbox.call("ops_echo", {"text": "hi"}) for _ in range(100)))
        concurrent = time.perf_counter() - started
    fresh = await timed(call_on_a_fresh_session, FRESH_CALLS)
    persistent_ms = statistics.median(persistent) * 1000
    fresh_ms = statistics.median(fresh) * 1000
    langchain_ms = statistics.median(langchain) * 1000
    print("tool call (stdio server, echo), median per call")
    for label, ms, n in (
        ("persistent session, Toolbox.call", persistent_ms, CALLS),
        ("persistent session, LangChain tool", langchain_ms, CALLS),
        ("new session per call (adapters' default)", fresh_ms, FRESH_CALLS),
    ):
        print(f"  {label:<42}{ms:8.2f} ms  (n={n})")
    print(f"  persistent session is {fresh_ms / persistent_ms:.0f}x faster")
    print(f"  100 concurrent calls on one session: {concurrent * 1000:.1f} ms in all")


async def start_up() -> None:
    async def start(entry: dict[str, object]) -> None:
        async with Toolbox.open(servers(entry)) as toolbox:
            assert toolbox.server("ops").state.value == "ready"

    in_process = await timed(lambda: start(IN_PROCESS), STARTS)
    stdio = await timed(lambda: start(STDIO), STARTS)
    in_ms, stdio_ms = statistics.median(in_process) * 1000, statistics.median(stdio) * 1000
    print("server start-up + tools/list + shutdown (one server)")
    print(f"  in-process (memory transport)  median {in_ms:8.1f} ms  (n={STARTS})")
    print(f"  stdio (child process)          median {stdio_ms:8.1f} ms  (n={STARTS})")
    print(f"  in-process saves {stdio_ms - in_ms:.0f} ms per server ({stdio_ms / in_ms:.0f}x)")


def log_text(size: int = 1_000_000) -> str:
    rng = random.Random(7)
    alnum = string.ascii_letters + string.digits
    leaks = [
        lambda: "Authorization: Bearer " + "".join(rng.choices(alnum, k=40)),
        lambda: "GITHUB_TOKEN=ghp_" + "".join(rng.choices(alnum, k=36)),
        lambda: "dsn=postgres://app:" + "".join(rng.choices(alnum, k=16)) + "@db:5432/app",
        lambda: '{"password": "' + "".join(rng.choices(alnum, k=12)) + '"}',
    ]
    lines, total = [], 0
    while total < size:
        line = (
            f"2026-05-01T10:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z level=info "
            f'msg="GET /api/v1/orders/{rng.randint(1, 99999)} 200" pod=checkout-6c9f7b-x2k4q '
            f"trace_id={secrets.token_hex(16)} duration_ms={rng.random() * 100:.2f}"
        )
        if rng.random() < 0.005:
            line += " " + rng.choice(leaks)()
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def redaction() -> None:
    text = log_text()
    samples = []
    for _ in range(7):
        started = time.perf_counter()
        redact(text)
        samples.append(time.perf_counter() - started)
    seconds = statistics.median(samples)
    print("redaction")
    print(
        f"  {len(text) / 1e6:.2f} MB of log text (0.5% lines with a secret)  median "
        f"{seconds * 1000:.1f} ms  -> {len(text) / 1e6 / seconds:.0f} MB/s"
    )


async def main() -> None:
    await tool_calls()
    await start_up()
    redaction()


if __name__ == "__main__":
    asyncio.run(main())
