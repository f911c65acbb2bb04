"""How long `sre-agent demo` takes end to end on the default scenario (target <= 3 s on 2 cores,
sandbox and MCP servers included), and where the time goes.

1. `sre-agent demo --json` as a subprocess, median of RUNS, against a bare `python -c pass`.
2. The same steps timed inside one fresh process: imports, sandbox start, engine start (store,
   MCP servers, runbooks), the investigation itself, shutdown.

    .venv/bin/python bench/bench_demo.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 5
ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("sre-agent")

# Run in a fresh interpreter so imports are paid as a user pays them.
STAGES = r"""
import time
started = time.perf_counter()
import asyncio, json, tempfile
from agent.intake import parse_alertmanager_alert
from agent.store import Origin, OriginKind
from bot.engine import open_engine
from bot.settings import load_settings
from mcp_bridge.sandbox import load_scenario, run_sandbox
stages = {"imports": time.perf_counter() - started}

async def main():
    settings = load_settings(None, dedup_window_s=0)
    scenario = load_scenario("checkout-oom")
    with tempfile.TemporaryDirectory() as directory:
        mark = time.perf_counter()
        async with run_sandbox(scenario) as sandbox:
            stages["sandbox start"] = time.perf_counter() - mark
            mark = time.perf_counter()
            async with open_engine(
                settings, sandbox=sandbox, database_url=f"sqlite+aiosqlite:///{directory}/d.db"
            ) as engine:
                stages["engine start"] = time.perf_counter() - mark
                mark = time.perf_counter()
                alert = parse_alertmanager_alert(sandbox.alert, source="scenario")
                admission = await engine.service.submit(alert, origin=Origin(kind=OriginKind.CLI))
                async for _ in engine.service.follow(admission.record.id):
                    pass
                stages["investigation"] = time.perf_counter() - mark
                mark = time.perf_counter()
            stages["shutdown"] = time.perf_counter() - mark

asyncio.run(main())
stages["total in process"] = time.perf_counter() - started
print(json.dumps(stages))
"""


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=_environment())
    return time.perf_counter() - started


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    for name in ("KUBECONFIG", "PROMETHEUS_URL", "SRE_AGENT_CONFIG"):
        environment.pop(name, None)
    return environment


def main() -> None:
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    bare = statistics.median(timed([sys.executable, "-c", "pass"]) for _ in range(RUNS))
    demo = [timed([str(CLI), "demo", "--json"]) for _ in range(RUNS)]
    print(f"\n`sre-agent demo --json` (default scenario), {RUNS} runs:")
    print(f"  median             {statistics.median(demo):6.2f} s   (target <= 3 s)")
    print(f"  min / max          {min(demo):6.2f} s / {max(demo):.2f} s")
    print(f"  bare interpreter   {bare:6.2f} s   (python -c pass)")

    runs = []
    for _ in range(RUNS):
        result = subprocess.run(
            [sys.executable, "-c", STAGES],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=_environment(),
        )
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    print(f"\nwhere the time goes (median of {RUNS} fresh processes):")
    for stage in runs[0]:
        print(f"  {stage:<18} {statistics.median(r[stage] for r in runs):6.2f} s")


if __name__ == "__main__":
    main()
