"""What one delivery yields: the firing alerts to investigate, and what was left out and why."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from agent.alert import Alert, AlertStatus


class IntakeResult(BaseModel):
    """The firing alerts of one payload, one per dedup key, in payload order.

    Resolved alerts and repeats are counted, not returned, so the HTTP endpoint and Slack can
    say "3 resolved alerts ignored" instead of silently dropping them.
    """

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="alertmanager | grafana | generic | text ...")
    alerts: tuple[Alert, ...] = ()
    resolved: int = Field(default=0, description="resolved alerts left out")
    duplicates: int = Field(default=0, description="repeats of an alert already in `alerts`")
    truncated: int = Field(
        default=0, description="alerts the sender itself left out (Alertmanager max_alerts)"
    )

    def describe(self) -> str:
        """One line for a reply: `2 firing alerts; 3 resolved alerts ignored`."""
        parts = [_count(len(self.alerts), "firing alert")]
        if self.resolved:
            parts.append(_count(self.resolved, "resolved alert") + " ignored")
        if self.duplicates:
            parts.append(_count(self.duplicates, "duplicate") + " collapsed")
        if self.truncated:
            parts.append(_count(self.truncated, "alert") + " left out by the sender")
        return "; ".join(parts)


def collect(source: str, alerts: Iterable[Alert], *, truncated: int = 0) -> IntakeResult:
    """Keep the first firing alert per dedup key; count resolved ones and repeats."""
    firing: dict[str, Alert] = {}
    resolved = duplicates = 0
    for alert in alerts:
        if alert.status is AlertStatus.RESOLVED:
            resolved += 1
        elif alert.dedup_key in firing:
            duplicates += 1
        else:
            firing[alert.dedup_key] = alert
    return IntakeResult(
        source=source,
        alerts=tuple(firing.values()),
        resolved=resolved,
        duplicates=duplicates,
        truncated=truncated,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
