"""Reading the runbook an alert links to (`runbook_url`), without letting a link reach places it
must not: http(s) only, allow-listed hosts only, public addresses only (checked for the literal
host and every address it resolves to, on every redirect hop), a size cap and a time limit.

What comes back is untrusted guidance text. Every failure is a `RunbookUnavailable` result with
a reason, never an exception, so the investigation goes on with the local runbook.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
AddressPolicy = Callable[[IPAddress], bool]

DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_REDIRECTS = 5

GITHUB_HOSTS = frozenset({"github.com", "api.github.com", "raw.githubusercontent.com"})
_GITHUB_SUFFIX = ".githubusercontent.com"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/yaml",
        "application/x-yaml",
        "application/markdown",
        "application/octet-stream",  # raw.githubusercontent.com for some file extensions
        "application/vnd.github.raw",
        "application/vnd.github.raw+json",
    }
)


class FetchedRunbook(BaseModel):
    """Runbook text read from a URL. Untrusted: guidance to weigh, never instructions."""

    model_config = ConfigDict(frozen=True)

    url: str
    fetched_from: str
    text: str
    content_type: str | None = None


class RunbookUnavailable(BaseModel):
    """Why the runbook at `url` could not be read."""

    model_config = ConfigDict(frozen=True)

    url: str
    reason: str

    def describe(self) -> str:
        return f"the runbook at {self.url} could not be read: {self.reason}"


class _Refused(Exception):
    """A fetch stopped on purpose; the message is the reason given to the reader."""


def is_github_host(host: str) -> bool:
    host = _normal_host(host)
    return host in GITHUB_HOSTS or host.endswith(_GITHUB_SUFFIX)


def github_raw_url(url: str) -> str:
    """`github.com/o/r/blob/REF/path` (or `/raw/`) -> `raw.githubusercontent.com/o/r/REF/path`.

    The raw host serves the file itself instead of an HTML page around it. Other URLs are
    returned unchanged; a query or fragment (`#L10`, `?plain=1`) is dropped from a blob URL.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    if _normal_host(parsed.host) != "github.com":
        return url
    parts = parsed.path.split("/")
    # ['', owner, repo, 'blob'|'raw', ref, path...]
    if len(parts) < 6 or parts[3] not in ("blob", "raw") or not all(parts[1:3]) or not parts[4]:
        return url
    path = "/".join([parts[1], parts[2], *parts[4:]])
    return str(
        httpx.URL(
            scheme=parsed.scheme,
            host="raw.githubusercontent.com",
            port=parsed.port,
            path="/" + path,
        )
    )


def is_blocked_address(address: IPAddress) -> bool:
    """True for addresses a runbook link must never reach: loopback, private, link-local
    (cloud metadata), multicast, unspecified, reserved, and IPv6 forms that wrap such an IPv4
    address (mapped, 6to4, Teredo; NAT64's 64:ff9b::/96 is reserved)."""
    if isinstance(address, ipaddress.IPv6Address):
        for wrapped in (address.ipv4_mapped, address.sixtofour):
            if wrapped is not None and is_blocked_address(wrapped):
                return True
        if address.teredo is not None and is_blocked_address(address.teredo[1]):
            return True
    return (
        not address.is_global
        or address.is_multicast
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_reserved
    )


def _describe_address(address: IPAddress) -> str:
    for flag, words in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(address, flag):
            article = "an" if words[0] in "aeiou" else "a"
            return f"{address} is {article} {words} address"
    return f"{address} is not a public address"


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, from the event loop's resolver."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]))
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True)
class _Target:
    url: httpx.URL  # what the reader asked for (host name)
    pinned: httpx.URL  # the same with the checked address as host, so DNS cannot change it
    host: str


class RunbookFetcher:
    """Fetches `runbook_url` targets under a fixed policy. Safe to share; holds no connections.

    `allowed_hosts` are exact host names or `*.example.com` (any subdomain); GitHub's hosts are
    always allowed. `github_token` goes only to GitHub hosts, and only over https.
    `resolver` and `is_blocked` exist so tests can point a name at 127.0.0.1; production uses
    the defaults. `verify` is an SSL context for private CAs (or False only in tests).
    """

    def __init__(
        self,
        *,
        allowed_hosts: Iterable[str] = (),
        github_token: str | SecretStr | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        resolver: Resolver = resolve_host,
        is_blocked: AddressPolicy = is_blocked_address,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        if timeout_s <= 0 or max_bytes <= 0 or max_redirects < 0:
            raise ValueError("timeout_s and max_bytes must be positive, max_redirects >= 0")
        self._exact: set[str] = set(GITHUB_HOSTS)
        self._suffixes: set[str] = {_GITHUB_SUFFIX}
        for entry in allowed_hosts:
            host = _normal_host(entry)
            if host.startswith("*."):
                self._suffixes.add(host[1:])
            elif host:
                self._exact.add(host)
        if isinstance(github_token, str):
            github_token = SecretStr(github_token) if github_token else None
        self._token = github_token
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._resolve = resolver
        self._is_blocked = is_blocked
        self._verify = verify

    def host_allowed(self, host: str) -> bool:
        host = _normal_host(host)
        return host in self._exact or any(host.endswith(suffix) for suffix in self._suffixes)

    async def fetch(self, url: str) -> FetchedRunbook | RunbookUnavailable:
        """The text at `url`, or why it could not be read. Never raises for a bad URL or host."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._fetch(url)
        except _Refused as exc:
            return RunbookUnavailable(url=url, reason=str(exc))
        except (TimeoutError, httpx.TimeoutException):
            reason = f"no complete answer within {self._timeout_s:g}s"
            return RunbookUnavailable(url=url, reason=reason)
        except httpx.HTTPError as exc:
            return RunbookUnavailable(url=url, reason=f"{type(exc).__name__}: {exc}"[:300])
        except Exception as exc:  # noqa: BLE001 - an unreadable runbook must never end the investigation
            return RunbookUnavailable(url=url, reason=f"{type(exc).__name__}: {exc}"[:300])

    async def _fetch(self, url: str) -> FetchedRunbook:
        try:
            current = httpx.URL(github_raw_url(url.strip()))
        except httpx.InvalidURL as exc:
            raise _Refused(f"not a valid URL ({exc})") from None
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout_s),
            follow_redirects=False,  # each hop is checked here before it is followed
            trust_env=False,  # a proxy would resolve names itself, past the address check
            verify=self._verify,
            limits=httpx.Limits(max_keepalive_connections=0),  # one TLS check per request
        ) as client:
            for _ in range(self._max_redirects + 1):
                target = await self._checked(current)
                request = client.build_request(
                    "GET",
                    target.pinned,
                    headers=self._headers(target),
                    extensions={"sni_hostname": target.host} if current.scheme == "https" else {},
                )
                response = await client.send(request, stream=True)
                try:
                    if response.status_code in _REDIRECTS:
                        location = response.headers.get("location")
                        if not location:
                            raise _Refused(f"HTTP {response.status_code} without a Location")
                        current = current.join(location)
                        continue
                    body = await self._body(response, target)
                finally:
                    await response.aclose()
                return FetchedRunbook(
                    url=url,
                    fetched_from=str(current),
                    text=_decode(body, response.charset_encoding),
                    content_type=response.headers.get("content-type"),
                )
        raise _Refused(f"more than {self._max_redirects} redirects")

    async def _checked(self, url: httpx.URL) -> _Target:
        if url.scheme not in ("http", "https"):
            raise _Refused(f"only http and https links are fetched, not {url.scheme or 'this'}")
        if url.userinfo:
            raise _Refused("links with a user name or password are not fetched")
        host = _normal_host(url.host)
        if not host:
            raise _Refused("the link has no host")
        if not self.host_allowed(host):
            raise _Refused(
                f"{host} is not an allowed runbook host (GitHub, or runbook_allowed_hosts "
                "in the settings)"
            )
        try:
            addresses: Sequence[IPAddress] = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                addresses = await self._resolve(host, url.port or _default_port(url.scheme))
            except OSError as exc:
                raise _Refused(f"{host} could not be resolved ({exc})") from None
        if not addresses:
            raise _Refused(f"{host} resolves to no address")
        for address in addresses:
            if self._is_blocked(address):
                raise _Refused(f"{host} is not fetched: {_describe_address(address)}")
        return _Target(url=url, pinned=url.copy_with(host=str(addresses[0])), host=host)

    def _headers(self, target: _Target) -> dict[str, str]:
        headers = {
            "Host": target.url.netloc.decode("ascii"),
            "User-Agent": "sre-agent runbook fetcher",
            "Accept": "text/markdown, text/plain;q=0.9, text/*;q=0.8, */*;q=0.1",
            # Uncompressed, so the size cap counts what is kept (no decompression bombs).
            "Accept-Encoding": "identity",
        }
        if target.host == "api.github.com":
            headers["Accept"] = "application/vnd.github.raw+json"
        if self._token is not None and target.url.scheme == "https" and is_github_host(target.host):
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        return headers

    async def _body(self, response: httpx.Response, target: _Target) -> bytes:
        status = response.status_code
        if status != 200:
            hint = ""
            if status in (401, 403, 404) and is_github_host(target.host) and self._token is None:
                hint = " (a private repository needs GITHUB_TOKEN)"
            raise _Refused(f"HTTP {status}{hint}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and not (content_type.startswith("text/") or content_type in _TEXT_TYPES):
            raise _Refused(f"not text (content type {content_type})")
        cap = _kib(self._max_bytes)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise _Refused(f"larger than {cap} ({int(declared)} bytes)")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > self._max_bytes:
                raise _Refused(f"larger than {cap}")
        return bytes(body)


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _kib(size: int) -> str:
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} bytes"


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")
