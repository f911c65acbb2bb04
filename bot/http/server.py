"""Running the endpoint: listen, say where, and stop (open event streams end first)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.http.app import AccessLogger

log = logging.getLogger("sre_agent.http")

# How long stopping waits for requests in flight (event streams end at once on shutdown).
SHUTDOWN_TIMEOUT_S = 5.0


class CannotListen(OSError):
    """The address is taken, or not this machine's."""


class HttpServer:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner = web.AppRunner(
            app,
            access_log_class=AccessLogger,
            access_log=logging.getLogger("sre_agent.http"),
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            handle_signals=False,
        )

    async def start(self) -> str:
        """Listen; returns the URL (with the real port when 0 asked for a free one)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise CannotListen(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}; "
                "set SRE_AGENT_HTTP_HOST / SRE_AGENT_HTTP_PORT"
            ) from exc
        # With port 0 the system picked one: the runner knows which.
        for address in self._runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        await self._runner.cleanup()
