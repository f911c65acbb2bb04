"""What identifies a delivery across Slack's retries."""

from __future__ import annotations

from bot.slack.dedup import DeliveryDedup, delivery_key


def test_events_by_event_id_commands_and_clicks_by_trigger_id() -> None:
    assert delivery_key({"event_id": "Ev1", "event": {}}) == "event:Ev1"
    assert delivery_key({"command": "/investigate", "trigger_id": "t.1"}) == "trigger:t.1"
    assert delivery_key({"type": "hello"}) is None


def test_a_delivery_is_new_once() -> None:
    dedup = DeliveryDedup()
    assert dedup.first_time("event:Ev1")
    assert not dedup.first_time("event:Ev1")
    assert dedup.first_time("event:Ev2")


def test_memory_is_bounded() -> None:
    dedup = DeliveryDedup(capacity=3)
    for n in range(10):
        assert dedup.first_time(f"event:{n}")
    assert dedup.first_time("event:0"), "the oldest keys were forgotten"
