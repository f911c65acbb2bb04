"""`sre-agent serve`: the HTTP alert endpoint and (when configured) the Slack bot, around one
engine, until SIGTERM or SIGINT; then it drains: no new work, running investigations get the
grace period (a second signal cuts it short), and whatever did not finish waits in the store for
the next start."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.metrics import Metrics
    from bot.settings import Settings
    from bot.slack import SlackBot
    from mcp_bridge.sandbox import Scenario

log = logging.getLogger("sre_agent.app")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox",
        metavar="SCENARIO",
        help="point the bundled MCP servers at a sandbox serving this scenario (name or file)",
    )
    parser.add_argument(
        "--no-slack", action="store_true", help="HTTP only, even when Slack tokens are set"
    )
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow listening beyond loopback without SRE_AGENT_HTTP_TOKEN",
    )


def run(args: argparse.Namespace) -> int:
    from bot.cli import BadInput
    from bot.http import CannotListen, ExposedWithoutToken, check_exposure
    from bot.logging import configure_logging
    from bot.settings import ConfigError, load_settings

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    try:
        check_exposure(
            settings.http_host,
            token_set=settings.http_token is not None,
            insecure_no_auth=args.insecure_no_auth,
        )
    except ExposedWithoutToken as exc:
        raise BadInput(str(exc)) from None
    scenario = _scenario(args.sandbox) if args.sandbox else None
    configure_logging(
        settings.log_level, format=settings.log_format, known_secrets=secret_values(settings)
    )
    try:
        return asyncio.run(_serve(settings, scenario, slack=not args.no_slack))
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    except CannotListen as exc:
        raise BadInput(str(exc)) from None


def _scenario(name: str) -> Scenario:
    from bot.cli import BadInput
    from mcp_bridge.sandbox import ScenarioError, load_scenario

    try:
        return load_scenario(name)
    except ScenarioError as exc:
        raise BadInput(str(exc)) from None


async def _serve(settings: Settings, scenario: Scenario | None, *, slack: bool) -> int:
    from bot.engine import open_engine
    from bot.http import HttpOptions, HttpServer, build_app
    from bot.metrics import Metrics
    from bot.recorder import MetricsRecorder, tool_servers

    stop = asyncio.Event()
    hurry = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(number: int) -> None:
        name = signal.Signals(number).name
        if stop.is_set():
            log.warning("second %s: putting running investigations back in the queue now", name)
            hurry.set()
            return
        log.info("%s: draining", name)
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, on_signal, number)

    async with AsyncExitStack() as stack:
        sandbox = None
        if scenario is not None:
            from mcp_bridge.sandbox import run_sandbox

            sandbox = await stack.enter_async_context(run_sandbox(scenario))
        engine = await stack.enter_async_context(open_engine(settings, sandbox=sandbox))
        metrics = Metrics()
        recorder = MetricsRecorder(metrics, tool_servers(engine.toolbox))
        recorder.start(engine.service)
        stack.push_async_callback(recorder.close)
        server = HttpServer(
            build_app(engine, metrics, HttpOptions.from_settings(settings)),
            settings.http_host,
            settings.http_port,
        )
        url = await server.start()
        stack.push_async_callback(server.stop)
        slack_state = "off (--no-slack)"
        if slack:
            bot, slack_state = await _start_slack(engine, settings, metrics)
            if bot is not None:
                stack.push_async_callback(bot.close)
        # What exists now (modules, the engine, the app) lives as long as the process: out of
        # the collector's way, full collections stop scanning it. They were the slowest
        # moments of webhook intake (measured: p99 six times the median before, 1.5x after).
        gc.freeze()
        auth = "bearer token" if settings.http_token is not None else "none"
        sandboxed = f"; sandbox: {scenario.name}" if scenario is not None else ""
        print(
            f"sre-agent serve: listening on {url} (auth: {auth}; Slack: {slack_state}"
            f"{sandboxed}); SIGTERM or Ctrl-C drains and stops",
            flush=True,
        )
        log.info("listening on %s", url, extra={"slack": slack_state, "auth": auth})
        await stop.wait()
        requeued = await _drain(engine, settings.drain_grace_s, hurry)
        log.info(
            "drained: %d investigations back in the queue for the next start",
            len(requeued),
            extra={"requeued": requeued},
        )
    print("sre-agent serve: stopped", flush=True)
    return 0


async def _drain(engine: Engine, grace_s: float, hurry: asyncio.Event) -> list[str]:
    """Give running investigations the grace period, or less if a second signal says so; what
    does not finish goes back in the queue for the next start."""
    draining = asyncio.create_task(engine.service.drain(grace_s))
    hurrying = asyncio.create_task(hurry.wait())
    await asyncio.wait({draining, hurrying}, return_when=asyncio.FIRST_COMPLETED)
    requeued: list[str] = []
    if not draining.done():
        requeued = await engine.service.drain(0)  # the first drain then finds nothing to wait for
    hurrying.cancel()
    return requeued + await draining


async def _start_slack(
    engine: Engine, settings: Settings, metrics: Metrics
) -> tuple[SlackBot | None, str]:
    """The Slack bot, when its tokens are configured (a wrong one is exit 2, one line)."""
    from bot.cli import BadInput
    from bot.slack import SlackTokenError, start_slack

    if not (settings.slack_bot_token or settings.slack_app_token):
        return None, "off (no SLACK_BOT_TOKEN / SLACK_APP_TOKEN)"
    try:
        bot = await start_slack(engine, settings, metrics)
    except SlackTokenError as exc:
        raise BadInput(str(exc)) from None
    return bot, "on"


def secret_values(settings: Settings) -> list[str]:
    """Every secret in the settings (SecretStr fields, a password in the database URL), so the
    logs can remove them by value."""
    from pydantic import BaseModel, SecretStr
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(settings)
    try:
        password = make_url(settings.database_url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        found.append(str(password))
    return found
