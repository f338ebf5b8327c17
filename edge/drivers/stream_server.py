"""A device emulator's socket: a TCP server whose subclass answers one connection in
`serve`. The connection is closed however `serve` ends, and stop() ends every open
connection quietly (before Python 3.13, closing an asyncio server leaves its open
connections served)."""

from __future__ import annotations

import asyncio
import contextlib


class StreamServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port  # 0: a free port, known after start()
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[object]] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one connection until it ends."""
        raise NotImplementedError

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self.serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the peer went away (or the connection was dropped on purpose)
        except asyncio.CancelledError:
            pass  # the server's shutdown: this connection ends with it
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def start(self) -> int:
        """Listen; returns the TCP port."""
        self._server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            if self._connections:
                await asyncio.wait(list(self._connections), timeout=2.0)
            await self._server.wait_closed()
            self._server = None
