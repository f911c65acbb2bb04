"""The sandbox in a child process (`sre-agent sandbox --json --stop-on-eof`), for a command that
only talks to it over HTTP, as `sre-agent demo` does. Started first thing, it loads and checks
the scenario and serves it on the other core while this process imports and starts the engine
and the LLM client; the bundled servers then reach it exactly as they reach an in-process one.

    with SandboxProcess.start("checkout-oom") as process:
        ... sandbox = await process.ready()     # ServedSandbox; BadInput for a bad scenario

It stops when the context exits (its standard input is closed, then it is terminated if it
lingers), and by itself when this process dies without closing it: it watches its standard
input. A bad scenario is reported as the child reports it (BadInput, exit code 2); any other
failure of the child is a SandboxFailed that says how it ended and its last words.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

_STOP_TIMEOUT_S = 5.0
# Loading and checking the largest built-in scenario takes well under a second.
_READY_TIMEOUT_S = 60.0
_PREFIX = "sre-agent: "


class SandboxFailed(RuntimeError):
    """The sandbox process ended before serving for a reason other than bad input."""


@dataclass(frozen=True)
class ServedSandbox:
    """A sandbox served by another process: where to reach it and the alert it serves."""

    scenario_name: str
    kubernetes_url: str
    prometheus_url: str
    kubeconfig_path: Path
    now: float
    alert: dict[str, Any]


class SandboxProcess:
    def __init__(self, process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
        self._process = process
        self._stderr = stderr
        self._served: ServedSandbox | None = None

    @classmethod
    def start(cls, scenario: str | Path) -> SandboxProcess:
        """Start serving `scenario` (a built-in name or a file) in a child process; returns at
        once. Its stderr goes to a temporary file, read only to explain a failure."""
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - outlives this call; close() closes it
        command = [sys.executable, "-m", "bot", "sandbox", f"--scenario={scenario}"]
        try:
            process = subprocess.Popen(  # noqa: S603 - this interpreter; the scenario is one argument
                [*command, "--json", "--stop-on-eof"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        except BaseException:
            stderr.close()
            raise
        return cls(process, stderr)

    @property
    def pid(self) -> int:
        return self._process.pid

    async def ready(self, timeout_s: float = _READY_TIMEOUT_S) -> ServedSandbox:
        """Wait until the child serves (its one JSON line), or say why it did not."""
        if self._served is None:
            stdout = self._process.stdout
            assert stdout is not None
            try:
                async with asyncio.timeout(timeout_s):
                    line = await asyncio.to_thread(stdout.readline)
            except TimeoutError:
                # Stopped now, so the reading thread sees the end of its output and returns.
                self._process.kill()
                raise SandboxFailed(
                    f"the sandbox process did not start serving within {timeout_s:.0f}s"
                ) from None
            if not line:
                code = await asyncio.to_thread(self._process.wait)
                raise self._failure(code)
            self._served = _parse(line)
        return self._served

    def _failure(self, code: int) -> Exception:
        from bot.cli import BadInput

        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip()
        # The command line reports bad input as one `sre-agent: reason` message, last.
        start = text.rfind("\n" + _PREFIX) + 1
        if code == 2 and text.startswith(_PREFIX, start):
            return BadInput(text[start:].removeprefix(_PREFIX))
        lines = text.splitlines()
        said = f": {lines[-1].strip()}" if lines else " (it said nothing)"
        return SandboxFailed(f"the sandbox process exited with code {code}{said}")

    def close(self) -> None:
        """Stop the child and wait for it: closing its stdin asks it to stop (it cleans up its
        kubeconfig); one that lingers is terminated, then killed."""
        process = self._process
        try:
            if process.poll() is None:
                if process.stdin is not None:
                    process.stdin.close()
                try:
                    process.wait(timeout=_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.terminate()
                    try:
                        process.wait(timeout=_STOP_TIMEOUT_S)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
        finally:
            for stream in (process.stdin, process.stdout, self._stderr):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _parse(line: bytes) -> ServedSandbox:
    try:
        served = json.loads(line)
        return ServedSandbox(
            scenario_name=served["scenario"],
            kubernetes_url=served["kubernetes_url"],
            prometheus_url=served["prometheus_url"],
            kubeconfig_path=Path(served["kubeconfig"]),
            now=float(served["now"]),
            alert=served["alert"],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise SandboxFailed(
            f"the sandbox process said something unexpected: {line[:200]!r}"
        ) from exc
