"""Firmware in the loop: the board firmware built with arm-none-eabi-gcc runs in
qemu-system-arm (mps2-an386, Cortex-M4F); the supervisor's pymodbus client talks to its
UART over a QEMU chardev socket. The trajectory after a command matches the host (cffi)
run of the same C, step for step."""

from __future__ import annotations

import asyncio
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerType

from edge.ccore import Fault, Sim, Slave
from edge.drivers.dab import registers as reg
from edge.mqtt.broker import free_port
from host_tools.firmware import build, qemu_command

BOARD = "qemu-mps2-an386"
STEPS_PER_TICK = 100


@dataclass
class Qemu:
    proc: subprocess.Popen
    port: int

    def log(self) -> list[str]:
        self.proc.terminate()
        _out, err = self.proc.communicate(timeout=10)
        return err.splitlines()


@pytest.fixture(scope="module")
def firmware(tmp_path_factory) -> Path:
    return build(BOARD, tmp_path_factory.mktemp("fw"))


@pytest.fixture
def qemu(firmware: Path) -> Iterator[Qemu]:
    port = free_port()
    cmd = qemu_command(BOARD, firmware, serial=f"tcp:127.0.0.1:{port},server=on,wait=off")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield Qemu(proc, port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


async def client(port: int) -> AsyncModbusTcpClient:
    c = AsyncModbusTcpClient("127.0.0.1", port=port, framer=FramerType.RTU, timeout=2)
    for _ in range(100):
        if await c.connect():
            return c
        await asyncio.sleep(0.05)
    raise AssertionError("QEMU's UART socket did not come up")


def floats(hex8: str) -> float:
    return struct.unpack("<f", struct.pack("<I", int(hex8, 16)))[0]


def test_charge_command_and_telemetry_match_the_host_run_step_for_step(qemu: Qemu):
    async def session() -> list[list[int]]:
        c = await client(qemu.port)
        try:
            first = await c.read_input_registers(0, count=reg.TELEMETRY_COUNT, device_id=1)
            assert not first.isError()
            assert (await c.write_registers(0, [reg.CMD_CURRENT, 5000], device_id=1)).address == 0
            await asyncio.sleep(0.4)
            later = await c.read_input_registers(0, count=reg.TELEMETRY_COUNT, device_id=1)
            return [first.registers, later.registers]
        finally:
            c.close()

    first, later = asyncio.run(session())
    t0, t1 = reg.decode_telemetry(first), reg.decode_telemetry(later)
    assert (t0.board_id, t0.firmware_version, t0.control_mode) == (1, 0x0100, 0)
    assert t1.control_mode == 1 and t1.charge_current_a == pytest.approx(5.0, abs=0.002)
    assert t1.steps > t0.steps  # the control interrupt runs
    time.sleep(0.2)
    log = qemu.log()
    writes = [line.split() for line in log if line.startswith("W ")]
    traces = [line.split() for line in log if line.startswith("T ")]
    status = [line.split() for line in log if line.startswith("S ")]
    assert len(writes) == 1 and len(traces) == 20 and status
    assert not any(line.startswith("LOST") for line in log)

    # The host: the same C through cffi, the same frame at the same step.
    sim = Sim(n_units=1)
    slave = Slave(sim.units[0], address=1, board_id=1)
    w_steps, w_frame = int(writes[0][1]), bytes.fromhex(writes[0][2])
    want_traces = {int(t[1]): t[2] for t in traces}
    want_status = {int(s[1]): s[2:] for s in status}
    last = max([*want_traces, *want_status]) + STEPS_PER_TICK
    compared = 0
    while sim.state.steps < last:
        steps = int(sim.state.steps)
        if steps == w_steps:
            assert slave.frame(w_frame)[:2] == b"\x01\x10"
        if steps in want_traces:
            i_host, v_host = sim.run_traced(STEPS_PER_TICK)
            blob = want_traces[steps]
            for k in range(STEPS_PER_TICK):
                i_fw = floats(blob[16 * k : 16 * k + 8])
                v_fw = floats(blob[16 * k + 8 : 16 * k + 16])
                assert i_host[k] == pytest.approx(i_fw, rel=1e-5, abs=1e-9), (steps, k)
                assert v_host[k] == pytest.approx(v_fw, rel=1e-5), (steps, k)
                compared += 1
        else:
            sim.run(STEPS_PER_TICK)
        if int(sim.state.steps) in want_status:
            i, v, vbus, soc, latched = want_status[int(sim.state.steps)]
            u = sim.units[0]
            assert u.current_a == pytest.approx(floats(i), rel=1e-5, abs=1e-9)
            assert u.string_voltage_v == pytest.approx(floats(v), rel=1e-5)
            assert sim.bus_voltage_v == pytest.approx(floats(vbus), rel=1e-5)
            assert u.soc == pytest.approx(floats(soc), rel=1e-5)
            assert int(latched, 16) == 0
    assert compared == 20 * STEPS_PER_TICK  # 20 ms after the command, every control step
    # The first traced period is the one right after the command took effect.
    assert min(want_traces) == w_steps


def test_an_injected_fault_trips_the_bridge_and_shows_over_modbus(qemu: Qemu):
    from pymodbus.pdu import ModbusPDU

    class Inject(ModbusPDU):
        function_code = 0x64
        rtu_frame_size = 5

        def __init__(self, what: int = 0, dev_id: int = 1, transaction_id: int = 0):
            super().__init__(dev_id=dev_id, transaction_id=transaction_id)
            self.what = what

        def encode(self) -> bytes:
            return bytes([self.what])

        def decode(self, data: bytes) -> None:
            self.what = data[0]

    async def session():
        c = await client(qemu.port)
        c.register(Inject)
        try:
            await c.write_registers(0, [reg.CMD_CURRENT, 4000], device_id=1)
            await asyncio.sleep(0.1)
            echo = await c.execute(False, Inject(1, dev_id=1))  # bus over-voltage
            assert echo.what == 1
            await asyncio.sleep(0.2)
            r = await c.read_input_registers(0, count=reg.TELEMETRY_COUNT, device_id=1)
            trips = await c.read_input_registers(reg.TRIPS_START, count=15, device_id=1)
            garbage = await c.read_input_registers(200, count=1, device_id=1)  # no such register
            return reg.decode_telemetry(r.registers), trips.registers, garbage
        finally:
            c.close()

    t, trips, garbage = asyncio.run(session())
    assert t.faults_latched & (1 << Fault.BUS_OV)
    assert t.protection_action == 2  # bridge off
    assert t.charge_current_a == 0.0 and t.control_mode == 0
    assert trips[Fault.BUS_OV] == 1
    assert garbage.isError() and garbage.exception_code == 2
