"""What the store hands out: frozen, fully loaded records (never ORM rows), and their vocabulary."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.alert import Alert, Severity
from agent.events import Event, Stats
from agent.report import Category, Confidence, RootCauseReport

Vote = Literal[1, -1]


class InvestigationStatus(StrEnum):
    """Where an investigation is in its life: queued -> running -> finished | failed."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Queued or running: a duplicate of its alert joins it instead of starting another."""
        return self in (InvestigationStatus.QUEUED, InvestigationStatus.RUNNING)


class OriginKind(StrEnum):
    SLACK = "slack"
    HTTP = "http"
    CLI = "cli"


class Origin(BaseModel):
    """Where the request to investigate came from, so a restart knows whom to answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: OriginKind
    channel: str | None = Field(default=None, description="Slack channel the alert came from")
    user: str | None = Field(default=None, description="who asked: Slack user id, HTTP client")
    reference: str | None = Field(
        default=None, description="anything else that finds the request again (request id, file)"
    )


class SlackThread(BaseModel):
    """The Slack thread an investigation is reported in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str = Field(min_length=1)
    thread_ts: str = Field(min_length=1)
    message_ts: str | None = Field(
        default=None, description="the message that started it: the alert, or the bot's first post"
    )


class InvestigationRecord(BaseModel):
    """One investigation as stored: its alert, where it is, and how it ended.

    The transcript is not here (it can be large): read it with `Store.transcript(id)`.
    `dedup_key` is the alert's key, or `sha256:<hex>` of it when the key is longer than 255
    characters (the alert itself keeps the original).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    dedup_key: str
    source: str
    status: InvestigationStatus
    alert: Alert
    title: str
    severity: Severity
    origin: Origin
    thread: SlackThread | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None = Field(description="when it finished or failed")
    attempts: int = Field(description="how many times a run started; above 1 means resumed")
    runbook: str | None
    reasoner: str | None
    category: Category | None
    confidence: Confidence | None
    report: RootCauseReport | None
    stats: Stats | None
    error: str | None
    last_event_seq: int = Field(description="sequence number of the newest event, 0 when none")
    runner: str | None = Field(
        default=None, description="the runner (store process) that started its latest run"
    )
    lease_expires_at: datetime | None = Field(
        default=None,
        description="while running: when the runner's lease ends unless renewed; after that "
        "another runner may put it back in the queue",
    )


class Admission(BaseModel):
    """The answer to "investigate this alert": the investigation, and whether it is new."""

    model_config = ConfigDict(frozen=True)

    record: InvestigationRecord
    created: bool


class StoredEvent(BaseModel):
    """An event as stored: its place in the investigation's stream and the run it came from."""

    model_config = ConfigDict(frozen=True)

    seq: int = Field(description="1, 2, 3... per investigation, in the order they were appended")
    attempt: int = Field(description="the run (attempts value) that was current when appended")
    event: Event


class FollowUp(BaseModel):
    """A question asked in an investigation's thread, and its answer once there is one."""

    model_config = ConfigDict(frozen=True)

    id: str
    investigation_id: str
    question: str
    asker: str | None
    asked_at: datetime
    source_ref: str | None = Field(description="the source's id for the question (Slack ts)")
    answer: str | None
    reasoner: str | None
    answered_at: datetime | None
    stats: Stats | None

    @property
    def answered(self) -> bool:
        return self.answer is not None


class FollowUpAdmission(BaseModel):
    model_config = ConfigDict(frozen=True)

    followup: FollowUp
    created: bool


class FeedbackSummary(BaseModel):
    """The 👍/👎 votes on one investigation: one per person, the latest counts."""

    model_config = ConfigDict(frozen=True)

    investigation_id: str
    up: int
    down: int
    votes: dict[str, Vote] = Field(description="user -> +1 or -1")

    @property
    def score(self) -> int:
        return self.up - self.down
