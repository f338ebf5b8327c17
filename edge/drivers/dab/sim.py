"""Emulated DAB board: the board's own C code (edge._core through cffi): its Modbus RTU
slave (firmware_c/src/modbus.c) behind a TCP socket, and its control and protection
stepping an averaged plant at the switching frequency. The QEMU firmware runs the same C.

Frames end after 3.5 character times of silence, as on the serial line. Defaults: the
paper's converter (75 W, 24 V bus, 100 kHz) on four LiFePO4 cells of 25 Ah (Table II).
"""

from __future__ import annotations

import asyncio
import logging

from edge.ccore import Sim, Slave
from edge.drivers.stream_server import StreamServer

log = logging.getLogger(__name__)


class DabBoardEmulator(StreamServer):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        slave_id: int = 1,
        soc0: float = 0.5,
        bus_rise_s: float | None = None,
    ) -> None:
        """bus_rise_s: the board powers up on a dead DC bus whose front end then ramps to
        its voltage over this time (the bus under-voltage trip latches on the way), as at
        a real installation's power-up; None: the bus is up from the start."""
        self.sim = Sim(soc0=soc0, n_units=1)
        self.unit = self.sim.units[0]
        self.slave = Slave(self.unit, address=slave_id)
        self.bus_rise_s = bus_rise_s
        self._v_src_final_v = float(self.sim.params.bus.v_src_V)
        self._t_s = 0.0
        if bus_rise_s is not None:
            self.sim.params.bus.v_src_V = 0.0
            self.sim.state.bus.v_bus_V = 0.0
        super().__init__(host, port)

    # ---- the plant, stepped by the simulated house --------------------------------
    def step(self, dt_s: float) -> None:
        self._t_s += dt_s
        if self.bus_rise_s is not None:
            share = min(1.0, self._t_s / self.bus_rise_s) if self.bus_rise_s > 0 else 1.0
            self.sim.params.bus.v_src_V = share * self._v_src_final_v
        self.sim.run(max(0, round(dt_s / self.sim.dt_s)))

    @property
    def power_w(self) -> float:
        """Power drawn from the house into the string (+ = charging)."""
        return self.unit.current_a * self.unit.string_voltage_v

    # ---- the serial line --------------------------------------------------------
    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        t35 = self.slave.t35_s
        buf = b""
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
