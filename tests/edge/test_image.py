"""The process image: the BMS's DC amps as AC-side watts (worked by hand), and the image
frozen from real drivers polling the emulators over sockets."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from edge.clock import ScaledClock
from edge.config import DabConfig, InverterConfig
from edge.core.model import Requests, Sample
from edge.drivers.dab.driver import DabDriver
from edge.drivers.dab.sim import DabBoardEmulator
from edge.drivers.loads.port import LoadsDriver
from edge.drivers.loads.sim import EmulatedLoads
from edge.drivers.pylontech.driver import PylontechDriver
from edge.drivers.pylontech.replies import BmsLimits
from edge.drivers.pylontech.sim import PylontechEmulator
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.sim import SofarEmulator
from edge.image import bms_as_power, take_image
from edge.sim.house import House, HouseParams
from edge.tasks import cancel_and_wait
from tests.asyncwait import wait_until

NOON_S = 12 * 3600.0


def test_charge_amps_become_the_ac_power_that_supplies_them_and_the_losses():
    got = bms_as_power(Sample(BmsLimits(50.0, 50.0), 2.0), 52.0)
    assert got is not None
    # 50 A x 52 V = 2600 W into the pack; the AC side supplies 2600 / 0.95 = 2736.84 W.
    assert got.value.charge_limit_w == pytest.approx(2736.842, abs=1e-3)
    # 2600 W out of the pack; the AC side receives 2600 x 0.95 = 2470 W.
    assert got.value.discharge_limit_w == pytest.approx(2470.0)
    assert got.age_s == 2.0  # the BMS reading's age, not the inverter's


def test_each_direction_uses_its_own_limit():
    got = bms_as_power(Sample(BmsLimits(0.0, 20.0), 0.0), 50.0)
    assert got is not None
    # A full pack: no charge; 20 A x 50 V x 0.95 = 950 W of discharge.
    assert (got.value.charge_limit_w, got.value.discharge_limit_w) == (0.0, pytest.approx(950.0))


def test_no_power_without_both_the_limits_and_the_pack_voltage():
    assert bms_as_power(Sample(BmsLimits(50.0, 50.0), 0.0), None) is None
    assert bms_as_power(None, 52.0) is None


@contextlib.asynccontextmanager
async def polling(*drivers):
    tasks = [asyncio.create_task(d.run()) for d in drivers]
    try:
        yield
    finally:
        await cancel_and_wait(tasks)


def test_the_image_is_every_devices_latest_reading_at_one_moment():
    async def go():
        house = House(HouseParams(load_noise_w=0.0), start_s=NOON_S)
        inverter_emu, bms_emu = SofarEmulator(house), PylontechEmulator(house.pack)
        board = DabBoardEmulator()
        inv_port, bms_port, dab_port = (
            await inverter_emu.start(),
            await bms_emu.start(),
            await board.start(),
        )
        clock = ScaledClock(start_s=NOON_S, speed=1.0)
        inverter = SofarDriver(
            InverterConfig(port=f"tcp://127.0.0.1:{inv_port}"), clock, poll_s=0.05
        )
        bms = PylontechDriver(f"tcp://127.0.0.1:{bms_port}", 2, clock, poll_s=0.05)
        dab = DabDriver(
            DabConfig(port=f"tcp://127.0.0.1:{dab_port}", bus_settle_s=0.0), clock, poll_s=0.05
        )
        loads = LoadsDriver(EmulatedLoads(house), deadband_w=50.0)
        requests = Requests(force_charge_w=1000.0, force_charge_until_s=NOON_S + 600)
        try:
            async with polling(inverter, bms, dab):
                await wait_until(
                    lambda: (
                        all(d.sample(clock.now_s()) is not None for d in (inverter, bms, dab))
                        and inverter.last_live is not None
                    )
                )
                now = clock.now_s()
                img = take_image(now, inverter, dab, loads, bms, requests)
                assert img.t_s == now
                assert img.inverter == inverter.sample(now)
                assert img.dab == dab.sample(now)
                assert img.loads == loads.sample(now)
                assert img.requests is requests
                # The BMS at 50 % SOC allows its rating both ways: 2 modules x 50 A.
                limits = bms.sample(now)
                assert (limits.value.charge_limit_a, limits.value.discharge_limit_a) == (
                    100.0,
                    100.0,
                )
                # ...converted at the pack voltage of the inverter's last full read.
                v = inverter.last_live.battery_voltage_v
                assert 45.0 < v < 56.0
                assert img.bms.value.charge_limit_w == pytest.approx(100.0 * v / 0.95)
                assert img.bms.value.discharge_limit_w == pytest.approx(100.0 * v * 0.95)
                assert img.bms.age_s == limits.age_s

                # Devices a site does not have are absent from the image.
                alone = take_image(now, inverter, None, None, None, Requests())
                assert (alone.dab, alone.loads, alone.bms) == (None, None, None)
                assert alone.inverter == inverter.sample(now)
        finally:
            await inverter.close(restore_self_use=False)
            await dab.close()
            bms.close()
            await inverter_emu.stop()
            await bms_emu.stop()
            await board.stop()

    asyncio.run(go())


def test_before_the_inverter_answers_the_bms_limits_have_no_power():
    async def go():
        house = House(HouseParams(), start_s=NOON_S)
        bms_emu = PylontechEmulator(house.pack)
        port = await bms_emu.start()
        clock = ScaledClock(start_s=NOON_S, speed=1.0)
        bms = PylontechDriver(f"tcp://127.0.0.1:{port}", 2, clock, poll_s=0.05)
        # An inverter driver that has not read anything yet (never started).
        silent = SofarDriver(InverterConfig(port="tcp://127.0.0.1:9"), clock)
        try:
            async with polling(bms):
                await wait_until(lambda: bms.sample(clock.now_s()) is not None)
                img = take_image(clock.now_s(), silent, None, None, bms, Requests())
                assert img.inverter is None
                assert img.bms is None  # limits known, but no pack voltage to convert them at
        finally:
            silent.close_link()
            bms.close()
            await bms_emu.stop()

    asyncio.run(go())
