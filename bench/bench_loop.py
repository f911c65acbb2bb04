"""What the investigation loop costs, and how it behaves with many investigations at once.

1. Loop overhead per iteration: a zero-latency scripted reasoner and in-process tools, run
   through `Investigation` (events, limits, refusals, call ids, transcript), against the same
   reasoner and tools called directly in a plain loop (the baseline). Target: <= 2 ms.
2. 100 investigations at once, with a reasoner that sleeps 50 ms per turn and tools that sleep
   20 ms: total time against one investigation alone (target <= 1.5x), and peak memory per
   investigation (tracemalloc, peak over the concurrent run minus the idle baseline, / 100).
3. The offline reasoner's own time per turn on a realistic transcript (no tools, no sleeps).

    .venv/bin/python bench/bench_loop.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import tracemalloc
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.tools import BaseTool

from agent.alert import Alert
from agent.events import Finished
from agent.investigation import Investigation
from agent.limits import Limits
from agent.reasoner import SUBMIT_REPORT
from mcp_bridge.langchain_tool import McpTool

TOOL_TURNS = 6
CALLS_PER_TURN = 3
RUNS = 300
CONCURRENT = 100
REASONER_SLEEP_S = 0.050
TOOL_SLEEP_S = 0.020
ALERT = Alert(source="bench", dedup_key="k", title="Bench", labels={"alertname": "Bench"})
REPORT = {"summary": "s", "category": "unknown", "root_cause": "r", "confidence": "low"}


def script() -> list[AIMessage]:
    turns = [
        AIMessage(
            content=f"turn {turn}",
            tool_calls=[
                {
                    "name": f"tool_{n}",
                    "args": {"turn": turn},
                    "id": f"c{turn}_{n}",
                    "type": "tool_call",
                }
                for n in range(CALLS_PER_TURN)
            ],
        )
        for turn in range(TOOL_TURNS)
    ]
    report = {"name": SUBMIT_REPORT, "args": REPORT, "id": "r", "type": "tool_call"}
    return [*turns, AIMessage(content="done", tool_calls=[report])]


class ScriptedReasoner:
    """Plays a fixed script; `sleep_s` stands in for an LLM's latency."""

    def __init__(self, sleep_s: float = 0.0) -> None:
        self._turns = script()
        self._sleep_s = sleep_s

    @property
    def name(self) -> str:
        return "scripted"

    async def decide(
        self, messages: Sequence[BaseMessage], tools: Sequence[BaseTool], *, conclude: bool
    ) -> AIMessage:
        del messages, tools, conclude
        if self._sleep_s:
            await asyncio.sleep(self._sleep_s)
        return self._turns.pop(0)


# The MCP bridge's own tool class with a JSON-schema dict for arguments, as the toolbox builds
# them (minus the MCP session, so the bench measures the loop, not the transport).
TOOL_SCHEMA = {"type": "object", "properties": {"turn": {"type": "integer"}}, "required": ["turn"]}


def tools(sleep_s: float = 0.0) -> list[BaseTool]:
    def make(name: str) -> BaseTool:
        async def run(turn: int) -> tuple[str, dict[str, Any]]:
            if sleep_s:
                await asyncio.sleep(sleep_s)
            structured = {"turn": turn, "items": list(range(20))}
            return json.dumps(structured), {"status": "success", "structured": structured}

        return McpTool(
            name=name,
            description=name,
            args_schema=TOOL_SCHEMA,
            coroutine=run,
            response_format="content_and_artifact",
        )

    return [make(f"tool_{n}") for n in range(CALLS_PER_TURN)]


# Built once, as the engine builds its toolbox once: a tool's schema is compiled at creation.
INSTANT_TOOLS = tools()
SLOW_TOOLS = tools(TOOL_SLEEP_S)


async def through_the_loop(sleep: tuple[float, float] = (0.0, 0.0)) -> Investigation:
    investigation = Investigation(
        investigation_id="bench",
        alert=ALERT,
        messages=[SystemMessage("rules"), HumanMessage("alert")],
        reasoners=[ScriptedReasoner(sleep[0])],
        tools=SLOW_TOOLS if sleep[1] else INSTANT_TOOLS,
        limits=Limits(max_iterations=20, max_tool_calls=100),
    )
    async for event in investigation.run():
        last = event
    assert isinstance(last, Finished)
    return investigation


async def directly() -> None:
    """The same reasoner and tools, without the loop: decide, run the calls together, repeat."""
    reasoner, offered = ScriptedReasoner(), INSTANT_TOOLS
    by_name = {tool.name: tool for tool in offered}
    messages: list[BaseMessage] = [SystemMessage("rules"), HumanMessage("alert")]
    while True:
        message = await reasoner.decide(messages, offered, conclude=False)
        messages.append(message)
        if any(call["name"] == SUBMIT_REPORT for call in message.tool_calls):
            return
        results = await asyncio.gather(
            *(by_name[c["name"]].ainvoke({**c, "type": "tool_call"}) for c in message.tool_calls)
        )
        messages.extend(results)


async def overhead() -> None:
    iterations = TOOL_TURNS + 1
    for _ in range(20):  # warm up imports and caches
        await through_the_loop()
        await directly()
    loop_s, direct_s = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        await through_the_loop()
        loop_s.append((time.perf_counter() - started) / iterations)
        started = time.perf_counter()
        await directly()
        direct_s.append((time.perf_counter() - started) / iterations)
    loop_ms, direct_ms = statistics.median(loop_s) * 1000, statistics.median(direct_s) * 1000
    print(f"loop overhead per iteration ({CALLS_PER_TURN} tool calls each, median of {RUNS}):")
    print(f"  through the loop   {loop_ms:7.3f} ms/iteration")
    print(f"  direct (baseline)  {direct_ms:7.3f} ms/iteration")
    print(f"  overhead           {loop_ms - direct_ms:7.3f} ms/iteration (target <= 2 ms)")


async def concurrency() -> None:
    sleeps = (REASONER_SLEEP_S, TOOL_SLEEP_S)
    await through_the_loop(sleeps)  # warm up
    started = time.perf_counter()
    await through_the_loop(sleeps)
    one_s = time.perf_counter() - started

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(through_the_loop(sleeps) for _ in range(CONCURRENT)))
    many_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started

    # Memory in a second run: tracemalloc slows Python down several times, so it must not
    # share a run with the timing.
    tracemalloc.start()
    idle, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    await asyncio.gather(*(through_the_loop(sleeps) for _ in range(CONCURRENT)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_kib = (peak - idle) / CONCURRENT / 1024
    print(
        f"\n{CONCURRENT} investigations at once ({REASONER_SLEEP_S * 1000:.0f} ms per reasoner "
        f"turn, {TOOL_SLEEP_S * 1000:.0f} ms per tool call, {TOOL_TURNS + 1} turns each):"
    )
    print(f"  one alone          {one_s * 1000:7.0f} ms")
    print(f"  {CONCURRENT} at once        {many_s * 1000:7.0f} ms")
    print(f"  ratio              {many_s / one_s:7.2f}x (target <= 1.5x)")
    print(
        f"  CPU used           {cpu_s * 1000:7.0f} ms ({cpu_s / CONCURRENT * 1000:.1f} ms per "
        f"investigation, {cpu_s / many_s:.0%} of the wall time: one event loop runs them all)"
    )
    print(f"  peak memory        {per_kib:7.0f} KiB per investigation (tracemalloc)")


async def offline_turns() -> None:
    """The offline reasoner deciding on a transcript of the built-in OOM scenario's results."""
    from agent.casefile import CaseFile
    from agent.offline import offline_reasoner
    from agent.runbooks import RunbookLibrary

    library = RunbookLibrary.load()
    alert = Alert(
        source="bench",
        dedup_key="k",
        title="KubePodCrashLooping",
        labels={"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-1"},
    )
    runbook = library.match(alert)
    case = CaseFile(
        investigation_id="bench",
        alert=alert,
        runbook=runbook,
        steps=tuple(runbook.steps_for(alert)),
        tools=(),
        limits=Limits(),
    )
    reasoner = offline_reasoner(case)
    pod = {
        "name": "web-1", "namespace": "shop", "phase": "Running", "status": "CrashLoopBackOff",
        "ready": "0/1", "restarts": 5, "age": "3d", "node": "n1",
        "controller": {"kind": "Deployment", "name": "web"},
        "containers": [{
            "name": "app", "image": "r/web:1", "limits": {"memory": "512Mi"}, "restart_count": 5,
            "ready": False, "state": {"state": "waiting", "reason": "CrashLoopBackOff"},
            "last_termination": {"state": "terminated", "reason": "OOMKilled", "exit_code": 137},
        }],
        "events": [{"object_kind": "Pod", "object_name": "web-1", "type": "Warning",
                    "reason": "BackOff", "message": "Back-off restarting failed container",
                    "count": 12}] * 20,
    }  # fmt: skip
    text = "\n".join(f"INFO request {n} ok 12ms" for n in range(150))
    logs = {"pod": "web-1", "namespace": "shop", "container": "app", "previous": True,
            "line_count": 150, "text": text}  # fmt: skip
    from agent.tooling import ToolOutcome, ToolStatus

    outcomes = [
        ToolOutcome(call_id="a", tool="kubernetes_get_pod", arguments={"name": "web-1"},
                    status=ToolStatus.SUCCESS, text=json.dumps(pod), structured=pod),
        ToolOutcome(call_id="b", tool="kubernetes_pod_logs", arguments={"name": "web-1"},
                    status=ToolStatus.SUCCESS, text=logs["text"], structured=logs),
    ]  # fmt: skip
    calls = [
        {"name": o.tool, "args": o.arguments, "id": o.call_id, "type": "tool_call"}
        for o in outcomes
    ]
    messages: list[BaseMessage] = [
        SystemMessage("rules"),
        HumanMessage("alert"),
        AIMessage(content="plan", tool_calls=calls),
        *(o.to_message() for o in outcomes),
    ]
    from agent.reasoner import SUBMIT_REPORT_TOOL

    offered: list[BaseTool] = [*INSTANT_TOOLS, SUBMIT_REPORT_TOOL]
    for _ in range(10):
        await reasoner.decide(messages, offered, conclude=False)
    times = []
    for _ in range(100):
        started = time.perf_counter()
        await reasoner.decide(messages, offered, conclude=False)
        times.append(time.perf_counter() - started)
    print("\noffline reasoner, one turn on a crash-loop transcript (get_pod + 150 log lines):")
    print(f"  median             {statistics.median(times) * 1000:7.2f} ms per turn")


async def main() -> None:
    await overhead()
    await concurrency()
    await offline_turns()


if __name__ == "__main__":
    asyncio.run(main())
