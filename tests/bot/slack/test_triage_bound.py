"""Slack requests are handled a bounded number at a time; the rest wait after their ack."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from bot.slack.triage import Triage, TriageSettings


async def test_requests_beyond_the_bound_wait_their_turn_and_all_are_handled() -> None:
    unused = cast(Any, None)  # spawn() touches none of the collaborators
    triage = Triage(
        service=unused,
        store=unused,
        poster=unused,
        threads=unused,
        identity=unused,
        alert_channels=unused,
        metrics=unused,
        settings=TriageSettings(concurrency=2),
    )
    running = 0
    most = 0

    async def request() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1

    for _ in range(7):
        triage.spawn(request())
    await triage.settle(timeout_s=5)
    assert triage.handled == 7
    assert most == 2
