"""Running investigations for the command line: settings for a fresh CLI run, an engine (with a
sandbox when asked), one alert submitted as a CLI investigation, and every event handed to the
caller as it arrives. Shared by `demo`, `investigate` and `eval`; not a command itself."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.alert import Alert
    from agent.events import Event, Stats
    from agent.report import RootCauseReport
    from bot.sandbox_process import SandboxProcess, ServedSandbox
    from bot.settings import Settings
    from mcp_bridge.sandbox import Sandbox, Scenario

    AnySandbox = Sandbox | ServedSandbox


@dataclass
class Outcome:
    """One investigation as the command saw it: the alert and every event, in order."""

    alert: Alert
    investigation_id: str = ""
    events: list[Event] = field(default_factory=list)

    @property
    def report(self) -> RootCauseReport | None:
        from agent.events import Finished

        last = self.events[-1] if self.events else None
        return last.report if isinstance(last, Finished) else None

    @property
    def stats(self) -> Stats | None:
        from agent.events import Finished

        last = self.events[-1] if self.events else None
        return last.stats if isinstance(last, Finished) else None

    @property
    def error(self) -> str | None:
        from agent.events import Failed

        last = self.events[-1] if self.events else None
        if isinstance(last, Failed):
            return last.error
        return None if self.report is not None else "the investigation ended without a report"


def cli_settings(config: str | None) -> Settings:
    """Settings for a command-line run: always a fresh investigation (no deduplication)."""
    from bot.cli import BadInput
    from bot.settings import ConfigError, load_settings

    try:
        return load_settings(config, dedup_window_s=0)
    except ConfigError as exc:
        raise BadInput(str(exc)) from None


def announce_reasoner(settings: Settings) -> None:
    """Say once, on stderr, when investigations will not use an LLM as configured. Called when
    the input is known good, so a bad-input exit stays one line."""
    from bot.llm import reasoner_notice

    if notice := reasoner_notice(settings):
        print(notice, file=sys.stderr)


def load_scenario_or_exit(name_or_path: str | Path) -> Scenario:
    from bot.cli import BadInput
    from mcp_bridge.sandbox import ScenarioError, load_scenario

    try:
        return load_scenario(name_or_path)
    except ScenarioError as exc:
        raise BadInput(str(exc)) from None


def temporary_database(directory: str | Path) -> str:
    return f"sqlite+aiosqlite:///{Path(directory) / 'sre-agent.db'}"


def scenario_alert(sandbox: AnySandbox) -> Alert:
    from agent.intake import parse_alertmanager_alert

    return parse_alertmanager_alert(sandbox.alert, source="scenario")


async def investigate(
    settings: Settings,
    alert: Alert | Callable[[AnySandbox], Alert],
    *,
    scenario: Scenario | None = None,
    sandbox_process: SandboxProcess | None = None,
    when_ready: Callable[[], None] | None = None,
    database_url: str | None = None,
    on_event: Callable[[Event], None] | None = None,
    reference: str | Callable[[ServedSandbox], str] | None = None,
) -> Outcome:
    """Run one investigation to its end. With `scenario`, a sandbox in this process serves it;
    with `sandbox_process`, one already started in a child process does (waited for only once
    everything here is imported). The bundled servers read from it; `alert` may then be built
    from the running sandbox, and with `sandbox_process` `reference` too. `when_ready` is called
    once the sandbox serves (the input is then known good) and before the engine starts."""
    from contextlib import AsyncExitStack

    from bot.llm import default_reasoners

    # First, before the heavy imports below: an LLM client takes about a second to import and
    # build, and it is built in a worker thread while the sandbox and the engine start.
    reasoners = default_reasoners(settings, warm_up=True)

    from agent.store import Origin, OriginKind
    from bot.engine import open_engine
    from bot.settings import ConfigError

    async with AsyncExitStack() as stack:
        sandbox: AnySandbox | None = None
        if sandbox_process is not None:
            sandbox = served = await sandbox_process.ready()
            if callable(reference):
                reference = reference(served)
        elif scenario is not None:
            from mcp_bridge.sandbox import run_sandbox

            sandbox = await stack.enter_async_context(run_sandbox(scenario))
        if when_ready is not None:
            when_ready()
        chosen = alert(sandbox) if callable(alert) and sandbox is not None else alert
        assert not callable(chosen), "an alert built from a sandbox needs a scenario"
        assert not callable(reference), "a reference built from a sandbox needs sandbox_process"
        try:
            engine = await stack.enter_async_context(
                open_engine(
                    settings, sandbox=sandbox, database_url=database_url, reasoners=reasoners
                )
            )
        except ConfigError as exc:
            from bot.cli import BadInput

            raise BadInput(str(exc)) from None
        admission = await engine.service.submit(
            chosen, origin=Origin(kind=OriginKind.CLI, reference=reference)
        )
        outcome = Outcome(alert=chosen, investigation_id=admission.record.id)
        async for stored in engine.service.follow(admission.record.id):
            outcome.events.append(stored.event)
            if on_event is not None:
                on_event(stored.event)
        return outcome


def finish(outcome: Outcome, *, as_json: bool) -> int:
    """Print the JSON document when asked (the terminal renderer already showed the rest) and
    choose the exit code: 0 when a report was written, 1 when the investigation failed."""
    if as_json:
        import json

        from bot.render.document import investigation_document

        document = investigation_document(
            outcome.alert, outcome.events, investigation_id=outcome.investigation_id
        )
        print(json.dumps(document, indent=2, ensure_ascii=False))
    elif outcome.report is None:
        print(f"sre-agent: {outcome.error}", file=sys.stderr)
    return 0 if outcome.report is not None else 1
