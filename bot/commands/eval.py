"""`sre-agent eval [DIR|FILE...] [--json]`: run every scenario through the sandbox and score the
diagnosis. A scenario passes when the report's category is the expected one and every expected
keyword appears in the root cause (case-insensitive). Exit 0 whenever it ran, whatever the score."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.report import RootCauseReport
    from bot.settings import Settings
    from mcp_bridge.sandbox import Scenario


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="DIR|FILE",
        help="scenario files, or directories of *.yaml scenarios (default: the built-in ones)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")


@dataclass
class Score:
    name: str
    file: str
    expected: str
    keywords: list[str]
    got: str | None = None
    confidence: str | None = None
    summary: str | None = None
    root_cause: str | None = None
    missing_keywords: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and self.got == self.expected and not self.missing_keywords


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.commands._investigation import announce_reasoner, cli_settings

    settings = cli_settings(args.config)
    scenarios = [(path, _checked(path)) for path in scenario_files(args.paths)]
    announce_reasoner(settings)
    scores = asyncio.run(_evaluate(settings, scenarios, progress=not args.json))
    if args.json:
        import json

        print(json.dumps(_document(scores), indent=2, ensure_ascii=False))
    else:
        print(_summary_line(scores))
    return 0


def scenario_files(paths: list[str]) -> list[Path]:
    """The scenario files to run, in a stable order. Raises BadInput for a path that is neither
    a scenario file nor a directory holding some."""
    from bot.cli import BadInput
    from mcp_bridge.sandbox.scenario import BUILTIN_DIR

    if not paths:
        return sorted(BUILTIN_DIR.glob("*.yaml"))
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            if not found:
                raise BadInput(f"{path}: no *.yaml scenario files in this directory")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise BadInput(f"{path}: no such scenario file or directory")
    return list(dict.fromkeys(files))


def _checked(path: Path) -> Scenario:
    """The scenario, checked before anything runs: it parses and has a usable answer key."""
    from agent.report import Category
    from bot.cli import BadInput
    from bot.commands._investigation import load_scenario_or_exit

    scenario = load_scenario_or_exit(path)
    if scenario.expect is None:
        raise BadInput(f"{path}: the scenario has no expect section to score against")
    vocabulary = [c.value for c in Category]
    if scenario.expect.category not in vocabulary:
        raise BadInput(
            f"{path}: expect.category {scenario.expect.category!r} is not in the category "
            f"vocabulary ({', '.join(vocabulary)})"
        )
    return scenario


async def _evaluate(
    settings: Settings, scenarios: list[tuple[Path, Scenario]], *, progress: bool
) -> list[Score]:
    import tempfile

    from bot.commands._investigation import investigate, scenario_alert, temporary_database

    scores: list[Score] = []
    width = max((len(s.name) for _, s in scenarios), default=10)
    if progress:
        print(f"{'scenario':<{width}}  {'expected':<20} {'got':<20} {'result':<6} {'time':>6}")
    for path, scenario in scenarios:
        assert scenario.expect is not None
        score = Score(
            name=scenario.name,
            file=str(path),
            expected=scenario.expect.category,
            keywords=list(scenario.expect.root_cause_keywords),
        )
        started = time.monotonic()
        try:
            with tempfile.TemporaryDirectory(prefix="sre-agent-eval-") as directory:
                outcome = await investigate(
                    settings,
                    scenario_alert,
                    scenario=scenario,
                    database_url=temporary_database(directory),
                    reference=f"eval:{scenario.name}",
                )
            _grade(score, outcome.report, outcome.error)
        except Exception as exc:  # noqa: BLE001 - one broken scenario is a failed row, not a crash
            score.error = f"{type(exc).__name__}: {exc}"
        score.seconds = round(time.monotonic() - started, 2)
        scores.append(score)
        if progress:
            print(_row(score, width), flush=True)
            if not score.passed:
                print(f"{'':<{width}}  {_why(score)}", flush=True)
    return scores


def _grade(score: Score, report: RootCauseReport | None, error: str | None) -> None:
    if report is None:
        score.error = error or "no report"
        return
    score.got = report.category.value
    score.confidence = report.confidence.value
    score.summary = report.summary
    score.root_cause = report.root_cause
    text = report.root_cause.lower()
    score.missing_keywords = [k for k in score.keywords if k.lower() not in text]


def _row(score: Score, width: int) -> str:
    result = "pass" if score.passed else "FAIL"
    got = score.got or "error"
    return (
        f"{score.name:<{width}}  {score.expected:<20} {got:<20} {result:<6} {score.seconds:>5.1f}s"
    )


def _why(score: Score) -> str:
    if score.error:
        return f"error: {score.error}"
    if score.got != score.expected:
        return f"root cause: {score.root_cause}"
    return f"missing keywords {score.missing_keywords} in: {score.root_cause}"


def _summary_line(scores: list[Score]) -> str:
    passed = sum(s.passed for s in scores)
    return f"{passed} passed, {len(scores) - passed} failed"


def _document(scores: list[Score]) -> dict[str, Any]:
    passed = sum(s.passed for s in scores)
    return {
        "scenarios": [{**asdict(s), "passed": s.passed} for s in scores],
        "passed": passed,
        "failed": len(scores) - passed,
    }
