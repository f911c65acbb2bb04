"""A process that runs ten investigations against a store, slowly, printing what it committed.

`python -m tests.agent.store_worker URL`; the crash test kills it with SIGKILL half-way.
"""

from __future__ import annotations

import asyncio
import sys

from agent.events import Note, Stats
from agent.store import Store
from tests.agent.store_helpers import CLI, make_alert, make_report


async def run_one(store: Store) -> bool:
    record = await store.claim_next()
    if record is None:
        return False
    print(f"started {record.id}", flush=True)
    for step in range(40):
        await store.append_events(
            record.id, [Note(investigation_id=record.id, text=f"step {step}")]
        )
        await asyncio.sleep(0.005)
    await store.finish(record.id, make_report(), Stats(iterations=1, tool_calls=0, duration_s=0))
    print(f"finished {record.id}", flush=True)
    return True


async def main(url: str) -> None:
    async with await Store.open(url) as store:
        for i in range(10):
            admission = await store.admit(make_alert(f"crash-{i}"), window_s=600, origin=CLI)
            print(f"admitted {admission.record.id}", flush=True)

        async def worker() -> None:
            while await run_one(store):
                pass

        await asyncio.gather(*(worker() for _ in range(4)))
        print("all done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
