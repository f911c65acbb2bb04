"""The real Alertmanager (Debian's 0.25) posting through its Slack receiver into the local Slack,
and the bot investigating what arrives: attachments only, empty text, `subtype: bot_message`."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.bot.slack.conftest import ALERTS, Rig, report_in
from tests.fakes.slack_server import BOT_USER_ID, WEBHOOK_BOT_ID

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

pytestmark = [
    pytest.mark.alertmanager,
    pytest.mark.skipif(
        ALERTMANAGER is None,
        reason="needs Debian's prometheus-alertmanager (apt-get install prometheus-alertmanager)",
    ),
]

# The text template many teams use: every label on its own line, so the alert carries them.
CONFIG = """
route:
  receiver: slack
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: slack
    slack_configs:
      - api_url: {webhook}
        channel: '#alerts'
        send_resolved: true
        text: >-
          {{{{ range .Alerts -}}}}
          *Alert:* {{{{ .Annotations.summary }}}}

          *Details:*
            {{{{ range .Labels.SortedPairs }}}} • *{{{{ .Name }}}}:* `{{{{ .Value }}}}`
            {{{{ end }}}}
          {{{{ end }}}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def alertmanager(tmp_path: Path, webhook: str) -> Iterator[str]:
    assert ALERTMANAGER is not None
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG.format(webhook=webhook))
    port = free_port()
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            f"--storage.path={tmp_path / 'data'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def ready(url: str) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/-/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"Alertmanager at {url} did not become ready")


@pytest.fixture
async def alertmanager_url(rig: Rig, tmp_path: Path) -> AsyncIterator[str]:
    webhook = f"{rig.slack.base_url}/services/T0FAKE/B0WEBHOOK/secret"
    with alertmanager(tmp_path, webhook) as url:
        await ready(url)
        yield url


async def test_alertmanager_slack_notification_is_investigated(
    rig: Rig, alertmanager_url: str
) -> None:
    slack = rig.slack
    alert = {
        "labels": {
            "alertname": "KubePodCrashLooping",
            "namespace": "shop",
            "pod": "checkout-6c9f7b8d4-x2k4q",
            "container": "app",
            "severity": "critical",
        },
        "annotations": {"summary": "Pod shop/checkout-6c9f7b8d4-x2k4q is crash looping"},
        "startsAt": datetime.now(UTC).isoformat(),
    }
    async with httpx.AsyncClient(timeout=5) as client:
        posted = await client.post(f"{alertmanager_url}/api/v2/alerts", json=[alert])
        assert posted.status_code == 200

    notification = await slack.wait_for(
        lambda: next((m for m in slack.messages[ALERTS] if m.bot_id == WEBHOOK_BOT_ID), None),
        timeout_s=30,
        what="Alertmanager's Slack notification",
    )
    assert notification.text == ""
    assert notification.attachments[0]["title"].startswith("[FIRING:1] KubePodCrashLooping")
    await report_in(slack, ALERTS, notification.ts)
    await rig.settle()

    record = await rig.engine.store.find_by_thread(ALERTS, notification.ts)
    assert record is not None
    assert record.alert.labels["pod"] == "checkout-6c9f7b8d4-x2k4q"
    assert record.severity.value == "critical"
    assert notification.reactions["white_check_mark"] == {BOT_USER_ID}
