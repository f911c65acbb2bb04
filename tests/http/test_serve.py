"""`sre-agent serve` as a process: where it listens, what it refuses, how it drains on SIGTERM,
and that nothing is lost or done twice when it is killed mid-investigation and started again."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.commands.serve import secret_values
from bot.http import ExposedWithoutToken, check_exposure
from bot.settings import load_settings
from tests.fakes.openai_server import FakeOpenAI, serve_openai
from tests.fakes.slack_server import APP_TOKEN as SLACK_APP
from tests.fakes.slack_server import BOT_TOKEN as SLACK_BOT
from tests.fakes.slack_server import FakeSlack
from tests.http.conftest import webhook
from tests.http.serve_process import (
    follow_events,
    kill_hard,
    serve,
    serve_environment,
    slow_llm,
    stop,
)

TOKEN = "serve-test-token-not-a-known-format"


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with serve_openai() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=120),
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def post_alerts(session: aiohttp.ClientSession, url: str, *keys: str) -> list[str]:
    async with session.post(f"{url}/alerts/alertmanager", json=webhook(*keys)) as response:
        assert response.status == 202, await response.text()
        body = await response.json()
    return [answer["id"] for answer in body["investigations"]]


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def wait_for(session: aiohttp.ClientSession, url: str, status: str, at_least: int) -> None:
    async with asyncio.timeout(60):
        while True:
            listed = await get_json(session, f"{url}/investigations?status={status}&limit=200")
            if len(listed["investigations"]) >= at_least:
                return
            await asyncio.sleep(0.05)


# --- start-up ----------------------------------------------------------------------------------


async def test_serve_refuses_a_non_loopback_address_without_a_token(tmp_path: Path) -> None:
    async with serve_openai() as llm:
        environment = serve_environment(tmp_path, llm, SRE_AGENT_HTTP_HOST="0.0.0.0")  # noqa: S104 - refused, never bound
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--no-slack",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    (line,) = err.decode().strip().splitlines()
    assert "SRE_AGENT_HTTP_TOKEN" in line
    assert "--insecure-no-auth" in line
    assert out == b""


async def test_serve_says_so_in_one_line_when_its_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with serve_openai() as llm:
            environment = serve_environment(tmp_path, llm, SRE_AGENT_HTTP_PORT=str(port))
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "serve",
                "--no-slack",
                env=environment,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 2
    last = err.decode().strip().splitlines()[-1]
    assert last.startswith(f"sre-agent: cannot listen on 127.0.0.1:{port}")


def test_exposure_rules() -> None:
    for host in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.53"):
        check_exposure(host, token_set=False, insecure_no_auth=False)
    for host in ("0.0.0.0", "::", "10.0.0.5", "sre-agent.internal"):  # noqa: S104 - checked only
        with pytest.raises(ExposedWithoutToken):
            check_exposure(host, token_set=False, insecure_no_auth=False)
        check_exposure(host, token_set=True, insecure_no_auth=False)
        check_exposure(host, token_set=False, insecure_no_auth=True)


async def test_serve_says_where_it_listens_and_answers_there(
    tmp_path: Path, llm: FakeOpenAI, session: aiohttp.ClientSession
) -> None:
    environment = serve_environment(tmp_path, llm, SRE_AGENT_HTTP_TOKEN=TOKEN)
    async with serve(
        environment, "--no-slack", "--sandbox", "checkout-oom", stderr_path=tmp_path / "err"
    ) as served:
        assert "auth: bearer token" in served.stdout[0]
        assert "Slack: off (--no-slack)" in served.stdout[0]
        assert "sandbox: checkout-oom" in served.stdout[0]
        ready = await get_json(session, f"{served.url}/readyz")
        assert ready["mcp_servers"] == {"kubernetes": "ready", "prometheus": "ready"}
        assert await stop(served) == 0
    assert served.stdout[-1].strip() == "sre-agent serve: stopped"


async def test_serve_runs_the_slack_bot_and_gives_http_alerts_a_thread(
    tmp_path: Path, llm: FakeOpenAI, session: aiohttp.ClientSession
) -> None:
    llm.respond_with(slow_llm(0))
    async with FakeSlack() as slack:
        incidents = slack.add_channel("incidents")
        environment = serve_environment(
            tmp_path,
            llm,
            SRE_AGENT_HTTP_TOKEN=TOKEN,
            SLACK_BOT_TOKEN=SLACK_BOT,
            SLACK_APP_TOKEN=SLACK_APP,
            SLACK_API_URL=slack.api_url,
            SRE_AGENT_HTTP_ALERT_CHANNEL="#incidents",
        )
        async with serve(
            environment, "--sandbox", "checkout-oom", stderr_path=tmp_path / "err"
        ) as served:
            assert "Slack: on" in served.stdout[0]
            (investigation_id,) = await post_alerts(session, served.url, "5000000000000001")
            root = await slack.wait_for(
                lambda: next(iter(slack.messages[incidents]), None), what="the alert's thread"
            )
            assert "AlwaysFiring" in root.all_text()
            await follow_events(session, served.url, investigation_id, TOKEN)
            record = await get_json(session, f"{served.url}/investigations/{investigation_id}")
            assert record["thread"]["channel"] == incidents
            assert record["thread"]["thread_ts"] == root.ts
            assert await stop(served) == 0
    assert SLACK_BOT not in served.stderr_path.read_text()


async def test_a_wrong_slack_token_is_exit_2_in_one_line(tmp_path: Path, llm: FakeOpenAI) -> None:
    async with FakeSlack() as slack:
        environment = serve_environment(
            tmp_path,
            llm,
            SLACK_BOT_TOKEN="xoxb-not-the-right-one",
            SLACK_APP_TOKEN=SLACK_APP,
            SLACK_API_URL=slack.api_url,
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 2
    last = err.decode().strip().splitlines()[-1]
    assert last.startswith("sre-agent: ")
    assert "SLACK_BOT_TOKEN" in last
    assert "xoxb-not-the-right-one" not in err.decode()
    assert out == b""  # it never said it was serving


def test_every_configured_secret_is_known_to_the_log_filter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SRE_AGENT_HTTP_TOKEN", "http-token-value")
    monkeypatch.setenv("SRE_AGENT_GRAFANA_WEBHOOK_SECRET", "grafana-secret-value")
    monkeypatch.setenv("SRE_AGENT_DATABASE_URL", "postgresql://sre:db-password-value@db/sre")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-bot-token-value")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-key-value")
    secrets = set(secret_values(load_settings()))
    assert {
        "http-token-value",
        "grafana-secret-value",
        "db-password-value",
        "xoxb-bot-token-value",
        "sk-openai-key-value",
    } <= secrets


async def test_serve_logs_are_json_and_never_hold_the_token(
    tmp_path: Path, llm: FakeOpenAI, session: aiohttp.ClientSession
) -> None:
    llm.respond_with(slow_llm(0))
    environment = serve_environment(tmp_path, llm, SRE_AGENT_HTTP_TOKEN=TOKEN)
    async with serve(
        environment, "--no-slack", "--sandbox", "checkout-oom", stderr_path=tmp_path / "err"
    ) as served:
        (investigation_id,) = await post_alerts(session, served.url, "1000000000000001")
        await follow_events(session, served.url, investigation_id, TOKEN)
        async with aiohttp.ClientSession() as stranger:
            for attempt in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN):
                async with stranger.get(
                    f"{served.url}/investigations", headers={"Authorization": attempt}
                ) as response:
                    assert response.status == 401
        assert await stop(served) == 0
    text = served.stderr_path.read_text()
    assert TOKEN not in text
    lines = served.log_lines()
    assert len(lines) == len(text.splitlines())  # every line is JSON
    loggers = {line["logger"] for line in lines}
    assert {"sre_agent.app", "sre_agent.http"} <= loggers
    assert any(line.get("investigation_id") == investigation_id for line in lines)


# --- drain and restart -------------------------------------------------------------------------


async def test_sigterm_lets_running_investigations_finish_and_keeps_the_queue(
    tmp_path: Path, llm: FakeOpenAI, session: aiohttp.ClientSession
) -> None:
    llm.respond_with(slow_llm(1.0))
    environment = serve_environment(
        tmp_path,
        llm,
        SRE_AGENT_HTTP_TOKEN=TOKEN,
        SRE_AGENT_CONCURRENCY="1",
        SRE_AGENT_DRAIN_GRACE_S="60",
    )
    async with serve(
        environment, "--no-slack", "--sandbox", "checkout-oom", stderr_path=tmp_path / "err"
    ) as served:
        ids = await post_alerts(session, served.url, "2000000000000001", "2000000000000002")
        await wait_for(session, served.url, "running", 1)
        assert await stop(served) == 0
    async with serve(
        environment, "--no-slack", "--sandbox", "checkout-oom", stderr_path=tmp_path / "err"
    ) as served:
        first = await get_json(session, f"{served.url}/investigations/{ids[0]}")
        assert first["status"] == "finished"  # it had the grace period to finish
        assert first["attempts"] == 1
        events = await follow_events(session, served.url, ids[1], TOKEN)
        assert events[-1]["type"] == "finished"
        assert (await get_json(session, f"{served.url}/investigations/{ids[1]}"))["attempts"] == 1
        assert await stop(served) == 0


async def test_killed_mid_ten_investigations_all_ten_finish_once_after_restart(
    tmp_path: Path, llm: FakeOpenAI, session: aiohttp.ClientSession
) -> None:
    llm.respond_with(slow_llm(1.0))
    # A short lease: the killed process's runs go back in the queue 2 s after its last renewal.
    environment = serve_environment(
        tmp_path,
        llm,
        SRE_AGENT_HTTP_TOKEN=TOKEN,
        SRE_AGENT_CONCURRENCY="3",
        SRE_AGENT_LEASE_S="2",
        SRE_AGENT_LEASE_RENEW_S="0.5",
    )
    keys = [f"30000000000000{n:02d}" for n in range(10)]
    async with serve(
        environment, "--no-slack", "--sandbox", "checkout-oom", stderr_path=tmp_path / "err"
    ) as served:
        ids = await post_alerts(session, served.url, *keys)
        await wait_for(session, served.url, "running", 1)
        running = await get_json(session, f"{served.url}/investigations?status=running")
        interrupted = {row["id"] for row in running["investigations"]}
        finished_before = await get_json(session, f"{served.url}/investigations?status=finished")
        kill_hard(served)
        assert await served.process.wait() == -signal.SIGKILL
    assert interrupted
    assert len(finished_before["investigations"]) < 10

    async with serve(
        environment, "--no-slack", "--sandbox", "checkout-oom", stderr_path=tmp_path / "err"
    ) as served:
        streams = await asyncio.gather(*(follow_events(session, served.url, i, TOKEN) for i in ids))
        listed = await get_json(session, f"{served.url}/investigations?limit=200")
        records = {i: await get_json(session, f"{served.url}/investigations/{i}") for i in ids}
        assert await stop(served) == 0

    assert len(listed["investigations"]) == 10  # no alert was admitted twice
    for investigation_id, events in zip(ids, streams, strict=True):
        types = [event["type"] for event in events]
        assert types.count("finished") == 1, (investigation_id, types)
        assert types[-1] == "finished"
        record = records[investigation_id]
        assert record["status"] == "finished"
        if investigation_id in interrupted:
            assert record["attempts"] == 2
            notes = [e["text"] for e in events if e["type"] == "note"]
            assert any("restarted" in note and "attempt 2" in note for note in notes)
            assert types.count("started") == 2  # the first run's events stay in the history
        else:
            assert record["attempts"] == 1


async def test_a_second_signal_cuts_the_grace_short_and_the_next_start_runs_the_rest(
    tmp_path: Path, llm: FakeOpenAI, session: aiohttp.ClientSession
) -> None:
    llm.respond_with(slow_llm(3.0))
    environment = serve_environment(
        tmp_path, llm, SRE_AGENT_HTTP_TOKEN=TOKEN, SRE_AGENT_DRAIN_GRACE_S="300"
    )
    async with serve(
        environment, "--no-slack", "--sandbox", "checkout-oom", stderr_path=tmp_path / "err"
    ) as served:
        (investigation_id,) = await post_alerts(session, served.url, "4000000000000001")
        await wait_for(session, served.url, "running", 1)
        served.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.2)  # draining: it would wait up to 300 s for the investigation
        assert await stop(served, signal.SIGTERM) == 0
    drained = [line for line in served.log_lines() if line["message"].startswith("drained")]
    assert [line["requeued"] for line in drained] == [[investigation_id]]
    async with serve(
        environment, "--no-slack", "--sandbox", "checkout-oom", stderr_path=tmp_path / "err"
    ) as served:
        events = await follow_events(session, served.url, investigation_id, TOKEN)
        assert events[-1]["type"] == "finished"
        record = await get_json(session, f"{served.url}/investigations/{investigation_id}")
        assert record["attempts"] == 2
        assert any("attempt 2" in note for note in record["notes"])
        assert await stop(served) == 0
