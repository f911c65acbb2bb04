"""Which Slack messages are alerts, and what each one carries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.alert import Severity
from agent.intake import AlertParseError
from bot.slack.incoming import SlackMessage
from bot.slack.recognize import readable_text, recognize

FIXTURES = Path(__file__).parents[2] / "fixtures" / "slack"


def from_webhook(name: str) -> SlackMessage:
    """A message as Slack delivers what Alertmanager's receiver posted (captured payloads)."""
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return SlackMessage(
        channel="C1",
        ts="1.1",
        text=body.get("text", ""),
        bot_id="B0WEBHOOK",
        username=body["username"],
        subtype="bot_message",
        attachments=tuple(body["attachments"]),
    )


def said(text: str) -> SlackMessage:
    return SlackMessage(channel="C1", ts="1.2", text=text, user="U1")


def test_alertmanager_default_notification_is_a_firing_alert() -> None:
    found = recognize(from_webhook("alertmanager-default-firing"))
    assert found.firing
    assert found.sender == "alertmanager"
    assert found.alert is not None
    assert found.alert.labels == {"alertname": "KubePodCrashLooping"}
    assert found.alert.title.startswith("KubePodCrashLooping (app shop")
    assert found.alert.severity is Severity.CRITICAL, "read from the title's label values"
    assert found.alert.links.source == "http://vm:19193/#/alerts?receiver=slack"


def test_alertmanager_resolved_notification_is_resolved() -> None:
    found = recognize(from_webhook("alertmanager-default-resolved"))
    assert found.resolved
    assert not found.firing


def test_labels_listed_in_the_attachment_text_are_read() -> None:
    found = recognize(from_webhook("alertmanager-custom-text-firing-2"))
    assert found.alert is not None
    # Two pods fire in this group: the pod is ambiguous and left out, the rest is common.
    assert found.alert.labels == {
        "alertname": "KubePodCrashLooping",
        "container": "app",
        "namespace": "shop",
        "severity": "critical",
    }


def test_repeat_notification_has_the_same_dedup_key_whatever_the_count() -> None:
    one = recognize(said("[FIRING:1] HighErrorRate namespace=shop service=checkout"))
    two = recognize(said("[FIRING:2] HighErrorRate namespace=shop service=checkout"))
    other = recognize(said("[FIRING:1] HighErrorRate namespace=shop service=payments"))
    assert one.alert is not None
    assert two.alert is not None
    assert other.alert is not None
    assert one.alert.dedup_key == two.alert.dedup_key
    assert one.alert.dedup_key != other.alert.dedup_key


def test_grafana_notification_with_label_lines_and_links() -> None:
    message = SlackMessage(
        channel="C1",
        ts="1.3",
        username="Grafana",
        subtype="bot_message",
        attachments=(
            {
                "title": "[FIRING:1] HighLatency (checkout)",
                "title_link": "https://grafana.example/alerting/list",
                "text": "**Firing**\n\nValue: B=2.3\nLabels:\n - alertname = HighLatency\n"
                " - namespace = shop\n - service = checkout\nAnnotations:\n"
                " - summary = p99 above 2s\nSource: <https://grafana.example/alerting/grafana/x/view>\n"
                "Silence: <https://grafana.example/alerting/silence/new?x=1>\n",
                "footer": "Grafana v10.4.1",
                "color": "#D63232",
            },
        ),
    )
    found = recognize(message)
    assert found.firing
    assert found.sender == "grafana"
    assert found.alert is not None
    assert found.alert.labels["namespace"] == "shop"
    assert found.alert.links.generator == "https://grafana.example/alerting/grafana/x/view"
    assert found.alert.links.silence == "https://grafana.example/alerting/silence/new?x=1"


def test_grafana_legacy_ok_is_resolved() -> None:
    message = SlackMessage(
        channel="C1",
        ts="1.4",
        attachments=({"title": "[OK] Disk usage", "footer": "Grafana v8.5.0"},),
    )
    assert recognize(message).resolved


def test_datadog_triggered_monitor_with_tags() -> None:
    message = SlackMessage(
        channel="C1",
        ts="1.5",
        username="Datadog",
        subtype="bot_message",
        attachments=(
            {
                "title": "[P1] [Triggered on {kube_namespace:shop,"
                "pod_name:checkout-6c9f7b8d4-x2k4q}] Memory near limit",
                "title_link": "https://app.datadoghq.com/monitors/123",
                "text": "Memory is above 95% of the limit. @slack-alerts",
            },
        ),
    )
    found = recognize(message)
    assert found.firing
    assert found.sender == "datadog"
    assert found.alert is not None
    assert found.alert.labels == {"namespace": "shop", "pod": "checkout-6c9f7b8d4-x2k4q"}
    assert found.alert.severity is Severity.CRITICAL
    assert found.alert.title.endswith("Memory near limit")
    assert recognize(said("[Recovered on {kube_namespace:shop}] Memory near limit")).resolved


@pytest.mark.parametrize(
    "text",
    [
        "alertname=DiskFull instance=db-1",
        "namespace=shop deployment=checkout is slow since the deploy",
        "[FIRING:3] TargetDown",
        '```{"title": "checkout down", "labels": {"namespace": "shop"}}```',
        '{"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "X"}}]}',
    ],
)
def test_plain_text_that_carries_an_alert_is_recognized(text: str) -> None:
    assert recognize(said(text)).firing


@pytest.mark.parametrize(
    "text",
    [
        "is anyone looking at checkout?",
        "I set replicas=3 on it",
        "pod checkout-6c9f7b8d4-x2k4q in namespace shop looks fine now",
        '{"note": "not an alert"}',
        "[WIP] new dashboards",
    ],
)
def test_chatter_is_not_an_alert(text: str) -> None:
    found = recognize(said(text))
    assert not found.firing
    assert found.reason


def test_a_person_asking_makes_any_text_an_alert() -> None:
    found = recognize(
        said("pod checkout-6c9f7b8d4-x2k4q in namespace shop looks broken"), forced=True
    )
    assert found.firing
    assert found.alert is not None
    assert found.alert.labels == {"pod": "checkout-6c9f7b8d4-x2k4q", "namespace": "shop"}


def test_broken_json_asked_for_explicitly_says_what_is_wrong() -> None:
    with pytest.raises(AlertParseError, match="not valid JSON"):
        recognize(said('{"labels": '), forced=True)


def test_pasted_webhook_with_several_alerts_investigates_the_first_and_counts_the_rest() -> None:
    payload = {
        "version": "4",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "A", "pod": "p1"}},
            {"status": "firing", "labels": {"alertname": "A", "pod": "p2"}},
            {"status": "resolved", "labels": {"alertname": "A", "pod": "p3"}},
        ],
    }
    found = recognize(said(json.dumps(payload)))
    assert found.alert is not None
    assert found.alert.labels["pod"] == "p1"
    assert found.others == 1


def test_slack_markup_is_read_as_what_it_shows() -> None:
    message = said(
        "*[FIRING:1]* Foo &lt;b&gt; <https://x.example/a|dashboard> <@U123|bob> <!here> <#C1|ops>"
    )
    assert readable_text(message) == (
        "*[FIRING:1]* Foo <b> dashboard (https://x.example/a) @bob @here #ops"
    )
