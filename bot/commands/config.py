"""`sre-agent config check [--json] [--timeout S]`: validates the settings, then reaches every
configured part at once and says which work: each LLM provider (one tiny request, no retries),
each MCP server (started, tools listed), the store (opened, schema migrated) and the runbooks.

Exit 0 when everything configured works, 1 when something configured fails, 2 when the
configuration itself is invalid.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings
    from mcp_bridge.config import ServerConfig


@dataclass(frozen=True)
class Check:
    part: str  # settings | llm | mcp | store | runbooks
    name: str
    ok: bool
    detail: str
    # False for what is not set up at all (no LLM, a server without its URL): said, not failed.
    configured: bool = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check",
        help="validate the settings and reach every LLM provider, MCP server and the store",
        description="Validate the settings, then reach each configured LLM provider (a tiny "
        "request), MCP server and the store, and say which work.",
    )
    check.add_argument("--json", action="store_true", help="print one JSON document")
    check.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        metavar="S",
        help="seconds each LLM provider gets to answer (default 15)",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.cli import BadInput
    from bot.settings import ConfigError, load_settings
    from mcp_bridge.config import McpConfigError, parse_servers

    if args.timeout <= 0:
        raise BadInput("--timeout must be positive")
    try:
        settings = load_settings(args.config)
        servers = parse_servers(settings.mcp_servers)
    except (ConfigError, McpConfigError) as exc:
        raise BadInput(str(exc)) from None
    for directory in settings.runbook_dirs:
        if not directory.is_dir():
            raise BadInput(f"runbook_dirs: {directory} is not a directory")
    source = f"config file {args.config}" if args.config else "environment"
    checks = [Check("settings", "settings", True, f"valid ({source})")]
    checks += asyncio.run(_reach(settings, servers, timeout_s=args.timeout))
    failed = [c for c in checks if c.configured and not c.ok]
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        print(_as_text(checks, failed))
    return 1 if failed else 0


async def _reach(
    settings: Settings, servers: list[ServerConfig], *, timeout_s: float
) -> list[Check]:
    import asyncio

    llm, mcp, store, runbooks = await asyncio.gather(
        _llm(settings, timeout_s),
        _mcp(servers),
        _store(settings),
        asyncio.to_thread(_runbooks, settings),
    )
    return [*llm, *mcp, store, runbooks]


async def _llm(settings: Settings, timeout_s: float) -> list[Check]:
    import asyncio

    from agent.llm.models import probe
    from bot.llm import llm_chain
    from mcp_bridge.redaction import redact

    chain = llm_chain(settings)
    checks = [Check("llm", name, False, f"not used: {why}") for name, why in chain.skipped]
    if not chain.providers and not chain.skipped:
        return [
            Check(
                "llm",
                "offline",
                True,
                "no LLM configured: investigations use the offline reasoner",
                configured=False,
            )
        ]
    results = await asyncio.gather(
        *(probe(p, timeout_s=timeout_s, redact=redact) for p in chain.providers)
    )
    for result in results:
        detail = (
            f"answered in {result.latency_ms:.0f} ms" if result.ok else f"FAILED: {result.detail}"
        )
        checks.append(Check("llm", result.provider, result.ok, detail))
    return checks


async def _mcp(servers: list[ServerConfig]) -> list[Check]:
    from mcp_bridge.sessions import ServerState
    from mcp_bridge.toolbox import Toolbox

    async with Toolbox.open(servers) as toolbox:
        statuses = toolbox.servers()
    checks = []
    for status in statuses:
        state = status.state
        if state is ServerState.READY:
            checks.append(Check("mcp", status.name, True, f"ready, {status.tools_offered} tools"))
        elif state in (ServerState.DISABLED, ServerState.NOT_CONFIGURED):
            detail = state.value.replace("_", " ") + (f": {status.error}" if status.error else "")
            checks.append(Check("mcp", status.name, True, detail, configured=False))
        else:
            checks.append(
                Check("mcp", status.name, False, f"FAILED: {status.error or state.value}")
            )
    return checks


async def _store(settings: Settings) -> Check:
    from agent.store import Store, StoreUnavailable, redact_url

    url = redact_url(settings.database_url)
    try:
        store = await Store.open(settings.database_url)
    except StoreUnavailable as exc:
        return Check("store", url, False, f"FAILED: {exc}")
    await store.close()
    return Check("store", url, True, "opens, schema up to date")


def _runbooks(settings: Settings) -> Check:
    from agent.runbooks import RunbookLibrary

    library = RunbookLibrary.load(settings.runbook_dirs)
    detail = f"{len(library.runbooks)} in effect"
    if library.problems:
        detail += f", {len(library.problems)} problems (see `sre-agent runbooks lint`)"
    return Check("runbooks", "runbooks", True, detail)


def _as_text(checks: list[Check], failed: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{c.part:<9} {c.name:<{width}}  {c.detail}" for c in checks]
    if failed:
        names = ", ".join(f"{c.part} {c.name}" for c in failed)
        lines.append(f"{len(failed)} configured part(s) failed: {names}")
    else:
        lines.append("everything configured works")
    return "\n".join(lines)
