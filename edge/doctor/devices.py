"""The doctor's checks of what edge talks to: the inverter and the BMS (read-only; the
ME3000SP's passive mode only on request), and the MQTT broker's login and TLS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import threading

from edge.clock import ScaledClock
from edge.config import EdgeConfig
from edge.core.model import InverterCommand, InverterMode
from edge.doctor.report import Check, Level, passed, skipped
from edge.drivers.pylontech.driver import PylontechDriver
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.g3_driver import SofarG3Driver
from edge.errors import ConfigError

DEVICE_TIMEOUT_S = 10.0
BROKER_TIMEOUT_S = 5.0


# ---- the devices (read-only) ---------------------------------------------------------
async def check_inverter(cfg: EdgeConfig, probe_passive: bool) -> list[Check]:
    clock = ScaledClock()
    family = SofarG3Driver if cfg.inverter.family == "sofar_hyd_ep" else SofarDriver
    driver = family(cfg.inverter, clock)
    name = f"inverter at {cfg.inverter.port}"
    fix = (
        "check A/B wiring and the 120 ohm termination, inverter.baud and inverter.slave_id"
        " (edge menu's commissioning scans for them)"
    )
    try:
        # The driver's own connect (with its retries), then two reads; not its poll, which
        # sends the heartbeat (0x49).
        await asyncio.wait_for(driver._connect(), DEVICE_TIMEOUT_S)
        await asyncio.wait_for(driver.identify(), DEVICE_TIMEOUT_S)
        live = await asyncio.wait_for(driver.read_live(), DEVICE_TIMEOUT_S)
    except Exception as exc:  # any failure is the finding: the row says which
        driver.close_link()
        why = str(exc) or (driver.status if driver.status != "connecting" else type(exc).__name__)
        return [Check(name, Level.FAIL, f"no answer: {why}"[:200], fix)]
    rows = [
        passed(
            name, f"serial {driver.serial}, {live.running_state}, SOC {live.battery_soc_pct:.0f} %"
        )
    ]
    rows.append(await _passive(driver, probe_passive))
    driver.close_link()
    return rows


async def _passive(driver: SofarDriver, probe: bool) -> Check:
    name = "inverter passive mode"
    if isinstance(driver, SofarG3Driver):
        return skipped(name, "HYD-EP: edge selects passive mode itself (register 0x1110)")
    if not probe:
        return skipped(
            name,
            "ME3000SP: its registers do not show the work mode",
            "`edge doctor --probe-passive` asks with the self-use command edge sends at exit",
        )
    try:
        _sent, refused = await asyncio.wait_for(
            driver.send(InverterCommand(InverterMode.SELF_USE)), DEVICE_TIMEOUT_S
        )
    except Exception as exc:
        return Check(name, Level.FAIL, f"no answer to 0x42: {exc}"[:200], "see the inverter row")
    if refused is None:
        return passed(name, "enabled: the self-use command was accepted")
    if "invalid_work_mode" in refused:
        return Check(
            name,
            Level.FAIL,
            f"not selected: {refused}",
            "on the inverter's LCD select passive mode (energy storage mode: passive)",
        )
    return Check(name, Level.WARN, f"refused: {refused}", "see docs/reference/sofar-modbus.md")


async def check_bms(cfg: EdgeConfig) -> Check:
    port = cfg.battery.bms_port
    assert port is not None
    bms = PylontechDriver(port, cfg.battery.bms_modules, ScaledClock(), baud=cfg.battery.bms_baud)
    name = f"BMS at {port}"
    # Its poll only reads (serial number, charge management, analog values, alarms).
    task = asyncio.create_task(bms.run())
    try:
        deadline = asyncio.get_running_loop().time() + DEVICE_TIMEOUT_S
        while bms.sample(0.0) is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        bms.close()
    if bms.sample(0.0) is None:
        return Check(
            name,
            Level.FAIL,
            f"no answer: {bms.status}"[:200],
            "check the RS485 pair on the master module's RS485 port, battery.bms_baud (DIP"
            " switch 1) and battery.bms_modules",
        )
    s = bms.sample(0.0)
    limits = ""
    if s is not None:
        v = s.value
        limits = f", limits {v.charge_limit_a:.0f} A charge, {v.discharge_limit_a:.0f} A discharge"
    return passed(name, f"master module {bms.serial}{limits}")


# ---- the broker -------------------------------------------------------------------------
def check_broker(cfg: EdgeConfig) -> Check:
    from edge.mqtt.client import diagnose, make_client

    m = cfg.mqtt
    name = f"broker {m.host}:{m.port}"
    if not m.enabled:
        return skipped(name, "mqtt.enabled = false")
    try:
        client = make_client(m, client_id=f"edge-doctor-{os.getpid()}")
    except ConfigError as exc:
        return Check(name, Level.FAIL, str(exc), "correct the files in [mqtt]")
    answer: list[str] = []
    done = threading.Event()

    def on_connect(_c: object, _u: object, _f: object, rc: object, _p: object = None) -> None:
        answer.append(str(rc))
        done.set()

    client.on_connect = on_connect
    try:
        client.connect(m.host, m.port, keepalive=10)
    except (OSError, ssl.SSLError) as exc:
        return Check(name, Level.FAIL, f"{diagnose(m)} ({exc})"[:200], _broker_fix(m.tls))
    client.loop_start()
    try:
        if not done.wait(BROKER_TIMEOUT_S):
            return Check(name, Level.FAIL, diagnose(m), _broker_fix(m.tls))
    finally:
        client.disconnect()
        client.loop_stop()
    if answer[0] != "Success":
        refused = answer[0]
        who = f"user {m.username!r}" if m.username else "no user name"
        return Check(
            name,
            Level.FAIL,
            f"refused: {refused} ({who})",
            "set mqtt.username and mqtt.password to a broker user (Home Assistant: the"
            " Mosquitto add-on's logins, or a Home Assistant user)",
        )
    how = "TLS" if m.tls else "plain TCP"
    return passed(name, f"connected over {how}" + (f" as {m.username}" if m.username else ""))


def _broker_fix(tls: bool) -> str:
    if tls:
        return (
            "check mqtt.port (8883 for TLS) and mqtt.ca_file (the CA of the broker's certificate)"
        )
    return "check mqtt.host and mqtt.port, and that the broker runs (mosquitto on 1883)"
