"""What can go wrong with the store, as exceptions a caller can tell apart and act on."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every store failure; the message is one line saying what to do."""


class StoreUnavailable(StoreError):
    """The database cannot be opened or reached (bad URL, unwritable path, server down)."""


class StoreClosed(StoreError):
    """The store was closed; open a new one."""


class InvestigationNotFound(StoreError, LookupError):
    """No investigation has that id."""

    def __init__(self, investigation_id: str) -> None:
        super().__init__(f"no investigation with id {investigation_id!r} in the store")
        self.investigation_id = investigation_id


class FollowUpNotFound(StoreError, LookupError):
    """No follow-up question has that id."""

    def __init__(self, followup_id: str) -> None:
        super().__init__(f"no follow-up question with id {followup_id!r} in the store")
        self.followup_id = followup_id


class InvalidTransition(StoreError):
    """The investigation is not in a status that allows this change (e.g. running it twice)."""

    def __init__(self, investigation_id: str, status: str, wanted: str, allowed: str) -> None:
        super().__init__(
            f"investigation {investigation_id} is {status}; it can only be {wanted} when {allowed}"
        )
        self.investigation_id = investigation_id
        self.status = status


class LeaseLost(InvalidTransition):
    """The investigation runs under another runner's lease: this runner's lease expired (it
    stopped renewing for longer than the lease), it was put back in the queue and started again
    elsewhere. The run that lost it must stop; its outcome is not stored."""

    def __init__(self, investigation_id: str, runner: str | None, wanted: str) -> None:
        StoreError.__init__(
            self,
            f"investigation {investigation_id} is running under runner {runner}'s lease, not "
            f"this runner's; only the runner holding it can have it {wanted}",
        )
        self.investigation_id = investigation_id
        self.status = "running"
        self.runner = runner


class ThreadAlreadyLinked(StoreError):
    """A Slack thread belongs to one investigation; it cannot be linked to a second one."""

    def __init__(self, channel: str, thread_ts: str, investigation_id: str) -> None:
        super().__init__(
            f"Slack thread {channel}/{thread_ts} already belongs to investigation "
            f"{investigation_id}; a thread follows one investigation"
        )
        self.investigation_id = investigation_id
