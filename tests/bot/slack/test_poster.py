"""The poster against the local Slack through the real slack-sdk client: rate limits, server
errors, limits Slack enforces, coalesced status updates, failures counted and survived."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.metrics import Metrics
from bot.slack.poster import SlackPoster, web_client
from bot.slack.render.kit import Attachment, Post, sections
from tests.fakes.slack_server import BOT_TOKEN, FakeSlack

CHANNEL = "C0POSTER01"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(echo_bot_messages=False) as fake:
        fake.add_channel("poster", id=CHANNEL)
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


def poster_for(
    slack: FakeSlack, session: aiohttp.ClientSession, metrics: Metrics, **kwargs: float
) -> SlackPoster:
    client = web_client(BOT_TOKEN, base_url=slack.api_url, timeout_s=5, session=session)
    return SlackPoster(client, metrics, **kwargs)  # type: ignore[arg-type]


def errors(metrics: Metrics) -> dict[tuple[str, str], float]:
    return {
        (s.labels["method"], s.labels["error"]): s.value
        for metric in metrics.slack_api_errors.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    }


def message(text: str = "hello") -> Post:
    return Post(text=text, blocks=sections(text))


async def test_rate_limit_is_waited_out_beyond_the_sdk_retries(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    metrics = Metrics()
    poster = poster_for(slack, session, metrics)
    slack.fail("chat.postMessage", times=4, status=429, retry_after=1)
    posted = await poster.post(CHANNEL, message())
    assert posted is not None
    calls = slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 429, 429, 429, 200]
    assert calls[-1].at - calls[0].at >= 3.5, "each retry waited Retry-After (1s)"
    assert errors(metrics) == {}
    assert [m.text for m in slack.messages[CHANNEL]] == ["hello"]


async def test_server_errors_are_retried(slack: FakeSlack, session: aiohttp.ClientSession) -> None:
    metrics = Metrics()
    poster = poster_for(slack, session, metrics)
    slack.fail(
        "chat.postMessage", times=3, status=503, error="service_unavailable", retry_after=None
    )
    assert await poster.post(CHANNEL, message()) is not None
    assert errors(metrics) == {}


async def test_more_than_fifty_blocks_become_several_messages_in_order(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    poster = poster_for(slack, session, Metrics())
    blocks = [b for n in range(120) for b in sections(f"part {n}")]
    first = await poster.post(CHANNEL, Post(text="long", blocks=blocks))
    assert first is not None
    posted = slack.messages[CHANNEL]
    assert [len(m.blocks) for m in posted] == [50, 50, 20]
    assert posted[0].ts == first.ts
    assert posted[2].blocks[-1]["text"]["text"] == "part 119"


async def test_blocks_slack_refuses_become_text_and_a_file(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    metrics = Metrics()
    poster = poster_for(slack, session, metrics)
    slack.fail("chat.postMessage", times=1, status=200, error="invalid_blocks", retry_after=None)
    posted = await poster.post(CHANNEL, message("the whole report"))
    assert posted is not None
    text_only, shared = slack.messages[CHANNEL]
    assert text_only.text == "the whole report"
    assert not text_only.blocks
    assert shared.thread_ts == text_only.ts
    assert "the whole report" in shared.files[0]["content"]
    assert errors(metrics) == {}


async def test_files_are_shared_after_the_message_in_its_thread(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    poster = poster_for(slack, session, Metrics())
    root = await poster.post(CHANNEL, message("root"))
    assert root is not None
    attachment = Attachment("iteration-1-results.txt", "Iteration 1", '{"restarts": 5}')
    await poster.post(CHANNEL, Post(text="it", files=(attachment,)), thread_ts=root.ts)
    shared = slack.messages[CHANNEL][-1]
    assert shared.thread_ts == root.ts
    assert shared.files[0]["name"] == "iteration-1-results.txt"
    assert shared.files[0]["content"] == '{"restarts": 5}'


async def test_status_updates_are_coalesced(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    poster = poster_for(slack, session, Metrics(), status_interval_s=0.5)
    posted = await poster.post(CHANNEL, message("status 0"))
    assert posted is not None
    status = poster.status(posted.channel, posted.ts)
    for n in range(1, 30):
        status.show(message(f"status {n}"))
        await asyncio.sleep(0.01)
    await status.settle(message("final"))
    updates = slack.calls_to("chat.update")
    assert len(updates) <= 3, "about one update per interval, not one per change"
    assert slack.message(CHANNEL, posted.ts).text == "final"


async def test_a_write_that_fails_is_counted_and_reported_not_raised(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    metrics = Metrics()
    poster = poster_for(slack, session, metrics)
    outside = slack.add_channel("outside", member=False)
    assert await poster.post(outside, message()) is None
    assert await poster.react(CHANNEL, "1.000001", "eyes") is False
    assert errors(metrics) == {
        ("chat.postMessage", "not_in_channel"): 1.0,
        ("reactions.add", "message_not_found"): 1.0,
    }


async def test_harmless_reaction_errors_are_not_failures(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    metrics = Metrics()
    poster = poster_for(slack, session, metrics)
    posted = await poster.post(CHANNEL, message())
    assert posted is not None
    await poster.react(CHANNEL, posted.ts, "eyes")
    await poster.react(CHANNEL, posted.ts, "eyes")  # already_reacted
    await poster.unreact(CHANNEL, posted.ts, "white_check_mark")  # no_reaction
    assert errors(metrics) == {}


async def test_slack_unreachable_is_counted_not_raised(session: aiohttp.ClientSession) -> None:
    gone = FakeSlack()
    await gone.start()
    await gone.stop()
    metrics = Metrics()
    poster = poster_for(gone, session, metrics)
    assert await poster.post(CHANNEL, message()) is None
    ((method, error),) = errors(metrics)
    assert method == "chat.postMessage"
    assert "Connect" in error or "OSError" in error


async def test_a_burst_into_a_rate_limited_channel_all_goes_through(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    metrics = Metrics()
    poster = poster_for(slack, session, metrics)
    slack.rate_limit("chat.postMessage", per_second=20, burst=5)
    posted = await asyncio.gather(*(poster.post(CHANNEL, message(f"m{n}")) for n in range(60)))
    assert all(p is not None for p in posted)
    assert sorted(m.text for m in slack.messages[CHANNEL]) == sorted(f"m{n}" for n in range(60))
    limited = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
    assert limited, "the burst was rate limited"
    assert errors(metrics) == {}
