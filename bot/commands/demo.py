"""`sre-agent demo [--scenario NAME|FILE] [--json]`: one investigation against the sandbox on the
embedded defaults, with a throwaway store. No cluster and no LLM key needed."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.render.terminal import TerminalRenderer

DEFAULT_SCENARIO = "checkout-oom"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        default=DEFAULT_SCENARIO,
        help=f"a built-in scenario name or a scenario YAML file (default: {DEFAULT_SCENARIO})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    import asyncio
    import tempfile

    from bot.commands._investigation import (
        announce_reasoner,
        cli_settings,
        finish,
        investigate,
        load_scenario_or_exit,
        scenario_alert,
        temporary_database,
    )

    settings = cli_settings(args.config)
    scenario = load_scenario_or_exit(args.scenario)
    announce_reasoner(settings)
    renderer = None if args.json else terminal_renderer()
    with tempfile.TemporaryDirectory(prefix="sre-agent-demo-") as directory:
        outcome = asyncio.run(
            investigate(
                settings,
                scenario_alert,
                scenario=scenario,
                database_url=temporary_database(directory),
                on_event=renderer.event if renderer else None,
                reference=f"demo:{scenario.name}",
            )
        )
    return finish(outcome, as_json=args.json)


def terminal_renderer() -> TerminalRenderer:
    import sys

    from bot.render.terminal import TerminalRenderer

    return TerminalRenderer(sys.stdout, color=sys.stdout.isatty())
