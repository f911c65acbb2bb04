"""One live MCP session per server: started alongside the others, held open across calls, and
started again on the next call after it dies.

Each server has a supervisor task that enters the transport and `ClientSession` contexts and
leaves them again in that same task (anyio cancel scopes demand it), so the toolbox may be opened
and closed from different tasks. Calls from any task share the session concurrently.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TextIO

import anyio
import httpx
from anyio.streams.memory import MemoryObjectReceiveStream
from jsonschema import SchemaError, validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.fastmcp import FastMCP
from mcp.shared.exceptions import McpError
from mcp.shared.memory import create_client_server_memory_streams
from mcp.shared.message import SessionMessage
from referencing import Registry
from referencing.exceptions import Unresolvable

from mcp_bridge.config import ServerConfig, Transport
from mcp_bridge.redaction import DEFAULT_REDACTOR, Redactor

log = logging.getLogger(__name__)

CLIENT_INFO = types.Implementation(name="sre-agent", version="0.1.0")

# After a failed (re)start, calls fail fast with the recorded error for this long instead of each
# paying the start-up time again.
RESTART_BACKOFF_S = 5.0
# How long closing waits for a server to shut down (stdio: close stdin, SIGTERM, SIGKILL).
CLOSE_TIMEOUT_S = 5.0
_STDERR_TAIL_LINES = 20
_HTTP_TIMEOUT = httpx.Timeout(30.0, read=300.0)
# Streamable HTTP answers a request on a session the server no longer knows with this.
_SESSION_TERMINATED = "Session terminated"


class CheckedSession(ClientSession):
    """A ClientSession that checks structured tool results against each tool's output schema
    with a validator compiled once per schema.

    The SDK's own check (`jsonschema.validate`) re-checks the schema against its metaschema and
    rebuilds the validator on every call: ~38 ms per call for the Kubernetes server's larger
    output models, on the event loop, against ~0.03 ms compiled. Same rules, same errors.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._validators: dict[str, tuple[dict[str, Any], Validator]] = {}

    async def _validate_tool_result(self, name: str, result: types.CallToolResult) -> None:
        if name not in self._tool_output_schemas:
            await self.list_tools()  # refreshes the schemas, as the SDK does
        schema = self._tool_output_schemas.get(name)
        if schema is None:
            return
        if result.structuredContent is None:
            raise RuntimeError(
                f"Tool {name} has an output schema but did not return structured content"
            )
        try:
            error = best_match(self._validator(name, schema).iter_errors(result.structuredContent))
        except (SchemaError, Unresolvable) as exc:
            raise RuntimeError(f"Invalid schema for tool {name}: {exc}") from exc
        if error is not None:
            raise RuntimeError(f"Invalid structured content returned by tool {name}: {error}")

    def _validator(self, name: str, schema: dict[str, Any]) -> Validator:
        cached = self._validators.get(name)
        if cached is not None and cached[0] is schema:
            return cached[1]
        cls = validators.validator_for(schema)
        cls.check_schema(schema)
        # An empty registry: `$ref`s resolve within the schema document only, as in the SDK.
        validator = cls(schema, registry=Registry())
        self._validators[name] = (schema, validator)
        return validator


@asynccontextmanager
async def _in_process_session(server: FastMCP) -> AsyncIterator[ClientSession]:
    """A server running in this process, reached over the SDK's memory streams (what
    `mcp.shared.memory.create_connected_server_and_client_session` does, with our session)."""
    low_level = server._mcp_server
    async with (
        create_client_server_memory_streams() as (client, served),
        anyio.create_task_group() as group,
    ):
        group.start_soon(
            lambda: low_level.run(served[0], served[1], low_level.create_initialization_options())
        )
        try:
            async with CheckedSession(client[0], client[1], client_info=CLIENT_INFO) as session:
                await session.initialize()
                yield session
        finally:
            group.cancel_scope.cancel()


class ServerState(StrEnum):
    STARTING = "starting"
    READY = "ready"
    STOPPED = "stopped"  # was ready; its connection ended; the next call starts it again
    FAILED = "failed"  # could not start; `error` says why
    DISABLED = "disabled"  # enabled: false
    NOT_CONFIGURED = "not_configured"  # a required setting is missing; `error` says which
    CLOSED = "closed"


class ServerUnavailable(Exception):
    """The server cannot take calls (failed to start, disabled, closed); the message says why."""


class ConnectionLost(Exception):
    """The server's connection ended while the call was running."""


class CallTimedOut(Exception):
    """The call took longer than the server's `timeout_s`."""


@dataclass
class _Live:
    """One running session. `ended` is set when the connection is gone or is being shut down;
    `reason` says why, when the transport said so."""

    session: ClientSession
    tools: list[types.Tool]
    ended: asyncio.Event
    reason: str | None = None


class ServerConnection:
    """The bridge's hold on one MCP server."""

    def __init__(self, config: ServerConfig, *, redactor: Redactor = DEFAULT_REDACTOR) -> None:
        self.config = config
        self.tools: list[types.Tool] = []
        self.error: str | None = None
        self.restarts = 0
        self.state = ServerState.STARTING
        if not config.enabled:
            self.state = ServerState.DISABLED
        elif config.not_configured:
            self.state, self.error = ServerState.NOT_CONFIGURED, config.not_configured
        self._redactor = redactor
        self._live: _Live | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._failed_at: float | None = None
        self._closed = False
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)

    @property
    def name(self) -> str:
        return self.config.name

    async def start(self) -> None:
        """Start the session. A failure is recorded (state FAILED, `error`), never raised."""
        if self.state is not ServerState.STARTING:
            return
        async with self._lock:
            await self._start_locked()

    async def ready_tools(self) -> list[types.Tool]:
        """The tools the live session lists, starting it again first if it died."""
        return (await self._ensure_live()).tools

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Call a tool on the live session, starting it again first if it died.

        Raises ServerUnavailable, ConnectionLost, CallTimedOut, or McpError for a protocol-level
        refusal (unknown tool, invalid arguments).
        """
        live = await self._ensure_live()
        call = asyncio.ensure_future(live.session.call_tool(name, arguments))
        ended = asyncio.ensure_future(live.ended.wait())
        try:
            done, _ = await asyncio.wait(
                (call, ended), timeout=self.config.timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            _discard(ended)
            _discard(call)
        if call in done:
            try:
                return call.result()
            except McpError as exc:
                if exc.error.code == types.CONNECTION_CLOSED or exc.error.message.startswith(
                    _SESSION_TERMINATED
                ):
                    raise self._lost(live, exc.error.message) from None
                raise
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
                raise self._lost(live, "connection closed") from None
        if ended in done:
            raise self._lost(live, "connection closed")
        raise CallTimedOut(f"no answer within {self.config.timeout_s:g}s (timeout_s)")

    async def close(self) -> None:
        """Shut the session down (stdio: the process too). Safe to call more than once."""
        self._closed = True
        if self.state in (ServerState.STARTING, ServerState.READY, ServerState.STOPPED):
            self.state = ServerState.CLOSED
        if self._live is not None:
            self._live.ended.set()
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            await _finish(supervisor, CLOSE_TIMEOUT_S)

    def stderr_tail(self, lines: int = 3) -> str:
        return " | ".join(list(self._stderr)[-lines:])

    async def _ensure_live(self) -> _Live:
        live = self._live
        if live is not None and not live.ended.is_set():
            return live
        async with self._lock:
            live = self._live
            if live is not None and not live.ended.is_set():
                return live
            if self._closed or self.state in (ServerState.DISABLED, ServerState.NOT_CONFIGURED):
                reason = f": {self.error}" if self.error else ""
                raise ServerUnavailable(f"the {self.name} server is {self.state.value}{reason}")
            since_failure = time.monotonic() - (self._failed_at or float("-inf"))
            if since_failure < RESTART_BACKOFF_S:
                raise ServerUnavailable(
                    f"the {self.name} server failed to start {since_failure:.0f}s ago "
                    f"({self.error}); it is tried again {RESTART_BACKOFF_S:g}s after a failure"
                )
            was_running = self._supervisor is not None
            if self._supervisor is not None:  # let the dead session finish shutting down first
                await _finish(self._supervisor, CLOSE_TIMEOUT_S)
                self._supervisor = None
            if not await self._start_locked():
                raise ServerUnavailable(
                    f"the {self.name} server could not be started again: {self.error}"
                )
            if was_running:
                self.restarts += 1
            assert self._live is not None
            return self._live

    async def _start_locked(self) -> bool:
        self.state = ServerState.STARTING
        self._stderr.clear()
        ready: asyncio.Future[_Live] = asyncio.get_running_loop().create_future()
        supervisor = asyncio.create_task(self._supervise(ready), name=f"mcp-server:{self.name}")
        try:
            live = await asyncio.wait_for(asyncio.shield(ready), self.config.startup_timeout_s)
        except TimeoutError:
            await _finish(supervisor, 0)
            _collect(ready)
            self._record_failure(
                f"did not start within {self.config.startup_timeout_s:g}s (startup_timeout_s)"
            )
            return False
        except asyncio.CancelledError:
            await _finish(supervisor, 0)
            _collect(ready)
            raise
        except Exception as exc:  # noqa: BLE001 - any start-up failure is recorded, not raised
            await _finish(supervisor, CLOSE_TIMEOUT_S)
            self._record_failure(describe_error(exc))
            return False
        self._supervisor, self._live = supervisor, live
        self.tools, self.state = live.tools, ServerState.READY
        self.error, self._failed_at = None, None
        return True

    def _record_failure(self, reason: str) -> None:
        self.state = ServerState.FAILED
        self.error = self._lost_reason(reason)
        self._failed_at = time.monotonic()
        log.warning("MCP server %s failed to start: %s", self.name, self.error)

    async def _supervise(self, ready: asyncio.Future[_Live]) -> None:
        ended = asyncio.Event()
        live: _Live | None = None
        try:
            async with AsyncExitStack() as stack:
                session = await self._connect(stack, ended)
                tools = await _list_tools(session)
                live = _Live(session, tools, ended)
                ready.set_result(live)
                await ended.wait()
        except Exception as exc:  # noqa: BLE001 - the failure is reported through `ready` or state
            if not ready.done():
                ready.set_exception(exc)
            elif live is not None:
                live.reason = describe_error(exc)
                log.warning("MCP server %s stopped: %s", self.name, live.reason)
        finally:
            ended.set()
            if live is not None and self._live is live:
                self._live = None
                if self.state is ServerState.READY:
                    self.state = ServerState.STOPPED
                    self.error = self._lost_reason(live.reason or "connection closed")

    async def _connect(self, stack: AsyncExitStack, ended: asyncio.Event) -> ClientSession:
        config = self.config
        if config.transport is Transport.IN_PROCESS:
            server = await self._build_in_process()
            return await stack.enter_async_context(_in_process_session(server))
        if config.transport is Transport.STDIO:
            assert config.command is not None
            errlog = await self._capture_stderr(stack)
            parameters = StdioServerParameters(
                command=config.command,
                args=config.args,
                env=dict(config.env),
                cwd=config.cwd,
            )
            read, write = await stack.enter_async_context(stdio_client(parameters, errlog=errlog))
            errlog.close()  # the child holds its own copy; ours would keep the pipe from closing
        else:
            assert config.url is not None
            http = await stack.enter_async_context(
                httpx.AsyncClient(headers=config.headers, timeout=_HTTP_TIMEOUT)
            )
            read, write, _ = await stack.enter_async_context(
                streamable_http_client(config.url, http_client=http)
            )
        read = await _watch_for_end(stack, read, ended)
        session = await stack.enter_async_context(
            CheckedSession(read, write, client_info=CLIENT_INFO)
        )
        await session.initialize()
        return session

    async def _build_in_process(self) -> FastMCP:
        module_name = self.config.module
        assert module_name is not None
        try:
            module = await asyncio.to_thread(importlib.import_module, module_name)
        except ImportError as exc:
            raise ServerUnavailable(f"cannot import {module_name}: {exc}") from None
        build = getattr(module, "build_server", None)
        if not callable(build):
            raise ServerUnavailable(f"{module_name} has no build_server(env) function")
        with _host_logging_kept():
            server = build(dict(self.config.env))
        if not isinstance(server, FastMCP):
            raise ServerUnavailable(
                f"{module_name}.build_server returned {type(server).__name__}, not FastMCP"
            )
        return server

    async def _capture_stderr(self, stack: AsyncExitStack) -> TextIO:
        """A pipe for the child's stderr: lines go to the debug log (redacted) and the last few
        into start-up and crash messages, instead of onto the terminal."""
        read_fd, write_fd = os.pipe()
        writer = os.fdopen(write_fd, "w")
        stack.callback(writer.close)
        stream = asyncio.StreamReader()
        transport, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stream), os.fdopen(read_fd, "rb", buffering=0)
        )
        drain = asyncio.create_task(self._drain_stderr(stream))

        async def stop_draining() -> None:
            # Registered before the transport, so it runs after the process has exited: its
            # last words (a traceback) are read before the error is recorded.
            writer.close()
            await _finish(drain, 0.5)
            transport.close()

        stack.push_async_callback(stop_draining)
        return writer

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        server_log = logging.getLogger(f"mcp_bridge.server.{self.name}")
        pending = b""
        while chunk := await stream.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            pending = pending[-65536:]
            for raw in lines:
                line = self._redactor.text(raw.decode(errors="replace").rstrip())
                if line:
                    self._stderr.append(line[:300])
                    server_log.debug("%s", line)
        if line := self._redactor.text(pending.decode(errors="replace").rstrip()):
            self._stderr.append(line[:300])

    def _lost(self, live: _Live, what: str) -> ConnectionLost:
        """Mark the session gone (its supervisor shuts it down) and say what is known."""
        live.ended.set()
        reason = self._lost_reason(live.reason or what)
        if self._live is live and self.state is ServerState.READY:
            self.state, self.error = ServerState.STOPPED, reason
        return ConnectionLost(reason)

    def _lost_reason(self, what: str) -> str:
        tail = self.stderr_tail()
        return self._redactor.text(f"{what}; last stderr: {tail}" if tail else what)


async def _watch_for_end(
    stack: AsyncExitStack,
    source: MemoryObjectReceiveStream[SessionMessage | Exception],
    ended: asyncio.Event,
) -> MemoryObjectReceiveStream[SessionMessage | Exception]:
    """Relay the server's messages and set `ended` when they stop (a stdio server exited), so the
    supervisor shuts the session down at once and the next call starts a fresh one."""
    sink, relayed = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    group = await stack.enter_async_context(anyio.create_task_group())
    stack.callback(group.cancel_scope.cancel)
    stack.push_async_callback(relayed.aclose)

    async def relay() -> None:
        try:
            async with sink:
                async for message in source:
                    await sink.send(message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass
        finally:
            ended.set()

    group.start_soon(relay)
    return relayed


async def _list_tools(session: ClientSession) -> list[types.Tool]:
    page = await session.list_tools()
    tools = list(page.tools)
    # A bound on pages: a server that keeps handing out cursors must not stall the start.
    for _ in range(100):
        if not page.nextCursor:
            break
        page = await session.list_tools(params=types.PaginatedRequestParams(cursor=page.nextCursor))
        tools.extend(page.tools)
    return tools


def describe_error(exc: BaseException) -> str:
    """One line for a person: the innermost meaningful errors of an exception (group)."""
    leaves = list(_leaves(exc)) or [exc]
    parts = []
    for leaf in leaves:
        if isinstance(leaf, McpError):
            text = leaf.error.message
        elif isinstance(leaf, ServerUnavailable):
            text = str(leaf)
        elif isinstance(leaf, httpx.ConnectError):
            text = f"cannot connect: {leaf}"
        elif isinstance(leaf, httpx.HTTPStatusError):
            text = f"HTTP {leaf.response.status_code} from {leaf.request.url}"
        else:
            text = f"{type(leaf).__name__}: {leaf}" if str(leaf) else type(leaf).__name__
        if text not in parts:
            parts.append(text)
    return "; ".join(parts)


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    elif not isinstance(exc, asyncio.CancelledError):
        yield exc


def _discard(task: asyncio.Future[Any]) -> None:
    """Cancel a helper task and make sure its outcome is collected (no 'never retrieved')."""
    if not task.done():
        task.cancel()
    task.add_done_callback(_collect)


def _collect(future: asyncio.Future[Any]) -> None:
    if future.done() and not future.cancelled():
        future.exception()


async def _finish(task: asyncio.Task[None], grace_s: float) -> None:
    """Wait up to `grace_s` for a task to end by itself, then cancel it; swallow its outcome."""
    if grace_s > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), grace_s)
    if not task.done():
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we are being cancelled ourselves, not just the task we stopped
    except Exception:  # noqa: BLE001, S110 - its outcome was recorded where it happened
        pass


@contextlib.contextmanager
def _host_logging_kept() -> Iterator[None]:
    """FastMCP() calls logging.basicConfig(INFO); an in-process server must not reconfigure the
    bot's logging (every tool call would print 'Processing request' to stderr)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
