"""`sre-agent demo [--scenario NAME|FILE] [--json]`: one investigation against the sandbox on the
embedded defaults, with a throwaway store. No cluster and no LLM key needed."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.render.terminal import TerminalRenderer
    from bot.sandbox_process import SandboxProcess

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
    from bot.sandbox_process import SandboxFailed, SandboxProcess

    # The sandbox loads, checks and serves the scenario in a child process, on another core,
    # while this one imports and starts the engine (and the LLM client when one is configured).
    with SandboxProcess.start(args.scenario) as sandbox_process:
        try:
            return _investigate(args, sandbox_process)
        except SandboxFailed as exc:
            print(f"sre-agent: {exc}", file=sys.stderr)
            return 1


def _investigate(args: argparse.Namespace, sandbox_process: SandboxProcess) -> int:
    import asyncio
    import tempfile

    from bot.commands._investigation import (
        announce_reasoner,
        cli_settings,
        finish,
        investigate,
        scenario_alert,
        temporary_database,
    )

    settings = cli_settings(args.config)
    renderer = None if args.json else terminal_renderer()
    with tempfile.TemporaryDirectory(prefix="sre-agent-demo-") as directory:
        outcome = asyncio.run(
            investigate(
                settings,
                scenario_alert,
                sandbox_process=sandbox_process,
                # Said once the scenario is known good, so a bad-input exit stays one line.
                when_ready=lambda: announce_reasoner(settings),
                database_url=temporary_database(directory),
                on_event=renderer.event if renderer else None,
                reference=lambda sandbox: f"demo:{sandbox.scenario_name}",
            )
        )
    return finish(outcome, as_json=args.json)


def terminal_renderer() -> TerminalRenderer:
    from bot.render.terminal import TerminalRenderer

    return TerminalRenderer(sys.stdout, color=sys.stdout.isatty())
