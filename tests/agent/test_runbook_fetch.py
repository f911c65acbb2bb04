"""The runbook_url fetcher against real HTTP(S) servers on 127.0.0.1, and its refusal policy."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from agent.runbooks import (
    FetchedRunbook,
    RunbookFetcher,
    RunbookUnavailable,
    github_raw_url,
    is_blocked_address,
)
from agent.runbooks.fetch import IPAddress, resolve_host

RUNBOOK = "# Checkout crash loop\n\nCheck the previous logs first.\n"
TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass
class Seen:
    """What the local server received."""

    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


def make_app(seen: Seen) -> web.Application:
    async def record(request: web.Request) -> None:
        seen.requests.append((request.path_qs, dict(request.headers)))

    async def runbook(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(text=RUNBOOK, content_type="text/markdown")

    async def redirect(request: web.Request) -> web.Response:
        await record(request)
        raise web.HTTPFound(request.query["to"])

    async def loop(request: web.Request) -> web.Response:
        await record(request)
        raise web.HTTPFound("/loop")

    async def big(request: web.Request) -> web.StreamResponse:
        await record(request)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(40):
            await response.write(b"x" * 8192)  # 320 KiB in all, no Content-Length
        await response.write_eof()
        return response

    async def big_declared(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body=b"x" * (300 * 1024), content_type="text/plain")

    async def slow(request: web.Request) -> web.Response:
        await record(request)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(seen.closing.wait(), 10)  # released when the server stops
        return web.Response(text=RUNBOOK)

    async def drip(request: web.Request) -> web.StreamResponse:
        await record(request)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"x")
            await asyncio.sleep(0.1)
        return response

    async def image(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body=b"\x89PNG\r\n", content_type="image/png")

    async def missing(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=404, text="Not Found")

    app = web.Application()
    app.router.add_get("/runbook.md", runbook)
    app.router.add_get("/o/r/main/docs/checkout.md", runbook)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop", loop)
    app.router.add_get("/big", big)
    app.router.add_get("/big-declared", big_declared)
    app.router.add_get("/slow", slow)
    app.router.add_get("/drip", drip)
    app.router.add_get("/image.png", image)
    app.router.add_get("/missing.md", missing)
    return app


@dataclass
class Server:
    port: int
    seen: Seen


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as running:
        yield running


class serve:  # lowercase: it reads like a function, `async with serve(...)`
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Server:
        seen = self._seen = Seen()
        self._runner = web.AppRunner(make_app(seen))
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock, ssl_context=self._ssl)
        await site.start()
        return Server(port=sock.getsockname()[1], seen=seen)

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        self._seen.closing.set()
        await self._runner.cleanup()


class Names:
    """A resolver for tests: names in the table resolve as given, and every lookup is kept."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(self.table[host])]


def loopback_allowed(address: IPAddress) -> bool:
    """The real policy, except that the test server's 127.0.0.1 may be reached."""
    return not address.is_loopback and is_blocked_address(address)


def local_fetcher(**overrides: object) -> RunbookFetcher:
    options: dict[str, object] = {
        "allowed_hosts": ["runbooks.test", "127.0.0.1"],
        "resolver": Names({"runbooks.test": "127.0.0.1"}),
        "is_blocked": loopback_allowed,
        "timeout_s": 5.0,
    }
    options.update(overrides)
    return RunbookFetcher(**options)  # type: ignore[arg-type]


async def unavailable(fetcher: RunbookFetcher, url: str) -> str:
    result = await fetcher.fetch(url)
    assert isinstance(result, RunbookUnavailable), result
    assert result.url == url
    return result.reason


# --- fetching what is allowed -------------------------------------------------------------


async def test_runbook_is_read_from_an_allowed_host(server: Server) -> None:
    url = f"http://runbooks.test:{server.port}/runbook.md"
    result = await local_fetcher().fetch(url)
    assert isinstance(result, FetchedRunbook)
    assert result.text == RUNBOOK
    assert result.url == url
    assert result.fetched_from == url
    assert result.content_type is not None
    assert result.content_type.startswith("text/markdown")
    ((path, headers),) = server.seen.requests
    assert path == "/runbook.md"
    assert headers["Host"] == f"runbooks.test:{server.port}"  # the name, though the IP was used
    assert "Authorization" not in headers


async def test_relative_redirects_are_followed_after_checking_them(server: Server) -> None:
    url = f"http://runbooks.test:{server.port}/redirect?to=/runbook.md"
    result = await local_fetcher().fetch(url)
    assert isinstance(result, FetchedRunbook)
    assert result.fetched_from == f"http://runbooks.test:{server.port}/runbook.md"
    assert server.seen.paths() == ["/redirect?to=/runbook.md", "/runbook.md"]


# --- GitHub, TLS and the token ------------------------------------------------------------


@dataclass
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> object:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("sre-agent test CA"))
        .issuer_name(name("sre-agent test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("raw.githubusercontent.com"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("raw.githubusercontent.com"), x509.DNSName("wiki.example.com")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory: Path = tmp_path_factory.mktemp("tls")
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(directory / "leaf.pem", directory / "leaf.key")
    client_context = ssl.create_default_context(cafile=str(directory / "ca.pem"))
    return Tls(server=server_context, client=client_context)


def github_fetcher(tls: Tls, names: Names) -> RunbookFetcher:
    return RunbookFetcher(
        allowed_hosts=["wiki.example.com"],
        github_token=TOKEN,
        resolver=names,
        is_blocked=loopback_allowed,
        verify=tls.client,
        timeout_s=5.0,
    )


async def test_github_blob_link_is_read_raw_over_verified_tls_with_the_token(tls: Tls) -> None:
    names = Names({"raw.githubusercontent.com": "127.0.0.1"})
    async with serve(tls.server) as running:
        url = f"https://github.com:{running.port}/o/r/blob/main/docs/checkout.md#L3"
        result = await github_fetcher(tls, names).fetch(url)
    assert isinstance(result, FetchedRunbook), result
    assert result.text == RUNBOOK
    assert result.fetched_from == (
        f"https://raw.githubusercontent.com:{running.port}/o/r/main/docs/checkout.md"
    )
    assert names.asked == ["raw.githubusercontent.com"]  # github.com itself is never contacted
    ((path, headers),) = running.seen.requests
    assert path == "/o/r/main/docs/checkout.md"
    assert headers["Authorization"] == f"Bearer {TOKEN}"


async def test_token_is_not_sent_to_other_hosts_nor_along_a_redirect_to_them(tls: Tls) -> None:
    names = Names({"raw.githubusercontent.com": "127.0.0.1", "wiki.example.com": "127.0.0.1"})
    async with serve(tls.server) as running:
        target = f"https://wiki.example.com:{running.port}/runbook.md"
        url = f"https://raw.githubusercontent.com:{running.port}/redirect?to={target}"
        result = await github_fetcher(tls, names).fetch(url)
    assert isinstance(result, FetchedRunbook), result
    (first, first_headers), (second, second_headers) = running.seen.requests
    assert first.startswith("/redirect")
    assert first_headers["Authorization"] == f"Bearer {TOKEN}"
    assert second == "/runbook.md"
    assert "Authorization" not in second_headers
    assert second_headers["Host"] == f"wiki.example.com:{running.port}"


async def test_token_is_never_sent_over_plain_http(server: Server, tls: Tls) -> None:
    names = Names({"raw.githubusercontent.com": "127.0.0.1"})
    url = f"http://raw.githubusercontent.com:{server.port}/runbook.md"
    assert isinstance(await github_fetcher(tls, names).fetch(url), FetchedRunbook)
    ((_, headers),) = server.seen.requests
    assert "Authorization" not in headers


async def test_certificates_are_verified(tls: Tls) -> None:
    names = Names({"raw.githubusercontent.com": "127.0.0.1"})
    fetcher = RunbookFetcher(resolver=names, is_blocked=loopback_allowed, timeout_s=5.0)
    async with serve(tls.server) as running:
        url = f"https://raw.githubusercontent.com:{running.port}/runbook.md"
        reason = await unavailable(fetcher, url)
    assert "CERTIFICATE_VERIFY_FAILED" in reason
    assert running.seen.requests == []


async def test_a_private_github_file_without_a_token_says_what_is_needed(
    server: Server,
) -> None:
    fetcher = RunbookFetcher(
        resolver=Names({"raw.githubusercontent.com": "127.0.0.1"}), is_blocked=loopback_allowed
    )
    url = f"http://raw.githubusercontent.com:{server.port}/missing.md"
    assert await unavailable(fetcher, url) == "HTTP 404 (a private repository needs GITHUB_TOKEN)"


# --- the real default policy refuses ------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "what"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("[::1]", "::1 is a loopback address"),
        ("localhost", "is a loopback address"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1 is"),
        ("0.0.0.0", "0.0.0.0 is an unspecified"),  # noqa: S104 - refused, not bound
    ],
)
async def test_default_policy_refuses_this_machine_even_when_allow_listed(
    server: Server, host: str, what: str
) -> None:
    fetcher = RunbookFetcher(allowed_hosts=[host.strip("[]")], timeout_s=5.0)
    reason = await unavailable(fetcher, f"http://{host}:{server.port}/runbook.md")
    assert "is not fetched:" in reason
    assert what in reason
    assert server.seen.requests == []


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("http://10.1.2.3/runbook.md", "10.1.2.3 is a private address"),
        ("http://192.168.1.10/runbook.md", "192.168.1.10 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[fe80::1]/x", "fe80::1 is a link-local address"),
        ("http://224.0.0.1/x", "224.0.0.1 is a multicast address"),
        ("http://100.64.0.1/x", "100.64.0.1 is not a public address"),
    ],
)
async def test_default_policy_refuses_private_and_special_addresses(url: str, what: str) -> None:
    host = url.split("/")[2].strip("[]")
    fetcher = RunbookFetcher(allowed_hosts=[host], timeout_s=5.0)
    assert await unavailable(fetcher, url) == f"{host} is not fetched: {what}"


async def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    names = Names({"wiki.internal.test": "10.0.0.5"})
    fetcher = RunbookFetcher(allowed_hosts=["wiki.internal.test"], resolver=names)
    reason = await unavailable(fetcher, "https://wiki.internal.test/runbook.md")
    assert reason == "wiki.internal.test is not fetched: 10.0.0.5 is a private address"


async def test_every_resolved_address_is_checked_not_just_the_first() -> None:
    async def two_addresses(host: str, port: int) -> Sequence[IPAddress]:
        return [ipaddress.ip_address("140.82.112.3"), ipaddress.ip_address("10.0.0.5")]

    fetcher = RunbookFetcher(allowed_hosts=["wiki.example.com"], resolver=two_addresses)
    reason = await unavailable(fetcher, "https://wiki.example.com/x")
    assert reason.endswith("10.0.0.5 is a private address")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https links are fetched, not file"),
        ("ftp://github.com/o/r/x.md", "only http and https links are fetched, not ftp"),
        ("gopher://github.com/x", "only http and https links are fetched, not gopher"),
        ("javascript:alert(1)", "only http and https links are fetched, not javascript"),
        ("runbooks/checkout.md", "only http and https links are fetched, not this"),
        ("https://user:pass@github.com/o/r/x", "links with a user name or password"),
        ("https://", "the link has no host"),
    ],
)
async def test_only_plain_http_and_https_links_are_fetched(url: str, reason: str) -> None:
    assert (await unavailable(RunbookFetcher(), url)).startswith(reason)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example.com",
        "github.com.evil.example",
        "evilgithub.com",
        "raw.githubusercontent.com.evil.io",
        "githubusercontent.com",
    ],
)
async def test_hosts_off_the_allow_list_are_refused_before_any_lookup(host: str) -> None:
    names = Names({})
    fetcher = RunbookFetcher(allowed_hosts=["*.wiki.example.com"], resolver=names)
    reason = await unavailable(fetcher, f"https://{host}/runbook.md")
    assert reason == (
        f"{host} is not an allowed runbook host (GitHub, or runbook_allowed_hosts in the settings)"
    )
    assert names.asked == []


async def test_wildcard_allow_list_entries_cover_subdomains_only() -> None:
    fetcher = RunbookFetcher(allowed_hosts=["*.Wiki.Example.com.", "docs.example.org"])
    assert fetcher.host_allowed("team.wiki.example.com")
    assert not fetcher.host_allowed("wiki.example.com")
    assert fetcher.host_allowed("DOCS.example.org.")
    assert fetcher.host_allowed("gist.githubusercontent.com")
    assert not fetcher.host_allowed("example.org")


async def test_a_redirect_to_a_blocked_address_is_refused(server: Server) -> None:
    fetcher = local_fetcher(allowed_hosts=["runbooks.test", "169.254.169.254"])
    url = f"http://runbooks.test:{server.port}/redirect?to=http://169.254.169.254/latest/"
    reason = await unavailable(fetcher, url)
    assert reason == "169.254.169.254 is not fetched: 169.254.169.254 is a link-local address"
    assert len(server.seen.requests) == 1


async def test_a_redirect_to_a_host_off_the_allow_list_is_refused(server: Server) -> None:
    url = f"http://runbooks.test:{server.port}/redirect?to=https://evil.example.com/x"
    reason = await unavailable(local_fetcher(), url)
    assert reason.startswith("evil.example.com is not an allowed runbook host")


async def test_endless_redirects_stop(server: Server) -> None:
    reason = await unavailable(local_fetcher(), f"http://runbooks.test:{server.port}/loop")
    assert reason == "more than 5 redirects"
    assert len(server.seen.requests) == 6


async def test_an_oversized_body_is_cut_off_while_streaming(server: Server) -> None:
    reason = await unavailable(local_fetcher(), f"http://runbooks.test:{server.port}/big")
    assert reason == "larger than 256 KiB"


async def test_an_oversized_declared_length_is_refused_before_reading(server: Server) -> None:
    url = f"http://runbooks.test:{server.port}/big-declared"
    assert await unavailable(local_fetcher(), url) == "larger than 256 KiB (307200 bytes)"


@pytest.mark.parametrize("path", ["/slow", "/drip"])
async def test_a_slow_server_runs_into_the_time_limit(server: Server, path: str) -> None:
    started = time.monotonic()
    reason = await unavailable(
        local_fetcher(timeout_s=0.5), f"http://runbooks.test:{server.port}{path}"
    )
    assert reason == "no complete answer within 0.5s"
    assert time.monotonic() - started < 3


async def test_error_statuses_and_non_text_are_reasons(server: Server) -> None:
    base = f"http://runbooks.test:{server.port}"
    assert await unavailable(local_fetcher(), f"{base}/missing.md") == "HTTP 404"
    assert await unavailable(local_fetcher(), f"{base}/image.png") == (
        "not text (content type image/png)"
    )


async def test_a_name_that_does_not_resolve_is_a_reason() -> None:
    fetcher = RunbookFetcher(allowed_hosts=["nowhere.test"], resolver=Names({}))
    reason = await unavailable(fetcher, "https://nowhere.test/x")
    assert reason.startswith("nowhere.test could not be resolved")


async def test_unavailable_runbook_describes_itself_for_the_report() -> None:
    result = await RunbookFetcher().fetch("file:///etc/passwd")
    assert isinstance(result, RunbookUnavailable)
    assert result.describe() == (
        "the runbook at file:///etc/passwd could not be read: "
        "only http and https links are fetched, not file"
    )


async def test_the_default_resolver_uses_the_event_loop() -> None:
    addresses = await resolve_host("localhost", 80)
    assert addresses
    assert all(address.is_loopback for address in addresses)


def test_bad_limits_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="timeout_s and max_bytes must be positive"):
        RunbookFetcher(timeout_s=0)


# --- pure policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("140.82.112.3", False),
        ("185.199.108.133", False),
        ("2606:50c0:8000::154", False),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.0.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),  # noqa: S104 - an address under test, not a bind
        ("224.0.0.251", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("::", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("::ffff:10.0.0.1", True),
        ("2002:7f00:1::", True),  # 6to4 around 127.0.0.1
        ("64:ff9b::a9fe:a9fe", True),  # NAT64 around 169.254.169.254
    ],
)
def test_blocked_addresses(address: str, blocked: bool) -> None:
    assert is_blocked_address(ipaddress.ip_address(address)) is blocked


@pytest.mark.parametrize(
    ("url", "raw"),
    [
        (
            "https://github.com/o/r/blob/main/docs/x.md",
            "https://raw.githubusercontent.com/o/r/main/docs/x.md",
        ),
        (
            "https://github.com/o/r/blob/release/1.2/x.md#L10",
            "https://raw.githubusercontent.com/o/r/release/1.2/x.md",
        ),
        (
            "https://github.com/o/r/raw/v1/x.md?plain=1",
            "https://raw.githubusercontent.com/o/r/v1/x.md",
        ),
        (
            "https://GitHub.com/o/r/blob/main/x.md",
            "https://raw.githubusercontent.com/o/r/main/x.md",
        ),
        ("https://github.com/o/r/tree/main/docs", "https://github.com/o/r/tree/main/docs"),
        ("https://github.com/o/r/blob/main", "https://github.com/o/r/blob/main"),
        ("https://github.com/o/r", "https://github.com/o/r"),
        ("https://gitlab.com/o/r/blob/main/x.md", "https://gitlab.com/o/r/blob/main/x.md"),
        ("not a url at all", "not a url at all"),
    ],
)
def test_github_blob_links_become_raw_links(url: str, raw: str) -> None:
    assert github_raw_url(url) == raw
