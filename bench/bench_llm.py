"""LLM reasoner figures against the fake OpenAI-compatible server (its own process, answering
instantly), on the default scenario (checkout-oom) with the real engine, sandbox and MCP servers:

1. orchestration overhead per LLM turn: the reasoner's turn (build the budgeted, redacted request,
   call the model, account usage) against a bare `ChatOpenAI.ainvoke` round trip of the same
   request to the same server, the server's own time taken out of both;
2. time from process start to the first LLM request, for `sre-agent demo` in a fresh process;
3. tokens sent per turn over a 6-turn investigation: as a naive agent would send them (every
   offered tool's full schema, every result whole, every turn), before budgeting (compact
   schemas, whole results) and as sent.

    .venv/bin/python bench/bench_llm.py
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fake server lives in tests/fakes

RUNS = 8  # investigations of 6 LLM turns each
STARTS = 5
PEER_OVERHEAD_MS = 56.0
PEER_TOKENS = (7_100, 49_000)

POD = {"name": "checkout-6c9f7b8d4-x2k4q", "namespace": "shop"}
NODE = "ip-10-42-1-17.eu-west-1.compute.internal"
# Turn N of every conversation (N counts the model's turns, the pre-triage one excluded).
PLAYBOOK: list[dict[str, Any]] = [
    {
        "text": "The pod was OOMKilled; checking the rollout and its siblings.",
        "calls": [
            ["kubernetes_get_deployment", {"name": "checkout", "namespace": "shop"}],
            ["kubernetes_list_pods", {"namespace": "shop"}],
        ],
    },
    {
        "text": "Looking for warnings across the namespace.",
        "calls": [["kubernetes_list_events", {"namespace": "shop", "warnings_only": True}]],
    },
    {
        "text": "Is memory rising across all checkout pods?",
        "calls": [
            [
                "prometheus_query",
                {"query": 'max by (pod) (container_memory_working_set_bytes{namespace="shop"})'},
            ]
        ],
    },
    {
        "text": "Is the node under memory pressure?",
        "calls": [["kubernetes_get_node", {"name": NODE}]],
    },
    {
        "text": "What did the JVM say about its heap?",
        "calls": [
            [
                "kubernetes_pod_logs",
                {**POD, "previous": True, "grep": "heap|memory", "tail_lines": 20},
            ]
        ],
    },
    {
        "text": "The evidence is consistent.",
        "calls": [
            [
                "submit_report",
                {
                    "summary": "checkout is OOMKilled at its 512Mi limit",
                    "category": "oom_killed",
                    "root_cause": (
                        "The working set grows to the 512Mi memory limit and the kernel kills "
                        "the container."
                    ),
                    "confidence": "high",
                    "evidence": [
                        {"statement": "last termination OOMKilled", "tool": "kubernetes_get_pod"}
                    ],
                    "remediation": ["Raise the memory limit to 768Mi"],
                },
            ]
        ],
    },
]


@dataclass
class FakeServer:
    process: subprocess.Popen[str]
    base_url: str
    stats_url: str

    def requests(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.stats_url}/_requests", timeout=10) as response:  # noqa: S310 - 127.0.0.1
            rows: list[dict[str, Any]] = json.load(response)
            return rows

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.stats_url}/_reset", method="POST")  # noqa: S310 - 127.0.0.1
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - 127.0.0.1
            pass

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_fake_server(directory: Path) -> FakeServer:
    playbook = directory / "playbook.json"
    playbook.write_text(json.dumps(PLAYBOOK))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server", "--playbook", str(playbook)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    urls: dict[str, str] = {}
    while len(urls) < 2:
        urls.update(json.loads(process.stdout.readline()))
    return FakeServer(process, urls["base_url"], urls["stats_url"])


@dataclass
class Turn:
    wall_s: float
    model_s: float
    messages: list[Any]
    tools: list[Any]
    conclude: bool
    sent: Any  # PreparedTurn
    naive_tokens: int


@dataclass
class Recorder:
    turns: list[Turn] = field(default_factory=list)


def timed_factory(factory: Any, recorder: Recorder) -> Any:
    """Wraps the LLM reasoner factory: times every LLM turn and keeps what it was given."""
    from langchain_core.messages.utils import count_tokens_approximately
    from langchain_core.utils.function_calling import convert_to_openai_tool

    class Timed:
        def __init__(self, inner: Any) -> None:
            self.inner = inner
            self.name = inner.name

        async def decide(
            self, messages: Sequence[Any], tools: Sequence[Any], *, conclude: bool
        ) -> Any:
            started = time.monotonic()
            answer = await self.inner.decide(messages, tools, conclude=conclude)
            wall = time.monotonic() - started
            if not answer.response_metadata.get("pre_triage"):
                naive = count_tokens_approximately(
                    list(messages), tools=[convert_to_openai_tool(t) for t in tools]
                )
                inner = self.inner
                recorder.turns.append(
                    Turn(
                        wall,
                        inner.last_model_s,
                        list(messages),
                        list(tools),
                        conclude,
                        inner.last_turn,
                        naive,
                    )
                )
            return answer

    return lambda case: Timed(factory(case))


async def investigations(server: FakeServer, directory: Path) -> tuple[Recorder, Any]:
    from agent.intake import parse_alertmanager_alert
    from agent.store import Origin, OriginKind
    from bot.engine import default_reasoners, open_engine
    from bot.settings import load_settings
    from mcp_bridge.sandbox import load_scenario, run_sandbox

    settings = load_settings(
        llm_providers=[
            {
                "name": "bench",
                "model": "gpt-4.1-mini",
                "base_url": server.base_url,
                "max_retries": 0,
            }
        ],
        dedup_window_s=0,
    )
    llm_factory, offline_factory = default_reasoners(settings)
    recorder = Recorder()
    async with (
        run_sandbox(load_scenario("checkout-oom")) as sandbox,
        open_engine(
            settings,
            sandbox=sandbox,
            database_url=f"sqlite+aiosqlite:///{directory / 'bench.db'}",
            reasoners=[timed_factory(llm_factory, recorder), offline_factory],
        ) as engine,
    ):
        alert = parse_alertmanager_alert(sandbox.alert, source="scenario")
        for _ in range(RUNS):
            admission = await engine.service.submit(alert, origin=Origin(kind=OriginKind.CLI))
            async for stored in engine.service.follow(admission.record.id):
                if stored.event.type == "finished":
                    assert stored.event.report.reasoner == "bench:gpt-4.1-mini"
    return recorder, llm_factory


async def bare_round_trips(factory: Any, turns: list[Turn]) -> list[float]:
    """The same requests through `ChatOpenAI.bind_tools(...).ainvoke` and nothing else."""
    from agent.reasoner import SUBMIT_REPORT

    model = await factory.model()
    samples = []
    for turn in turns:
        offered = (
            [t for t in turn.tools if t.name == SUBMIT_REPORT] if turn.conclude else turn.tools
        )
        specs = [factory.spec(t)[0] for t in offered]
        choice = SUBMIT_REPORT if turn.conclude else None
        runnable = model.bind_tools(specs, tool_choice=choice)
        started = time.perf_counter()
        await runnable.ainvoke(turn.sent.messages)
        samples.append(time.perf_counter() - started)
    return samples


def median_ms(values: Sequence[float]) -> float:
    return statistics.median(values) * 1000


def overhead(server: FakeServer, directory: Path) -> Recorder:
    server.reset()
    recorder, _ = asyncio.run(_overhead(server, directory, RUNS))
    return recorder


async def _overhead(server: FakeServer, directory: Path, runs: int) -> tuple[Recorder, Any]:
    recorder, factory = await investigations(server, directory)
    server_s = [row["handled_s"] for row in server.requests()]
    assert len(server_s) == len(recorder.turns), (len(server_s), len(recorder.turns))
    server.reset()
    bare = await bare_round_trips(factory, recorder.turns)
    bare_server_s = [row["handled_s"] for row in server.requests()]
    walls = [t.wall_s for t in recorder.turns]
    ours = [t.wall_s - t.model_s for t in recorder.turns]
    net = [w - s for w, s in zip(walls, server_s, strict=True)]
    bare_net = [w - s for w, s in zip(bare, bare_server_s, strict=True)]
    p90 = statistics.quantiles(ours, n=10)[-1] * 1000
    print(f"1. orchestration overhead per LLM turn ({len(walls)} turns, {runs} investigations)")
    print(f"   reasoner turn, wall                          {median_ms(walls):7.2f} ms (median)")
    print(f"   ... minus the server's time                  {median_ms(net):7.2f} ms")
    print(
        f"   bare ChatOpenAI.ainvoke minus server time    {median_ms(bare_net):7.2f} ms (baseline)"
    )
    print(
        f"   our code per turn (turn minus model call)    {median_ms(ours):7.2f} ms "
        f"(p90 {p90:.2f} ms; target <= 5 ms; peer {PEER_OVERHEAD_MS:.0f} ms)"
    )
    return recorder, factory


def first_request(server: FakeServer) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - a fallback for HOME
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": server.base_url,
    }

    def until_first_request() -> float:
        server.reset()
        started = time.time()
        command = [sys.executable, "-m", "bot", "demo", "--json"]
        subprocess.run(command, env=env, cwd=ROOT, check=True, timeout=120, capture_output=True)
        received: float = server.requests()[0]["received_at"]
        return received - started

    def imports() -> float:
        started = time.perf_counter()
        command = [sys.executable, "-c", "import langchain_openai, mcp"]
        subprocess.run(command, env=env, check=True, timeout=60)
        return time.perf_counter() - started

    def offline_demo() -> float:
        started = time.perf_counter()
        command = [sys.executable, "-m", "bot", "demo", "--json"]
        bare = {k: v for k, v in env.items() if not k.startswith("OPENAI_")}
        subprocess.run(command, env=bare, cwd=ROOT, check=True, timeout=120, capture_output=True)
        return time.perf_counter() - started

    demo, reference, offline = [], [], []
    for _ in range(STARTS):  # interleaved, so load on the machine hits all alike
        demo.append(until_first_request())
        reference.append(imports())
        offline.append(offline_demo())
    print(f"2. process start to the first LLM request (median of {STARTS} runs each)")
    print(f"   sre-agent demo with an LLM configured         {statistics.median(demo):5.2f} s")
    print(f"   python -c 'import langchain_openai, mcp'      {statistics.median(reference):5.2f} s")
    print(f"   sre-agent demo offline, whole run (no LLM)    {statistics.median(offline):5.2f} s")
    print("   (target <= 2 s)")


def tokens(recorder: Recorder) -> None:
    from langchain_core.messages.utils import count_tokens_approximately

    from agent.llm.schemas import spec_tokens, tool_spec

    one = recorder.turns[: len(PLAYBOOK)]
    print(f"3. tokens sent per turn, one {len(one)}-turn investigation (characters / 4)")
    print("   turn  naive agent  before budgeting  sent  (summarized, cut)")
    totals = [0, 0, 0]
    for index, turn in enumerate(one, start=1):
        sent = turn.sent
        row = [turn.naive_tokens, sent.unbudgeted_tokens, sent.tokens]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        print(
            f"   {index:>4}  {row[0]:>11,}  {row[1]:>16,}  {row[2]:>5,}  "
            f"({sent.summarized}, {sent.cut})"
        )
    print(
        f"   total {totals[0]:>11,}  {totals[1]:>16,}  {totals[2]:>5,}  "
        f"(target <= 20,000; peer {PEER_TOKENS[1]:,})"
    )
    first = one[0]
    prompt = count_tokens_approximately(first.messages[:2])
    schemas = sum(spec_tokens(tool_spec(t)) for t in first.tools)
    evidence = first.sent.tokens - prompt - schemas
    print(
        f"   turn 1 = prompt and alert {prompt:,} + {len(first.tools)} tool schemas {schemas:,} "
        f"(= {prompt + schemas:,}; target <= 3,500, peer {PEER_TOKENS[0]:,})"
    )
    print(f"            + the pre-triage evidence (4 runbook checks) {evidence:,}")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        server = start_fake_server(directory)
        try:
            recorder = overhead(server, directory)
            print()
            first_request(server)
            print()
            tokens(recorder)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
