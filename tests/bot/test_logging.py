"""`serve`'s logs: one JSON object per line, the investigation a line is about, extra fields, and
no secret ever written, whichever way it reaches a record."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage

from agent.casefile import CaseFile
from agent.service import current_investigation
from bot.logging import LOGGERS, configure_logging
from tests.fakes.scripted_model import call, say
from tests.http.conftest import REPORT, scripted, serving, webhook

CONFIGURED_TOKEN = "my-own-token-value-42"  # no known token format: removed by value
SLACK_TOKEN = "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream=stream, known_secrets=[CONFIGURED_TOKEN])
    yield stream
    logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_line_is_json_with_time_level_logger_and_message(output: io.StringIO) -> None:
    logging.getLogger("sre_agent.http").info("%d alerts from %s", 3, "alertmanager")
    (line,) = lines(output)
    assert line["message"] == "3 alerts from alertmanager"
    assert line["level"] == "info"
    assert line["logger"] == "sre_agent.http"
    assert line["investigation_id"] is None
    assert line["time"].endswith("+00:00")


def test_every_team_logger_writes_through_the_same_handler(output: io.StringIO) -> None:
    for name in LOGGERS:
        logging.getLogger(name).warning("hello from %s", name)
    assert [line["logger"] for line in lines(output)] == list(LOGGERS)


def test_the_current_investigation_is_on_the_line(output: io.StringIO) -> None:
    token = current_investigation.set("inv_abc123")
    try:
        logging.getLogger("sre_agent.mcp").info("called kubernetes_get_pod")
    finally:
        current_investigation.reset(token)
    logging.getLogger("sre_agent.mcp").info("between investigations")
    assert [line["investigation_id"] for line in lines(output)] == ["inv_abc123", None]


def test_extra_fields_become_keys(output: io.StringIO) -> None:
    logging.getLogger("sre_agent.http").info(
        "request", extra={"status": 202, "path": "/alerts", "ids": ["inv_1", "inv_2"]}
    )
    (line,) = lines(output)
    assert line["status"] == 202
    assert line["path"] == "/alerts"
    assert line["ids"] == ["inv_1", "inv_2"]


def test_secrets_are_never_written_wherever_they_hide(output: io.StringIO) -> None:
    log = logging.getLogger("sre_agent.slack")
    log.info("posting with %s", SLACK_TOKEN)
    log.info(f"header Authorization: Bearer {CONFIGURED_TOKEN}")
    log.info("request", extra={"headers": {"Authorization": f"Bearer {CONFIGURED_TOKEN}"}})
    log.info("settings", extra={"password": "hunter2-hunter2", "note": CONFIGURED_TOKEN})
    try:
        raise RuntimeError(f"auth failed for token {CONFIGURED_TOKEN} / {SLACK_TOKEN}")
    except RuntimeError:
        log.exception("Slack call failed")
    text = output.getvalue()
    for secret in (CONFIGURED_TOKEN, SLACK_TOKEN, "hunter2-hunter2"):
        assert secret not in text
    assert "[REDACTED:" in text
    assert len(lines(output)) == 5
    assert "RuntimeError" in lines(output)[-1]["error"]


def test_text_format_for_a_terminal_is_redacted_too() -> None:
    stream = io.StringIO()
    handler = configure_logging(
        "INFO", format="text", stream=stream, known_secrets=["s3cr3t-value"]
    )
    try:
        token = current_investigation.set("inv_t")
        logging.getLogger("sre_agent.app").info("using s3cr3t-value", extra={"n": 1})
        current_investigation.reset(token)
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    assert "s3cr3t-value" not in text
    assert "[inv_t]" in text
    assert "n=1" in text


def test_level_applies_to_sre_agent_loggers() -> None:
    stream = io.StringIO()
    handler = configure_logging("warning", stream=stream)
    try:
        logging.getLogger("sre_agent.app").info("quiet")
        logging.getLogger("sre_agent.app").warning("loud")
    finally:
        logging.getLogger().removeHandler(handler)
    assert [line["message"] for line in lines(stream)] == ["loud"]


async def test_lines_logged_during_an_investigation_carry_its_id(
    output: io.StringIO, tmp_path: Path
) -> None:
    def logs_while_thinking(case: CaseFile) -> list[AIMessage]:
        def think(messages: list[BaseMessage]) -> AIMessage:
            logging.getLogger("sre_agent.llm").info("model answered")
            return say("", call("submit_report", REPORT))

        return [think]  # type: ignore[list-item]  # a turn may be a function of the chat

    async with serving(tmp_path, workers=True, reasoners=[scripted(logs_while_thinking)]) as api:
        reply = await api.post("/alerts/alertmanager", webhook("9000000000000001"))
        investigation_id = reply.json["investigations"][0]["id"]
        [_ async for _ in api.engine.service.follow(investigation_id)]
    (line,) = [line for line in lines(output) if line["logger"] == "sre_agent.llm"]
    assert line["investigation_id"] == investigation_id


async def test_each_request_is_one_access_line_with_what_the_intake_made_of_it(
    output: io.StringIO, tmp_path: Path
) -> None:
    async with serving(tmp_path) as api:
        reply = await api.post(
            "/alerts/alertmanager",
            webhook("9100000000000001"),
            headers={"Authorization": f"Bearer {CONFIGURED_TOKEN}"},
        )
        assert reply.status == 202
    (line,) = [line for line in lines(output) if line["logger"] == "sre_agent.http"]
    assert line["message"] == "POST /alerts/alertmanager 202"
    assert line["status"] == 202
    assert line["intake"] == "1 firing alert"
    assert line["investigations"] == [reply.json["investigations"][0]["id"]]
    assert line["new_investigations"] == 1
    assert line["duration_ms"] >= 0
    assert CONFIGURED_TOKEN not in output.getvalue()
