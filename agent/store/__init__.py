"""The store: investigations, their alerts, events, transcripts, reports, follow-ups and feedback,
in SQLite (default) or PostgreSQL, with the schema migrated on open.
"""

from agent.store.engine import redact_url
from agent.store.errors import (
    FollowUpNotFound,
    InvalidTransition,
    InvestigationNotFound,
    LeaseLost,
    StoreClosed,
    StoreError,
    StoreUnavailable,
    ThreadAlreadyLinked,
)
from agent.store.records import (
    Admission,
    FeedbackSummary,
    FollowUp,
    FollowUpAdmission,
    InvestigationRecord,
    InvestigationStatus,
    Origin,
    OriginKind,
    SlackThread,
    StoredEvent,
    Vote,
)
from agent.store.store import DEFAULT_LEASE_S, Store

__all__ = [
    "DEFAULT_LEASE_S",
    "Admission",
    "FeedbackSummary",
    "FollowUp",
    "FollowUpAdmission",
    "FollowUpNotFound",
    "InvalidTransition",
    "InvestigationNotFound",
    "InvestigationRecord",
    "InvestigationStatus",
    "LeaseLost",
    "Origin",
    "OriginKind",
    "SlackThread",
    "Store",
    "StoreClosed",
    "StoreError",
    "StoreUnavailable",
    "StoredEvent",
    "ThreadAlreadyLinked",
    "Vote",
    "redact_url",
]
