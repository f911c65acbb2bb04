"""`sre-agent serve` as a child process, as an operator runs it: environment in, the URL it
prints out, logs on stderr, stopped by a signal. Investigations talk to a local
OpenAI-compatible server (tests/fakes/openai_server.py) that the test scripts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.openai_server import REPORT, FakeOpenAI, RecordedRequest, Reply, call

START_TIMEOUT_S = 90.0
# Settings a developer's shell may hold that must not reach the server under test.
_SCRUBBED = re.compile(r"^(SRE_AGENT_|SLACK_|OPENAI_|AZURE_OPENAI_|GITHUB_TOKEN$)")


def slow_llm(delay_s: float) -> Any:
    """A model that thinks for `delay_s` per turn, then writes the report (oom_killed)."""

    def respond(request: RecordedRequest) -> Reply:
        del request
        return Reply(delay_s=delay_s, tool_calls=[call("submit_report", REPORT)])

    return respond


def serve_environment(tmp_path: Path, llm: FakeOpenAI, **settings: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not _SCRUBBED.match(key)}
    environment.update(
        {
            "SRE_AGENT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
            "SRE_AGENT_HTTP_PORT": "0",
            "SRE_AGENT_LOG_LEVEL": "INFO",
            "OPENAI_API_KEY": "sk-test-0000000000000000000000000000",
            "OPENAI_BASE_URL": llm.base_url,
            "PYTHONUNBUFFERED": "1",
        }
    )
    environment.update(settings)
    return environment


@dataclass
class Served:
    process: asyncio.subprocess.Process
    url: str
    stdout: list[str]
    stderr_path: Path

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.stderr_path.read_text().splitlines():
            with suppress(json.JSONDecodeError):
                lines.append(json.loads(raw))
        return lines


@asynccontextmanager
async def serve(
    environment: Mapping[str, str], *args: str, stderr_path: Path
) -> AsyncIterator[Served]:
    """Start `sre-agent serve ARGS`, wait until it says where it listens; on exit make sure
    it is gone (SIGKILL if a test left it running)."""
    with stderr_path.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            *args,
            env=dict(environment),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while True:
                raw = await process.stdout.readline()
                if not raw:
                    raise AssertionError(
                        f"serve exited ({await process.wait()}) before listening: "
                        + (await asyncio.to_thread(stderr_path.read_text))[-2000:]
                    )
                line = raw.decode()
                seen.append(line)
                if found := re.search(r"listening on (http://\S+)", line):
                    break
        yield Served(process, found.group(1), seen, stderr_path)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def stop(served: Served, sig: signal.Signals = signal.SIGTERM) -> int:
    served.process.send_signal(sig)
    assert served.process.stdout is not None
    async with asyncio.timeout(60):
        rest = await served.process.stdout.read()
        served.stdout.extend(rest.decode().splitlines())
        return await served.process.wait()


async def follow_events(
    session: aiohttp.ClientSession, url: str, investigation_id: str, token: str | None
) -> list[dict[str, Any]]:
    """Every event of an investigation over SSE, until the stream ends."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    events = []
    async with session.get(
        f"{url}/investigations/{investigation_id}/events", headers=headers
    ) as response:
        assert response.status == 200
        async for raw in response.content:
            line = raw.decode().strip()
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: ") :]))
    return events


def kill_hard(served: Served) -> None:
    os.kill(served.process.pid, signal.SIGKILL)
