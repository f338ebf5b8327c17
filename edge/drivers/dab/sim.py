"""Emulated DAB board: the board's own C code (edge._core through cffi): its Modbus RTU
slave (firmware_c/src/modbus.c) behind a TCP socket, and its control and protection
stepping an averaged plant at the switching frequency. The QEMU firmware runs the same C.

Frames end after 3.5 character times of silence, as on the serial line. Defaults: the
paper's converter (75 W, 24 V bus, 100 kHz) on four LiFePO4 cells of 25 Ah (Table II).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from edge.drivers.dab.core import Sim, Slave

log = logging.getLogger(__name__)


class DabBoardEmulator:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, slave_id: int = 1, soc0: float = 0.5
    ) -> None:
        self.sim = Sim(soc0=soc0, n_units=1)
        self.unit = self.sim.units[0]
        self.slave = Slave(self.unit, address=slave_id)
        self.host = host
        self.port = port
        self._server: asyncio.AbstractServer | None = None

    # ---- the plant, stepped by the simulated house --------------------------------
    def step(self, dt_s: float) -> None:
        self.sim.run(max(0, round(dt_s / self.sim.dt_s)))

    @property
    def power_w(self) -> float:
        """Power drawn from the house into the string (+ = charging)."""
        return self.unit.current_a * self.unit.string_voltage_v

    # ---- the serial line --------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        t35 = self.slave.t35_s
        buf = b""
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(reader.read(256), None if not buf else t35)
                except TimeoutError:
                    answer = self.slave.frame(buf)  # silence: the frame is complete
                    buf = b""
                    if answer:
                        writer.write(answer)
                        await writer.drain()
                    continue
                if not chunk:
                    return
                buf += chunk
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()  # the server's shutdown cancels this task

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
