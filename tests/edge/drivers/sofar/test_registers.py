"""The register map against literal values worked out from docs/reference/sofar-modbus.md §2."""

from __future__ import annotations

import pytest

from edge.drivers.sofar import registers as reg
from edge.errors import DeviceError


def block(**raw: int) -> list[int]:
    """A plausible live block with the given raw registers (by address) set."""
    regs = reg.encode({"battery_voltage_v": 51.2, "battery_soc_pct": 50})
    for name, value in raw.items():
        regs[int(name[1:], 16) - reg.LIVE_START] = value
    return regs


def test_live_block_is_0x0200_to_0x0245_in_one_request():
    assert reg.LIVE_START == 0x0200
    assert reg.LIVE_COUNT == 70  # 0x0200..0x0245 inclusive
    assert reg.BY_FIELD["battery_soc_pct"].address == 0x0210
    assert reg.BY_FIELD["grid_export_power_w"].address == 0x0212


def test_grid_power_raw_is_export_positive_in_10_w_and_edge_flips_it():
    # 0x0212 = 0xFF9C = -100 raw = -1000 W Sofar (importing) -> +1000 W in edge.
    live = reg.decode(block(x0212=0xFF9C))
    assert live.grid_power_w == 1000
    # 0x0212 = 0x0064 = +100 raw = 1000 W exported -> -1000 W.
    assert reg.decode(block(x0212=0x0064)).grid_power_w == -1000


def test_battery_power_raw_is_charge_positive_and_edge_makes_discharge_positive():
    # 0x020D = 150 raw = 1500 W charging (Sofar) -> battery_power_w = -1500.
    assert reg.decode(block(x020D=150)).battery_power_w == -1500
    # 0x020D = 0xFFCE = -50 raw = 500 W discharging -> +500.
    assert reg.decode(block(x020D=0xFFCE)).battery_power_w == 500


def test_battery_voltage_is_0_01_v_and_soc_is_1_pct():
    live = reg.decode(block(x020E=5120, x0210=87))
    assert live.battery_voltage_v == pytest.approx(51.20)
    assert live.battery_soc_pct == 87


def test_u32_counters_have_the_high_word_at_the_lower_address():
    fields = reg.decode_fields(block(x021C=0x0001, x021D=0x0002))
    assert fields["pv_total_kwh"] == 65538


def test_daily_counters_are_0_01_kwh():
    assert reg.decode(block(x021A=1234)).import_today_kwh == pytest.approx(12.34)


def test_implausible_battery_voltage_is_rejected_naming_the_register():
    # 3000 raw = 30.00 V: not a 48 V pack (decoded with the 0.1 V scale it would be 300 V).
    with pytest.raises(DeviceError, match=r"0x020E \(battery_voltage_v\) = 30"):
        reg.decode(block(x020E=3000))


def test_wrong_block_length_is_rejected():
    with pytest.raises(DeviceError, match="69 registers, expected 70"):
        reg.decode([0] * 69)


def test_encode_round_trips_through_decode():
    values = {
        "grid_export_power_w": -1230.0,
        "battery_charge_power_w": 2500.0,
        "battery_voltage_v": 52.37,
        "battery_soc_pct": 64,
        "load_power_w": 480.0,
        "pv_power_w": 3100.0,
    }
    live = reg.decode(reg.encode(values))
    assert live.grid_power_w == 1230
    assert live.battery_power_w == -2500
    assert live.battery_voltage_v == pytest.approx(52.37)
    assert (live.load_power_w, live.pv_power_w, live.battery_soc_pct) == (480, 3100, 64)


def test_serial_is_14_ascii_characters_high_byte_first():
    regs = reg.encode_serial("SE1ES410SIM001")
    assert regs[0] == (ord("S") << 8) | ord("E")
    assert reg.decode_serial(regs) == "SE1ES410SIM001"
