"""An aiohttp application served on 127.0.0.1 at an ephemeral port, for the protocol
servers the tests stand in for (OpenAI's endpoints, a slow remote): start, stop, and
``base_url`` as a user would configure it (``llm_base_url``)."""

from __future__ import annotations

from aiohttp import web


class LoopbackHttpServer:
    shutdown_timeout_s = 1.0

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def make_app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), shutdown_timeout=self.shutdown_timeout_s)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
