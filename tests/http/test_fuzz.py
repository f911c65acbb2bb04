"""Random and malformed requests at every route of a real server: never a 500, every error JSON,
and nothing stored from a request that was not accepted (an accepted one stores exactly what it
says it created)."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http.conftest import Api, fixture_body

ALERT_ROUTES = ("/alerts/alertmanager", "/alerts/grafana", "/alerts")
# One server serves every example of a test: the store is compared before and after each one.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    # Lone surrogates and NUL: valid in JSON text, unstorable as they are in SQL text.
    | st.text(alphabet=st.characters(codec=None, categories=["Cs"]) | st.just("\x00"), max_size=4)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
# What a client can put in a header at all (no control characters).
header_text = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
    max_size=40,
)
VALID = {
    "/alerts/alertmanager": fixture_body("alertmanager/payload-firing-AlwaysFiring.json"),
    "/alerts/grafana": fixture_body("grafana/firing-checkout-latency.json"),
    "/alerts": fixture_body("generic/checkout-crashloop.json"),
}


@st.composite
def mutated(draw: st.DrawFn, route: str) -> Any:
    """A valid payload of the route with one place (anywhere in it) replaced or removed."""
    body = copy.deepcopy(VALID[route])
    paths: list[list[Any]] = []

    def walk(value: Any, path: list[Any]) -> None:
        paths.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*path, key])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, [*path, index])

    walk(body, [])
    path = draw(st.sampled_from(paths[1:]))
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return body


# Bodies that attack the parser rather than the shape.
HOSTILE = [
    b"[" * 3000 + b"]" * 3000,
    b'{"a":' * 70 + b"{}" + b"}" * 70,
    b"9" * 5000,
    b'{"alerts": [' + b"{}," * 2000 + b"{}]}",
    b'"\\ud800"',  # a lone surrogate, escaped as JSON writes it
    b"NaN",
    b'{"title": "' + b"x" * 100_000 + b'"}',
    b"\x00" * 10,
]


def bodies(route: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(HOSTILE),
        json_values.map(lambda value: json.dumps(value).encode()),
        mutated(route).map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.just(json.dumps(VALID[route]).encode()),
    )


async def rows(api: Api) -> int:
    return sum((await api.engine.store.counts_by_status()).values())


async def check(api: Api, method: str, path: str, **kwargs: Any) -> None:
    before = await rows(api)
    reply = await api.request(method, path, **kwargs)
    assert reply.status < 500, (method, path, reply.status, reply.text[:300])
    assert reply.headers.get("Content-Type", "").startswith(
        ("application/json", "text/plain", "text/event-stream")
    )
    if reply.status >= 400:
        assert reply.headers["Content-Type"].startswith("application/json")
        assert reply.json["error"]
        assert reply.json["message"]
    created = 0
    if reply.status == 202:
        created = sum(1 for answer in reply.json["investigations"] if not answer["duplicate"])
    assert await rows(api) == before + created, (method, path, reply.status)


@FUZZ
@given(data=st.data())
async def test_alert_routes_survive_any_body(api: Api, data: st.DataObject) -> None:
    route = data.draw(st.sampled_from(ALERT_ROUTES))
    body = data.draw(bodies(route))
    content_type = data.draw(
        st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"])
    )
    await check(api, "POST", route, data=body, headers={"Content-Type": content_type})


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["status", "limit", "before", "other"]), st.text(max_size=20), max_size=3
    ),
    identifier=st.text(min_size=1, max_size=30),
    last_event_id=st.one_of(st.none(), header_text),
)
async def test_reading_routes_survive_any_parameters(
    api: Api, query: dict[str, str], identifier: str, last_event_id: str | None
) -> None:
    await check(api, "GET", "/investigations?" + urlencode(query))
    quoted = quote(identifier, safe="")
    await check(api, "GET", f"/investigations/{quoted}")
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id.strip() or "x"}
    # Unknown ids only: a stream of an open investigation would (rightly) stay open.
    await check(api, "GET", f"/investigations/unknown-{quoted}/events", headers=headers)


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    path=st.lists(st.text(min_size=1, max_size=12), max_size=4).map(
        lambda parts: "/" + "/".join(quote(part, safe="") for part in parts)
    ),
    authorization=st.one_of(st.none(), header_text.map(str.strip)),
)
async def test_any_method_path_and_credentials_get_an_answer_not_a_crash(
    api: Api, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    body = json.dumps(VALID["/alerts/alertmanager"]) if method == "POST" else None
    if method == "HEAD":
        before = await rows(api)
        reply = await api.request(method, path, headers=headers, authorized=False)
        assert reply.status < 500
        assert await rows(api) == before
        return
    await check(api, method, path, data=body, headers=headers, authorized=False)
