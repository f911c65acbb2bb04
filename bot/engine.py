"""Wiring: the store, the MCP toolbox, the runbook library and the reasoner chain, built from
settings and started together, behind one InvestigationService. Every command that investigates
(demo, investigate, eval, serve) opens an engine and talks to its service."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.casefile import ReasonerFactory
from agent.investigator import Investigator
from agent.runbooks import RunbookFetcher, RunbookLibrary
from agent.service import InvestigationService, ServiceSettings
from agent.store import Store
from bot.llm import default_reasoners, reasoner_notice
from bot.settings import ConfigError, Settings
from mcp_bridge.config import McpConfigError, parse_servers
from mcp_bridge.toolbox import Toolbox

__all__ = ["Engine", "default_reasoners", "mcp_servers_for", "open_engine", "reasoner_notice"]


class SandboxEndpoints(Protocol):
    """Where a sandbox serves: `mcp_bridge.sandbox.Sandbox` in this process, or
    `bot.sandbox_process.ServedSandbox` in a child process."""

    @property
    def kubeconfig_path(self) -> Path: ...

    @property
    def prometheus_url(self) -> str: ...


@dataclass(frozen=True)
class Engine:
    settings: Settings
    store: Store
    toolbox: Toolbox
    runbooks: RunbookLibrary
    investigator: Investigator
    service: InvestigationService


def mcp_servers_for(
    settings: Settings, sandbox: SandboxEndpoints | None
) -> dict[str, dict[str, Any]]:
    """The `mcpServers` setting, with the bundled servers pointed at the sandbox when there is
    one (the sandbox wins over configured options, so `--sandbox` never reaches a real cluster)."""
    raw = copy.deepcopy(settings.mcp_servers)
    if sandbox is not None:
        for name, option, value in (
            ("kubernetes", "KUBECONFIG", str(sandbox.kubeconfig_path)),
            ("prometheus", "PROMETHEUS_URL", sandbox.prometheus_url),
        ):
            entry = raw.setdefault(name, {})
            entry.setdefault("env", {})[option] = value
    return raw


@asynccontextmanager
async def open_engine(
    settings: Settings,
    *,
    sandbox: SandboxEndpoints | None = None,
    database_url: str | None = None,
    reasoners: Sequence[ReasonerFactory] | None = None,
    start: bool = True,
) -> AsyncIterator[Engine]:
    """Start everything concurrently (start-up time is paid by every CLI run) and stop it all
    on exit, draining running investigations first. Raises ConfigError for bad settings."""
    try:
        servers = parse_servers(mcp_servers_for(settings, sandbox))
    except McpConfigError as exc:
        raise ConfigError(str(exc)) from None
    async with AsyncExitStack() as stack:
        store, toolbox, runbooks = await _gather_or_close(
            stack,
            Store.open(database_url or settings.database_url),
            Toolbox.start(servers),
            asyncio.to_thread(RunbookLibrary.load, settings.runbook_dirs),
        )
        investigator = Investigator(
            runbooks=runbooks,
            tools=toolbox.tools(),
            reasoners=list(reasoners) if reasoners is not None else default_reasoners(settings),
            limits=settings.limits,
            fetcher=RunbookFetcher(
                allowed_hosts=settings.runbook_allowed_hosts, github_token=settings.github_token
            ),
        )
        service = InvestigationService(
            store=store,
            investigator=investigator,
            settings=ServiceSettings(
                concurrency=settings.concurrency,
                dedup_window_s=settings.dedup_window_s,
                lease_s=settings.lease_s,
                lease_renew_s=settings.lease_renew_s,
            ),
        )
        if start:
            await service.start()
            stack.push_async_callback(service.drain, settings.drain_grace_s)
        yield Engine(
            settings=settings,
            store=store,
            toolbox=toolbox,
            runbooks=runbooks,
            investigator=investigator,
            service=service,
        )


async def _gather_or_close(
    stack: AsyncExitStack,
    store: Awaitable[Store],
    toolbox: Awaitable[Toolbox],
    runbooks: Awaitable[RunbookLibrary],
) -> tuple[Store, Toolbox, RunbookLibrary]:
    """Open the three concurrently; whatever opened is closed again if another one failed."""
    results = await asyncio.gather(store, toolbox, runbooks, return_exceptions=True)
    opened_store, opened_toolbox, library = results
    if isinstance(opened_store, Store):
        stack.push_async_callback(opened_store.close)
    if isinstance(opened_toolbox, Toolbox):
        stack.push_async_callback(opened_toolbox.aclose)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    assert isinstance(opened_store, Store)
    assert isinstance(opened_toolbox, Toolbox)
    assert isinstance(library, RunbookLibrary)
    return opened_store, opened_toolbox, library
