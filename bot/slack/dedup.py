"""Drops repeated deliveries (Slack retries an envelope it thinks was not acknowledged): the
same `event_id` for events, the same `trigger_id` for commands and button clicks. A dropped
duplicate is answered 200, so it is acknowledged and Slack stops retrying; returning nothing
would make Bolt answer 404, send no ack, and Slack would deliver it again."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.response import BoltResponse

log = logging.getLogger("sre_agent.slack")


def delivery_key(body: Mapping[str, Any]) -> str | None:
    """What identifies one delivery across Slack's retries."""
    event_id = body.get("event_id")
    if isinstance(event_id, str) and event_id:
        return "event:" + event_id
    trigger = body.get("trigger_id")
    if isinstance(trigger, str) and trigger:
        return "trigger:" + trigger
    return None


class DeliveryDedup:
    """Remembers the last `capacity` deliveries for `ttl_s` (Slack retries within minutes)."""

    def __init__(self, *, capacity: int = 20_000, ttl_s: float = 3600.0) -> None:
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._seen: OrderedDict[str, float] = OrderedDict()
        self.dropped = 0

    def first_time(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at <= self._ttl_s and len(self._seen) < self._capacity:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now
        return True

    async def middleware(
        self, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Bolt global middleware (the argument names are how Bolt injects them)."""
        key = delivery_key(body)
        if key is not None and not self.first_time(key):
            self.dropped += 1
            log.info("dropped a repeated Slack delivery (%s)", key)
            return BoltResponse(status=200, body="")
        await next()
        return None
