"""The emulator's registers, read with pymodbus, equal values worked out by hand from
docs/reference/sofar-modbus.md (scales, signs, word order)."""

from __future__ import annotations

import asyncio

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerType

from edge.drivers.sofar import registers as reg
from edge.drivers.sofar.sim import SofarEmulator
from edge.sim.house import House, HouseParams


def test_live_settings_and_info_registers_match_the_reference():
    house = House(HouseParams(), start_s=12 * 3600.0)
    s = house.state
    # A state chosen by hand: importing 1234 W, charging 1500 W, SOC 57 %, 2 kWh imported.
    s.grid_w, s.battery_w, s.soc_pct, s.pv_w = 1234.0, -1500.0, 57.0, 3100.0
    s.load_w, s.dab_w, s.heater_w, s.heat_pump_w = 400.0, 0.0, 0.0, 0.0
    s.energy_wh["import"] = 2000.0
    s.energy_wh["pv"] = 70_600.0

    async def read():
        emu = SofarEmulator(house)
        port = await emu.start()
        c = AsyncModbusTcpClient("127.0.0.1", port=port, framer=FramerType.RTU, timeout=2)
        await c.connect()
        try:
            live = (await c.read_holding_registers(0x0200, count=70, device_id=1)).registers
            settings = (await c.read_input_registers(0x10B0, count=13, device_id=1)).registers
            info = (await c.read_input_registers(0x2001, count=11, device_id=1)).registers
            return live, settings, info
        finally:
            c.close()
            await emu.stop()

    live, settings, info = asyncio.run(read())
    at = lambda addr: live[addr - 0x0200]  # noqa: E731
    assert at(0x0212) == 0xFF85  # feed-in: -1234 W export = -123.4 x 10 W -> -123 (two's c.)
    assert at(0x020D) == 150  # battery: 1500 W charging, + = charge, 10 W units
    assert at(0x0210) == 57  # SOC, 1 %
    assert at(0x0213) == 40  # load 400 W in 10 W units
    assert at(0x0215) == 310  # PV 3100 W
    assert at(0x021A) == 200  # imported today: 2.00 kWh in 0.01 kWh
    assert (at(0x021C), at(0x021D)) == (0, 71)  # total generation 70.6 kWh in 1 kWh, hi/lo
    assert at(0x0200) == 2  # running state: charging
    assert 4000 < at(0x020E) < 6000  # battery voltage in 0.01 V: a 48 V pack
    # Settings (FC 0x04): PYLON, 100 Ah, 53.2 V -> 532 (0.1 V), 50 A -> 5000 (0.01 A)...
    assert settings[:5] == [1, 100, 0, 532, 5000]
    assert settings[5:9] == [540, 460, 5000, 445]
    assert settings[11:] == [4500, 5350]  # empty / full battery voltage in 0.01 V
    assert reg.BATTERY_TYPES[settings[0]] == "PYLON"
    assert reg.decode_serial(info[:7]) == "SE1ES410SIM001"
    assert reg.decode_serial(info[7:9]) == "V140" and reg.decode_serial(info[9:]) == "V100"
