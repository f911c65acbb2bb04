"""Alert intake over HTTP: each source's webhook is stored before the 202, duplicates answer
the existing investigation, and every bad request gets a JSON error and leaves nothing behind."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from agent.store import InvestigationStatus, OriginKind
from bot.http import HttpOptions
from tests.http.conftest import TOKEN, Api, fixture_body, serving, webhook


async def stored_count(api: Api) -> int:
    return sum((await api.engine.store.counts_by_status()).values())


async def test_alertmanager_webhook_is_stored_before_the_202(api: Api) -> None:
    body = fixture_body("alertmanager/payload-firing-AlwaysFiring.with-headers.json")
    reply = await api.post(
        "/alerts/alertmanager", body, headers={"User-Agent": "Alertmanager/0.25.0"}
    )
    assert reply.status == 202
    (answer,) = reply.json["investigations"]
    assert answer["status"] == "queued"
    assert answer["duplicate"] is False
    record = await api.engine.store.get(answer["id"])
    assert record.dedup_key == "072ac082b789835d"
    assert record.status is InvestigationStatus.QUEUED
    assert record.origin.kind is OriginKind.HTTP
    assert record.origin.user == "Alertmanager/0.25.0"
    assert record.alert.labels["alertname"] == "AlwaysFiring"


async def test_the_same_fingerprint_again_answers_the_open_investigation_as_a_duplicate(
    api: Api,
) -> None:
    first = await api.post("/alerts/alertmanager", webhook("aaaa000000000001"))
    again = await api.post("/alerts/alertmanager", webhook("aaaa000000000001"))
    assert again.status == 202
    (original,) = first.json["investigations"]
    (repeat,) = again.json["investigations"]
    assert repeat == {**original, "duplicate": True}
    assert await stored_count(api) == 1


async def test_each_alert_of_a_webhook_gets_its_investigation_in_payload_order(api: Api) -> None:
    reply = await api.post(
        "/alerts/alertmanager", webhook("bbbb000000000003", "bbbb000000000001", "bbbb00000000002")
    )
    assert reply.status == 202
    ids = [answer["id"] for answer in reply.json["investigations"]]
    keys = [(await api.engine.store.get(i)).dedup_key for i in ids]
    assert keys == ["bbbb000000000003", "bbbb000000000001", "bbbb00000000002"]


async def test_resolved_alerts_are_counted_and_not_investigated(api: Api) -> None:
    body = fixture_body("alertmanager/payload-resolved-Flapping.json")
    reply = await api.post("/alerts/alertmanager", body)
    assert reply.status == 202
    assert reply.json["investigations"] == []
    assert reply.json["resolved"] == len(body["alerts"])
    assert await stored_count(api) == 0


async def test_grafana_webhook_is_accepted_on_its_route(api: Api) -> None:
    reply = await api.post("/alerts/grafana", fixture_body("grafana/firing-checkout-latency.json"))
    assert reply.status == 202
    answers = reply.json["investigations"]
    assert len(answers) == 2  # two firing alerts; the third is resolved
    assert reply.json["resolved"] == 1
    records = [await api.engine.store.get(answer["id"]) for answer in answers]
    assert {record.source for record in records} == {"grafana"}
    assert {record.alert.labels["alertname"] for record in records} == {"CheckoutLatencyHigh"}


async def test_generic_route_takes_generic_json_and_webhooks_alike(api: Api) -> None:
    generic = await api.post("/alerts", fixture_body("generic/checkout-crashloop.json"))
    assert generic.status == 202
    assert (await api.engine.store.get(generic.json["investigations"][0]["id"])).source == (
        "generic"
    )
    am = await api.post("/alerts", webhook("cccc000000000001"))
    assert am.status == 202
    assert (await api.engine.store.get(am.json["investigations"][0]["id"])).source == (
        "alertmanager"
    )


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"", 400, "empty body"),
        (b"   \n", 400, "empty body"),
        (b"{not json", 400, "not JSON"),
        (b"\xff\xfe{}", 400, "not UTF-8"),
        (b"[" * 5000 + b"]" * 5000, 400, "nested deeper"),
        (b'{"a":' * 80 + b"1" + b"}" * 80, 400, "nested deeper"),
        (b"1" * 5000, 400, "not usable JSON"),
        (b'"just a string"', 422, "expected"),
        (b'{"alerts": "none"}', 422, "alerts"),
    ],
)
async def test_bad_bodies_get_json_errors_and_store_nothing(
    api: Api, body: bytes, status: int, says: str
) -> None:
    for route in ("/alerts/alertmanager", "/alerts/grafana", "/alerts"):
        reply = await api.request("POST", route, data=body)
        assert reply.status == status, (route, reply.text)
        assert says in reply.json["message"]
        assert reply.headers["Content-Type"].startswith("application/json")
    assert await stored_count(api) == 0


async def test_wrong_shape_is_422_with_the_location_of_the_problem(api: Api) -> None:
    body = webhook("dddd000000000001", "dddd000000000002")
    body["alerts"][1]["labels"] = ["not", "an", "object"]
    reply = await api.post("/alerts/alertmanager", body)
    assert reply.status == 422
    (problem,) = reply.json["detail"]
    assert problem["loc"] == ["body", "alerts", 1, "labels"]
    assert "expected an object" in problem["msg"]


async def test_one_bad_alert_rejects_the_whole_webhook_and_stores_none_of_it(api: Api) -> None:
    body = webhook("eeee000000000001", "eeee000000000002", "eeee000000000003")
    body["alerts"][2]["startsAt"] = "yesterday"
    reply = await api.post("/alerts/alertmanager", body)
    assert reply.status == 422
    assert reply.json["detail"][0]["loc"][:3] == ["body", "alerts", 2]
    assert await stored_count(api) == 0


async def test_wrong_webhook_version_is_refused_on_the_alertmanager_route(api: Api) -> None:
    body = webhook("ffff000000000001")
    body["version"] = "5"
    reply = await api.post("/alerts/alertmanager", body)
    assert reply.status == 422
    assert reply.json["detail"][0]["loc"] == ["body", "version"]


async def test_body_over_the_cap_is_413_and_stores_nothing(tmp_path: Path) -> None:
    options = HttpOptions(max_body_bytes=4096)
    async with serving(tmp_path, options=options) as api:
        small = await api.post("/alerts/alertmanager", webhook("1111000000000001"))
        assert small.status == 202
        big = webhook(*(f"2222{n:012x}" for n in range(40)))
        assert len(json.dumps(big)) > 4096
        reply = await api.post("/alerts/alertmanager", big)
        assert reply.status == 413
        assert reply.json["error"] == "payload_too_large"
        assert await stored_count(api) == 1


async def test_unknown_route_is_404_and_wrong_method_is_405_both_json(api: Api) -> None:
    missing = await api.get("/nothing-here")
    assert missing.status == 404
    assert missing.json["error"] == "not_found"
    wrong = await api.get("/alerts/alertmanager")
    assert wrong.status == 405
    assert wrong.json["error"] == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]
    put = await api.request("PUT", "/investigations")
    assert put.status == 405


async def test_intake_while_draining_is_503_and_stores_nothing(api: Api) -> None:
    await api.engine.service.drain(0)
    reply = await api.post("/alerts/alertmanager", webhook("3333000000000001"))
    assert reply.status == 503
    assert reply.headers["Retry-After"]
    assert await stored_count(api) == 0


async def test_store_gone_is_503_not_500(api: Api) -> None:
    await api.engine.store.close()
    reply = await api.post("/alerts/alertmanager", webhook("4444000000000001"))
    assert reply.status == 503
    assert reply.json["error"] == "unavailable"


# --- auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
async def test_every_route_but_health_needs_the_bearer_token(
    api: Api, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in [
        ("POST", "/alerts/alertmanager"),
        ("POST", "/alerts/grafana"),
        ("POST", "/alerts"),
        ("GET", "/investigations"),
        ("GET", "/investigations/inv_x"),
        ("GET", "/investigations/inv_x/events"),
        ("GET", "/metrics"),
        ("GET", "/no-such-route"),
    ]:
        reply = await api.request(
            method, path, json_body=webhook("5555000000000001"), headers=headers, authorized=False
        )
        assert reply.status == 401, (method, path)
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    for path in ("/healthz", "/readyz"):
        assert (await api.get(path, headers=headers, authorized=False)).status == 200
    assert await stored_count(api) == 0


async def test_the_right_token_is_accepted_in_any_scheme_case(api: Api) -> None:
    reply = await api.post(
        "/alerts/alertmanager",
        webhook("6666000000000001"),
        headers={"Authorization": f"bearer {TOKEN}"},
        authorized=False,
    )
    assert reply.status == 202


# --- Grafana signatures ------------------------------------------------------------------------

GRAFANA_SECRET = "grafana-shared-secret"


def signed(body: bytes, *, stamp: str | None = None, secret: str = GRAFANA_SECRET) -> str:
    message = body if stamp is None else stamp.encode() + b":" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def test_grafana_signature_is_checked_when_a_secret_is_set(tmp_path: Path) -> None:
    options = HttpOptions(grafana_secret=SecretStr(GRAFANA_SECRET))
    async with serving(tmp_path, options=options) as api:
        body = json.dumps(fixture_body("grafana/firing-checkout-latency.json")).encode()
        unsigned = await api.request("POST", "/alerts/grafana", data=body)
        assert unsigned.status == 401
        forged = await api.request(
            "POST",
            "/alerts/grafana",
            data=body,
            headers={"X-Grafana-Alerting-Signature": signed(body, secret="guess")},
        )
        assert forged.status == 401
        assert await stored_count(api) == 0
        good = await api.request(
            "POST",
            "/alerts/grafana",
            data=body,
            headers={"X-Grafana-Alerting-Signature": signed(body)},
        )
        assert good.status == 202


async def test_grafana_timestamped_signature_refuses_replays(tmp_path: Path) -> None:
    options = HttpOptions(
        grafana_secret=SecretStr(GRAFANA_SECRET),
        grafana_timestamp_header="X-Grafana-Alerting-Signature-Timestamp",
    )
    async with serving(tmp_path, options=options) as api:
        body = json.dumps(fixture_body("grafana/firing-checkout-latency.json")).encode()

        async def send(stamp: str) -> int:
            reply = await api.request(
                "POST",
                "/alerts/grafana",
                data=body,
                headers={
                    "X-Grafana-Alerting-Signature": signed(body, stamp=stamp),
                    "X-Grafana-Alerting-Signature-Timestamp": stamp,
                },
            )
            return reply.status

        assert await send(str(int(time.time()) - 3600)) == 401
        assert await send("not-a-time") == 401
        assert await stored_count(api) == 0
        assert await send(str(int(time.time()))) == 202


# --- metrics -----------------------------------------------------------------------------------


async def test_intake_outcomes_are_counted_in_metrics(api: Api) -> None:
    await api.post("/alerts/alertmanager", webhook("7777000000000001", "7777000000000002"))
    await api.post("/alerts/alertmanager", webhook("7777000000000001"))
    await api.request("POST", "/alerts/alertmanager", data=b"{bad")
    await api.post(
        "/alerts/alertmanager", fixture_body("alertmanager/payload-resolved-Flapping.json")
    )
    text = (await api.get("/metrics")).text
    assert 'sre_agent_alerts_received_total{outcome="created",source="alertmanager"} 2.0' in text
    assert 'sre_agent_alerts_received_total{outcome="duplicate",source="alertmanager"} 1.0' in text
    assert 'sre_agent_alerts_received_total{outcome="invalid",source="alertmanager"} 1.0' in text
    assert 'sre_agent_alerts_received_total{outcome="resolved",source="alertmanager"} 1.0' in text
    assert 'sre_agent_investigations{status="queued"} 2.0' in text
    assert "sre_agent_queue_depth 2.0" in text
    assert (
        'sre_agent_http_requests_total{method="POST",route="/alerts/alertmanager",status="202"} 3.0'
        in text
    )
