"""Redaction: real-looking secrets (generated here, never real ones) are removed; the identifiers
an SRE needs stay."""

from __future__ import annotations

import base64
import json
import secrets
import string
import uuid

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mcp_bridge.redaction import Redactor, redact, redact_value

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits


def rand(length: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt() -> str:
    header = b64url(json.dumps({"alg": "RS256", "kid": rand(8)}).encode())
    payload = b64url(json.dumps({"sub": "system:serviceaccount:shop:checkout"}).encode())
    return f"{header}.{payload}.{b64url(secrets.token_bytes(64))}"


def pem_private_key() -> str:
    body = base64.b64encode(secrets.token_bytes(600)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"
    )


SECRETS: dict[str, str] = {
    "github_token": "ghp_" + rand(36),
    "github_oauth": "gho_" + rand(36),
    "github_pat": "github_pat_" + rand(22) + "_" + rand(59),
    "aws_access_key": "AKIA" + rand(16, UPPER_DIGITS),
    "slack_bot": f"xoxb-{rand(12, string.digits)}-{rand(13, string.digits)}-{rand(24)}",
    "slack_user": f"xoxp-{rand(12, string.digits)}-{rand(12, string.digits)}-{rand(32)}",
    "slack_app": f"xapp-1-A{rand(10, UPPER_DIGITS)}-{rand(13, string.digits)}-{rand(64)}",
    "openai_project": "sk-proj-" + rand(120, ALNUM + "_-"),
    "openai_classic": "sk-" + rand(48),
    "anthropic": "sk-ant-api03-" + rand(93, ALNUM + "_-") + "AA",
    "google": "AIza" + rand(35, ALNUM + "_-"),
    "jwt": jwt(),
}
EXPECTED_KIND = {
    "github_token": "github_token",
    "github_oauth": "github_token",
    "github_pat": "github_token",
    "aws_access_key": "aws_access_key",
    "slack_bot": "slack_token",
    "slack_user": "slack_token",
    "slack_app": "slack_token",
    "openai_project": "openai_key",
    "openai_classic": "openai_key",
    "anthropic": "anthropic_key",
    "google": "google_api_key",
    "jwt": "jwt",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_token_is_replaced_by_a_marker_naming_its_kind(name: str) -> None:
    secret = SECRETS[name]
    text = f'2026-05-01T10:00:00Z level=error msg="retrying with {secret} after 401"'
    redacted = redact(text)
    assert secret not in redacted
    assert f"[REDACTED:{EXPECTED_KIND[name]}]" in redacted
    assert redacted.startswith('2026-05-01T10:00:00Z level=error msg="retrying with [REDACTED:')


def test_authorization_headers_keep_their_scheme() -> None:
    token = rand(40)
    basic = base64.b64encode(f"admin:{rand(12)}".encode()).decode()
    text = f"Authorization: Bearer {token}\nauthorization: Basic {basic}\n"
    redacted = redact(text)
    assert token not in redacted
    assert basic not in redacted
    assert "Authorization: Bearer [REDACTED:authorization]" in redacted
    assert "authorization: Basic [REDACTED:authorization]" in redacted


def test_bearer_token_outside_a_header_is_removed() -> None:
    token = rand(30) + "7"
    assert redact(f"curl -H 'X: bearer {token}'") == "curl -H 'X: bearer [REDACTED:bearer_token]'"


def test_slack_webhook_url_is_removed() -> None:
    team, channel = rand(8, UPPER_DIGITS), rand(8, UPPER_DIGITS)
    url = f"https://hooks.slack.com/services/T{team}/B{channel}/{rand(24)}"
    assert redact(f"posting to {url} failed") == "posting to [REDACTED:slack_webhook] failed"


def test_aws_secret_key_in_credentials_file_and_env() -> None:
    secret = rand(40, ALNUM + "/+")
    text = f"[default]\naws_secret_access_key = {secret}\nAWS_SECRET_ACCESS_KEY={secret}\n"
    redacted = redact(text)
    assert secret not in redacted
    assert redacted.count("[REDACTED:secret]") == 2


def test_multi_line_pem_private_key_is_removed_whole() -> None:
    key = pem_private_key()
    redacted = redact(f"loaded key:\n{key}\nstarting server")
    assert redacted == "loaded key:\n[REDACTED:private_key]\nstarting server"


def test_pem_private_key_escaped_in_json_is_removed() -> None:
    key = pem_private_key()
    text = json.dumps({"tls.key": key, "note": "rotated"})
    redacted = redact(text)
    assert "PRIVATE KEY" not in redacted.replace("[REDACTED:private_key]", "")
    assert json.loads(redacted)["note"] == "rotated"


def test_pem_private_key_cut_off_by_an_output_cap_is_still_removed() -> None:
    key = pem_private_key()[:300]
    assert redact(f"key: {key}") == "key: [REDACTED:private_key]"


def test_password_in_a_url_is_removed_but_user_and_host_stay() -> None:
    password = rand(16)
    text = f"DATABASE_URL=postgres://orders:{password}@db.shop.svc:5432/orders?sslmode=require"
    assert redact(text) == (
        "DATABASE_URL=postgres://orders:[REDACTED:url_password]@db.shop.svc:5432/orders"
        "?sslmode=require"
    )


@pytest.mark.parametrize(
    ("template", "kind"),
    [
        ("password={v} user=bob", "password"),
        ("DB_PASSWORD: {v}", "password"),
        ('{{"client_secret": "{v}", "client_id": "abc"}}', "secret"),
        ("clientSecret: '{v}'", "secret"),
        ("spring.datasource.password={v}", "password"),
        ("X-Api-Key: {v}", "api_key"),
        ("api_key => '{v}'", "api_key"),
        ("GITHUB_TOKEN={v}", "token"),
        ("https://api.example.com/v1?token={v}&page=2", "token"),
        ("secret: {v}", "secret"),
    ],
)
def test_key_value_secrets_in_text_json_and_yaml(template: str, kind: str) -> None:
    value = rand(18)
    redacted = redact(template.format(v=value))
    assert value not in redacted
    assert f"[REDACTED:{kind}]" in redacted


def test_key_value_redaction_keeps_the_rest_of_a_json_document_valid() -> None:
    document = {"user": "bob", "password": rand(12), "limits": {"api_key": rand(20), "rps": 5}}
    redacted = json.loads(redact(json.dumps(document)))
    assert redacted == {
        "user": "bob",
        "password": "[REDACTED:password]",
        "limits": {"api_key": "[REDACTED:api_key]", "rps": 5},
    }


def test_kubernetes_secret_yaml_keeps_keys_and_drops_values() -> None:
    password = base64.b64encode(rand(16).encode()).decode()
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "orders-db", "namespace": "shop"},
        "type": "Opaque",
        "data": {"username": base64.b64encode(b"orders").decode(), "db-pass": password},
    }
    redacted = redact(yaml.safe_dump(manifest))
    assert password not in redacted
    loaded = yaml.safe_load(redacted)
    assert loaded["data"] == {
        "username": "[REDACTED:kubernetes_secret]",
        "db-pass": "[REDACTED:kubernetes_secret]",
    }
    assert loaded["metadata"]["name"] == "orders-db"


def test_kubernetes_secret_json_keeps_keys_and_drops_values() -> None:
    password = base64.b64encode(rand(16).encode()).decode()
    manifest = {"kind": "Secret", "metadata": {"name": "db"}, "data": {"db-pass": password}}
    redacted = json.loads(redact(json.dumps(manifest)))
    assert redacted["data"] == {"db-pass": "[REDACTED:kubernetes_secret]"}


def test_kubernetes_env_entries_with_secret_names_lose_their_values() -> None:
    value = rand(14)
    as_yaml = f"env:\n- name: DB_PASSWORD\n  value: {value}\n- name: LOG_LEVEL\n  value: debug\n"
    as_json = json.dumps(
        [{"name": "STRIPE_API_KEY", "value": value}, {"name": "PORT", "value": "8080"}]
    )
    assert redact(as_yaml).splitlines() == [
        "env:",
        "- name: DB_PASSWORD",
        "  value: [REDACTED:password]",
        "- name: LOG_LEVEL",
        "  value: debug",
    ]
    assert json.loads(redact(as_json)) == [
        {"name": "STRIPE_API_KEY", "value": "[REDACTED:api_key]"},
        {"name": "PORT", "value": "8080"},
    ]


@pytest.mark.parametrize(
    "text",
    [
        "pod api-key-rotator-7d9f8b-x2k4q in shop is CrashLoopBackOff",
        "api-key-rotator-7d9f8b-x2k4q: Back-off restarting failed container",
        f"image: registry.example.com/shop/checkout@sha256:{secrets.token_hex(32)}",
        f"deployed commit {secrets.token_hex(20)} to production",
        f"uid: {uuid.uuid4()}",
        "secretName: orders-db-credentials",
        "valueFrom: {secretKeyRef: {name: orders-db, key: password}}",
        "max_tokens: 1000, prompt_tokens: 12, token_count=5",
        "http://prometheus.monitoring.svc:9090/api/v1/query?query=up",
        "the bearer of bad news",
        "password: ${DB_PASSWORD}",
        "automountServiceAccountToken: true",
        "task-runner-5f6d7c8b9-abcde   1/1   Running   0   3m",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
    ],
)
def test_identifiers_that_only_look_like_secrets_stay(text: str) -> None:
    assert redact(text) == text


def test_redacting_twice_changes_nothing_more() -> None:
    text = "\n".join(f"{name}: {value}" for name, value in SECRETS.items())
    once = redact(text)
    assert redact(once) == once


def test_structured_values_are_redacted_recursively_with_keys_kept() -> None:
    token = SECRETS["github_token"]
    value = {
        "pods": [{"name": "api-key-rotator-7d9f", "logs": [f"using {token}"]}],
        "config": {"password": "hunter2", "retries": 3, "secretName": "db", "token": None},
        "secret": {"kind": "Secret", "data": {"a": "YQ=="}, "metadata": {"name": "s"}},
        "env": [{"name": "API_TOKEN", "value": "abc"}, {"name": "MODE", "value": "fast"}],
        "enabled": True,
    }
    assert redact_value(value) == {
        "pods": [{"name": "api-key-rotator-7d9f", "logs": ["using [REDACTED:github_token]"]}],
        "config": {
            "password": "[REDACTED:password]",
            "retries": 3,
            "secretName": "db",
            "token": None,
        },
        "secret": {
            "kind": "Secret",
            "data": {"a": "[REDACTED:kubernetes_secret]"},
            "metadata": {"name": "s"},
        },
        "env": [
            {"name": "API_TOKEN", "value": "[REDACTED:token]"},
            {"name": "MODE", "value": "fast"},
        ],
        "enabled": True,
    }


def test_extra_site_specific_patterns() -> None:
    redactor = Redactor(extra={"acme_token": r"acme_[a-f0-9]{32}"})
    token = "acme_" + secrets.token_hex(16)
    assert redactor.text(f"using {token}") == "using [REDACTED:acme_token]"
    assert redact(f"using {token}") == f"using {token}"


def test_non_ascii_text_is_redacted_too() -> None:
    value = rand(12)
    assert redact(f"Überprüfung PASSWORD={value} für İstanbul") == (
        "Überprüfung PASSWORD=[REDACTED:password] für İstanbul"
    )


@given(
    before=st.text(alphabet=string.printable, max_size=40),
    after=st.text(alphabet=string.printable, max_size=40),
    name=st.sampled_from(sorted(SECRETS)),
)
def test_a_token_is_removed_whatever_surrounds_it(before: str, after: str, name: str) -> None:
    secret = SECRETS[name]
    assert secret not in redact(f"{before} {secret} {after}")


@given(
    st.lists(
        st.one_of(
            st.uuids().map(str),
            st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex()),
            st.binary(min_size=20, max_size=20).map(bytes.hex),
            st.from_regex(
                r"[a-z]{3,12}(-[a-z]{3,8}){0,2}-[a-f0-9]{9,10}-[a-z0-9]{5}", fullmatch=True
            ),
        ),
        max_size=8,
    )
)
def test_ids_digests_and_pod_names_are_never_touched(words: list[str]) -> None:
    text = " ".join(words)
    assert redact(text) == text
