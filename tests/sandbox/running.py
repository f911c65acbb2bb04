"""A sandbox served from a background thread, so one sandbox can be shared by a whole test module
(sync tests, async tests and subprocesses like kubectl alike) through its real HTTP ports."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mcp_bridge.sandbox import Sandbox, Scenario, load_scenario, run_sandbox

DATA = Path(__file__).parent / "data"
LAB = DATA / "lab.yaml"


@contextmanager
def sandbox_in_thread(scenario: Scenario | str | Path) -> Iterator[Sandbox]:
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    started = threading.Event()
    state: dict[str, object] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        state["stop"], state["loop"] = stop, asyncio.get_running_loop()
        async with run_sandbox(scenario) as sandbox:
            state["sandbox"] = sandbox
            started.set()
            await stop.wait()

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:
            state["error"] = exc
            started.set()

    thread = threading.Thread(target=main, name="sandbox", daemon=True)
    thread.start()
    if not started.wait(30):
        raise TimeoutError("the sandbox did not start within 30 s")
    if "error" in state:
        raise RuntimeError("the sandbox failed to start") from state["error"]  # type: ignore[arg-type]
    try:
        sandbox = state["sandbox"]
        assert isinstance(sandbox, Sandbox)
        yield sandbox
    finally:
        loop, stop = state["loop"], state["stop"]
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert isinstance(stop, asyncio.Event)
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
