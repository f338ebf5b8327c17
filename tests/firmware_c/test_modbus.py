"""firmware_c/src/modbus.c and board_regs.c: the board's Modbus RTU slave, driven with
frames built and decoded by pymodbus (an independent implementation)."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
    WriteMultipleRegistersRequest,
    WriteSingleRegisterRequest,
)

from edge._core import ffi, lib
from edge.ccore import FIRMWARE_VERSION, Command, Sim, Slave
from edge.drivers.dab import registers as pyregs

REPO = Path(__file__).resolve().parents[2]
FRAMER = FramerRTU(DecodePDU(False))


def crc(data: bytes) -> int:
    return lib.edge_mb_crc16(ffi.from_buffer(data), len(data))


def rtu(body: bytes) -> bytes:
    c = crc(body)
    return body + bytes([c & 0xFF, c >> 8])


def slave() -> tuple[Sim, Slave]:
    sim = Sim(n_units=1)
    sim.params.unit[0].board.prot.watchdog_enabled = 0
    sim.run(10)
    return sim, Slave(sim.units[0])


def ask(sl: Slave, pdu):
    answer = sl.frame(FRAMER.buildFrame(pdu))
    assert answer, "no answer"
    _used, decoded = FRAMER.handleFrame(answer, 1, 0)
    return decoded


def test_crc16_matches_literal_frames_of_the_references():
    # sofar-modbus.md §3.1: "01 42 01 00 55 55 87 56" and the heartbeat "01 49 22 01 22 02 1E DD".
    assert crc(bytes.fromhex("014201005555")) == 0x5687
    assert crc(bytes.fromhex("014922012202")) == 0xDD1E


@given(st.binary(min_size=1, max_size=64))
def test_crc16_agrees_with_pymodbus(data):
    frame = FRAMER.encode(data[1:] or b"\x03", data[0], 0)
    assert frame[-2:] == struct.pack("<H", crc(frame[:-2]))


def test_telemetry_reads_back_the_measurements():
    sim, sl = slave()
    sim.units[0].command(Command.CURRENT, 3.0)
    sim.run_s(0.01)
    r = ask(sl, ReadInputRegistersRequest(address=0, count=21, dev_id=1))
    t = pyregs.decode_telemetry(r.registers)
    u = sim.units[0]
    assert t.string_voltage_v == pytest.approx(u.string_voltage_v, abs=0.0006)
    assert t.charge_current_a == pytest.approx(3.0, abs=0.002)
    assert t.bus_voltage_v == pytest.approx(sim.bus_voltage_v, abs=0.0006)
    assert t.control_mode == lib.EDGE_MODE_CURRENT
    assert t.firmware_version == FIRMWARE_VERSION and t.contactor_closed


def test_setpoint_writes_command_the_board():
    sim, sl = slave()
    answer = ask(sl, WriteMultipleRegistersRequest(address=0, registers=[1, 2500], dev_id=1))
    assert (answer.address, answer.count) == (0, 2)
    sim.run_s(0.01)
    assert sim.units[0].current_a == pytest.approx(2.5, rel=1e-3)
    ask(sl, WriteSingleRegisterRequest(address=1, registers=[(-1500) & 0xFFFF], dev_id=1))
    sim.run_s(0.01)
    assert sim.units[0].current_a == pytest.approx(-1.5, rel=1e-3)
    held = ask(sl, ReadHoldingRegistersRequest(address=0, count=3, dev_id=1)).registers
    assert held[:2] == [1, (-1500) & 0xFFFF]


def test_a_power_reference_becomes_a_current_reference():
    sim, sl = slave()
    ask(sl, WriteMultipleRegistersRequest(address=0, registers=[1], dev_id=1))
    ask(sl, WriteSingleRegisterRequest(address=3, registers=[400], dev_id=1))  # 40.0 W
    sim.run_s(0.01)
    u = sim.units[0]
    assert u.current_a * u.string_voltage_v == pytest.approx(40.0, rel=0.01)


@pytest.mark.parametrize(
    ("pdu", "code"),
    [
        (WriteSingleRegisterRequest(address=1, registers=[9000], dev_id=1), 3),  # > 8000 mA
        (WriteSingleRegisterRequest(address=0, registers=[7], dev_id=1), 3),  # no command 7
        (WriteSingleRegisterRequest(address=16, registers=[1], dev_id=1), 2),  # read-only
        (WriteSingleRegisterRequest(address=99, registers=[1], dev_id=1), 2),  # no register
        (ReadInputRegistersRequest(address=19, count=5, dev_id=1), 2),  # runs past the map
        (ReadHoldingRegistersRequest(address=200, count=1, dev_id=1), 2),
        (WriteMultipleRegistersRequest(address=0, registers=[1, 9000], dev_id=1), 3),
    ],
)
def test_bad_requests_get_exceptions_and_change_nothing(pdu, code):
    sim, sl = slave()
    before = bytes(ffi.buffer(sl.dev, ffi.sizeof("edge_dev_t")))
    mode = sim.units[0].mode
    answer = ask(sl, pdu)
    assert answer.isError() and answer.exception_code == code
    assert bytes(ffi.buffer(sl.dev, ffi.sizeof("edge_dev_t"))) == before
    assert sim.units[0].mode == mode
    assert sl.counters["exceptions"] == 1


def test_an_unknown_function_gets_exception_01():
    _, sl = slave()
    answer = sl.frame(rtu(bytes([1, 0x2B, 0x0E, 0x01, 0x00])))
    assert answer == rtu(bytes([1, 0xAB, 0x01]))


def test_a_read_with_a_zero_or_huge_count_gets_exception_03():
    _, sl = slave()
    for count in (0, 126):
        answer = sl.frame(rtu(bytes([1, 4, 0, 0, 0, count])))
        assert answer == rtu(bytes([1, 0x84, 0x03]))


def test_silence_for_bad_crc_other_address_and_short_frames():
    sim, sl = slave()
    good = FRAMER.buildFrame(WriteSingleRegisterRequest(address=0, registers=[1], dev_id=1))
    bad_crc = good[:-1] + bytes([good[-1] ^ 0xFF])
    assert sl.frame(bad_crc) == b""
    assert (
        sl.frame(FRAMER.buildFrame(WriteSingleRegisterRequest(address=0, registers=[1], dev_id=7)))
        == b""
    )
    assert sl.frame(b"\x01\x03") == b""
    assert sim.units[0].mode == lib.EDGE_MODE_OFF  # none of them acted
    assert sl.counters == {"frames": 0, "crc_errors": 1, "exceptions": 0, "ignored": 2}


def test_a_broadcast_write_acts_without_an_answer():
    sim, sl = slave()
    frame = FRAMER.buildFrame(
        WriteMultipleRegistersRequest(address=0, registers=[1, 1000], dev_id=0)
    )
    assert sl.frame(frame) == b""
    sim.run_s(0.01)
    assert sim.units[0].current_a == pytest.approx(1.0, rel=1e-3)


def test_frames_end_after_three_and_a_half_character_times():
    _, sl = slave()
    assert lib.edge_mb_t35_us(sl.mb) == 1750  # fixed above 19200 baud
    mb9600 = ffi.new("edge_mb_t *")
    lib.edge_mb_init(mb9600, 1, 9600)
    assert lib.edge_mb_t35_us(mb9600) == 4010  # 3.5 x 11 bits / 9600 baud
    frame = FRAMER.buildFrame(ReadInputRegistersRequest(address=19, count=2, dev_id=1))
    for k, b in enumerate(frame):
        lib.edge_mb_rx_byte(sl.mb, b, 1000 + 100 * k)
    last = 1000 + 100 * (len(frame) - 1)
    assert lib.edge_mb_poll(sl.mb, sl.dev, last + 1749) == 0  # not silent long enough
    n = lib.edge_mb_poll(sl.mb, sl.dev, last + 1750)
    assert n == 9 and bytes(ffi.buffer(sl.mb.tx, n))[:3] == b"\x01\x04\x04"


def c_table() -> list[tuple[str, int, str, bool]]:
    n = ffi.new("uint16_t *")
    regs = lib.edge_regs(n)
    space = {lib.EDGE_MB_INPUT: "input", lib.EDGE_MB_HOLDING: "holding"}
    return [
        (space[r.space], r.address, ffi.string(r.name).decode(), bool(r.is_signed))
        for r in (regs[k] for k in range(n[0]))
    ]


def test_the_python_driver_table_matches_the_board():
    table = {(sp, a): (name, signed) for sp, a, name, signed in c_table()}
    for r in pyregs.TELEMETRY:
        assert table[("input", r.address)] == (r.name, r.signed)
    assert table[("holding", pyregs.HOLD_CURRENT_REF_MA)] == ("current_ref_mA", True)
    assert table[("holding", pyregs.HOLD_WATCHDOG_REFRESH)][0] == "watchdog_refresh"


def test_registers_md_documents_every_register():
    text = (REPO / "firmware_c" / "REGISTERS.md").read_text()
    documented = set(re.findall(r"^\| (\d+) \| (\w+) \|", text, flags=re.M))
    for _space, address, name, _signed in c_table():
        if name.startswith("trips_"):
            continue  # documented as one row, 32..46
        assert (str(address), name) in documented, f"{name} at {address} not in REGISTERS.md"
    assert "| 32..46 | trips_* |" in text
