"""The Pylontech RS485 emulator, checked by a decoder written here from the published
frame format (docs/reference/pylontech.md §1.2-1.9), independent of edge's own."""

from __future__ import annotations

import asyncio
import struct

import pytest

from edge.drivers.pylontech.frames import Cmd, Frame, encode, length_field, request
from edge.drivers.pylontech.sim import PylontechEmulator
from edge.sim.battery import PackParams, PylontechPack


# ---- an independent decoder, from the reference alone ----------------------------
def parse(raw: bytes) -> tuple[int, int, int, int, bytes]:
    """(VER, ADR, CID1, RTN, INFO) of a frame, checking LENGTH and CHKSUM."""
    assert raw[:1] == b"~" and raw[-1:] == b"\r"
    text = raw[1:-1].decode("ascii")
    body, chk = text[:-4], int(text[-4:], 16)
    assert (sum(body.encode()) + chk) & 0xFFFF == 0, "CHKSUM"
    length = int(body[8:12], 16)
    lenid = length & 0x0FFF
    nibbles = (lenid >> 8) + ((lenid >> 4) & 0xF) + (lenid & 0xF)
    assert ((length >> 12) + nibbles) & 0xF == 0, "LCHKSUM"
    assert lenid == len(body) - 12, "LENID"
    ver, adr, cid1, rtn = (int(body[i : i + 2], 16) for i in range(0, 8, 2))
    return ver, adr, cid1, rtn, bytes.fromhex(body[12:])


def analog_modules(info: bytes) -> list[dict]:
    """0x42 reply INFO: INFOFLAG, command value, then per module (pylontech.md §1.6)."""
    count = info[1] if info[1] < 2 else None
    at, out = 2, []
    while at < len(info):
        m = info[at]
        cells = [struct.unpack(">H", info[at + 1 + 2 * i : at + 3 + 2 * i])[0] for i in range(m)]
        at += 1 + 2 * m
        n = info[at]
        temps = [
            (struct.unpack(">h", info[at + 1 + 2 * i : at + 3 + 2 * i])[0] - 2731) / 10
            for i in range(n)
        ]
        at += 1 + 2 * n
        current, volt, remaining, users, total, cycles = struct.unpack(
            ">hHHBHH", info[at : at + 11]
        )
        at += 11
        if users == 4:
            at += 6
        out.append(
            dict(
                cells=cells,
                temps=temps,
                current_a=current / 10,
                voltage_mv=volt,
                remaining_mah=remaining,
                total_mah=total,
                cycles=cycles,
            )
        )
    assert count is None or len(out) == 1
    return out


# ---- literal vectors of the reference ------------------------------------------------
@pytest.mark.parametrize(
    ("adr", "cmd", "info", "frame"),
    [
        (2, Cmd.ANALOG, None, b"~20024642E00202FD33\r"),
        (1, Cmd.ANALOG, None, b"~20014642E00201FD35\r"),
        (2, Cmd.ANALOG, b"\xff", b"~20024642E002FFFD09\r"),
        (2, Cmd.SYSTEM_PARAMETERS, None, b"~20024647E00202FD2E\r"),
        (2, Cmd.CHARGE_MANAGEMENT, None, b"~20024692E00202FD2E\r"),
        (2, Cmd.SERIAL_NUMBER, None, b"~20024693E00202FD2D\r"),
        (2, Cmd.ALARM, None, b"~20024644E00202FD31\r"),
    ],
)
def test_requests_equal_the_reference_frames(adr, cmd, info, frame):
    assert request(adr, cmd, info) == frame
    parse(frame)  # and the independent decoder accepts them


def test_length_examples_of_the_reference():
    assert [length_field(n) for n in (2, 18, 0x7A, 0)] == [0xE002, 0xD012, 0xF07A, 0x0000]


# ---- the emulator ------------------------------------------------------------------
@pytest.fixture
def pack() -> PylontechPack:
    p = PylontechPack(PackParams(modules=3), 60.0, seed=5)
    p.step(-960.0, 10.0)  # discharging: current < 0
    return p


def test_analog_values_of_one_module_and_of_all(pack):
    emu = PylontechEmulator(pack)
    ver, adr, cid1, rtn, info = parse(emu.answer(request(3, Cmd.ANALOG)))
    assert (ver, adr, cid1, rtn) == (0x20, 3, 0x46, 0)
    assert info[0] == 0x11 and info[1] == 3  # INFOFLAG, command value = ADR
    (mod,) = analog_modules(info)
    want = [round(v * 1000) for v in pack.cell_voltages_v()[1]]
    assert mod["cells"] == want and len(want) == 15
    assert mod["temps"][1] == pytest.approx(pack.temp_degc, abs=0.05)
    assert mod["current_a"] == pytest.approx(pack.current_a / 3, abs=0.05)
    assert mod["current_a"] < 0  # discharging: negative in Pylontech's sign
    assert mod["voltage_mv"] == pytest.approx(sum(want), abs=2)
    assert mod["total_mah"] == 50000 and 25000 < mod["remaining_mah"] < 35000
    _v, _a, _c, _r, every = parse(emu.answer(request(2, Cmd.ANALOG, b"\xff")))
    assert every[1] == 3 and len(analog_modules(every)) == 3


def test_system_parameters_and_charge_management(pack):
    emu = PylontechEmulator(pack)
    *_, rtn, info = parse(emu.answer(request(2, Cmd.SYSTEM_PARAMETERS)))
    assert rtn == 0
    fields = struct.unpack(">HHHHHhHHHHHh", info[1:])
    assert fields[:3] == (3700, 3050, 2900)  # cell limits, mV (pylontech.md §3)
    assert fields[6:9] == (54000, 46000, 44500)  # module limits
    assert (fields[3] - 2731) / 10 == 50.0 and (fields[10] - 2731) / 10 == -10.0
    *_, info = parse(emu.answer(request(2, Cmd.CHARGE_MANAGEMENT)))
    adr, v_chg, v_dis, i_chg, i_dis, status = struct.unpack(">BHHhhB", info)
    assert (adr, v_chg, v_dis) == (2, 53200, 45000)
    charge_a, discharge_a = pack.limits_a()
    # The discharge limit goes negative, as in real replies (§1.9).
    assert i_chg / 10 == pytest.approx(charge_a / 3) and i_dis / 10 == pytest.approx(
        -discharge_a / 3
    )
    assert status & 0x80 and status & 0x40  # charge and discharge enabled at 60 %


def test_serial_alarm_and_error_replies(pack):
    emu = PylontechEmulator(pack)
    *_, info = parse(emu.answer(request(4, Cmd.SERIAL_NUMBER)))
    assert info[0] == 4 and info[1:].decode().strip() == "PPTAP00000000002"
    *_, rtn, info = parse(emu.answer(request(2, Cmd.ALARM)))
    assert rtn == 0 and info[1] == 2 and info[2] == 15  # command value, 15 cell states
    assert all(s == 0 for s in info[3:18])  # every cell normal at 60 %
    good = request(2, Cmd.ANALOG)
    bad = good[:-2] + bytes([good[-2] ^ 1]) + b"\r"  # a damaged checksum character
    assert parse(emu.answer(bad))[3] == 0x02  # RTN: CHKSUM error
    unknown = encode(Frame(0x20, 2, 0x46, 0x99, b"\x02"))  # well formed, no such command
    assert parse(emu.answer(unknown))[3] == 0x04  # RTN: CID2 invalid
    assert emu.answer(request(9, Cmd.ANALOG)) is None  # no module at ADR 9: silence


def test_the_emulator_answers_over_tcp(pack):
    async def go():
        emu = PylontechEmulator(pack)
        port = await emu.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request(2, Cmd.ANALOG))
            return await asyncio.wait_for(reader.readuntil(b"\r"), 5)
        finally:
            writer.close()
            await emu.stop()

    *_, rtn, info = parse(asyncio.run(go()))
    assert rtn == 0 and len(analog_modules(info)[0]["cells"]) == 15
