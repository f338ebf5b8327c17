"""What the local API (edge/local_api.py) asks of a running supervisor: its status, the
commands, a config reload that applies what it can without a restart, and the output
tests of commissioning."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from edge import commissioning
from edge.config import EdgeConfig, load_config
from edge.errors import ConfigError
from edge.planner.status import plan_document
from edge.settings import changed_keys, flatten, is_live
from edge.supervisor import Supervisor

OUTPUT_TESTS = ("diverter", "relay1", "relay2")
MAX_TEST_S = 30.0
MAX_PORT_CHARS = 200  # a device path or tcp://HOST:PORT, quoted in the answers


class SupervisorApi:
    def __init__(self, sup: Supervisor, config_path: Path | None) -> None:
        self.sup = sup
        self.config_path = config_path
        # The file as the supervisor started with it, and as last reloaded: a reload applies
        # the live settings changed since the last one, and names every other setting that
        # differs from the start as needing a restart (the demo runs a copy with its own
        # ports, which stay as they are).
        self.started_cfg: EdgeConfig | None = (
            _load_or_none(config_path) if config_path is not None else None
        )
        self.file_cfg = self.started_cfg
        self._test_task: asyncio.Task[None] | None = None

    async def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request["op"]
        if op == "status":
            return self.status()
        if op == "command":
            return self.command(request)
        if op == "reload":
            return self.reload()
        if op == "test_output":
            return self.test_output(request)
        if op == "scan":
            return await self.scan(request)
        return {"ok": False, "error": f"unknown op {_quoted(op)}"}

    def status(self) -> dict[str, Any]:
        sup = self.sup
        now = sup.clock.now_s()
        devices: dict[str, Any] = {}
        drivers: dict[str, Any] = {"inverter": sup.inverter, "dab": sup.dab, "bms": sup.bms}
        limits = {
            "inverter": sup.cfg.inverter.stale_after_s,
            "dab": sup.cfg.dab.stale_after_s,
            "bms": sup.cfg.battery.bms_stale_after_s,
        }
        for name, drv in drivers.items():
            if drv is None:
                continue
            sample = drv.sample(now)
            age = None if sample is None else round(sample.age_s, 1)
            devices[name] = {
                "status": drv.status,
                "age_s": age,
                "stale": age is None or age > limits[name],
            }
        budgets = {"inverter": _budget(sup.inverter.budget, now)}
        if sup.dab is not None:
            budgets["dab"] = _budget(sup.dab.budget, now)
        if sup.loads is not None:
            budgets["diverter"] = _budget(sup.loads.budget, now)
            devices["loads"] = {
                "status": "testing " + sup.loads.testing if sup.loads.testing else "ok"
            }
        return {
            "state": sup.last_doc,
            "devices": devices,
            "decisions": list(sup.summary.decisions)[-20:],
            "budgets": budgets,
            "config_path": str(self.config_path) if self.config_path else None,
            "restart_pending": sup.restart_pending,
            "inverter_port": sup.cfg.inverter.port,
            "settings": flatten(sup.cfg.model_dump()),  # in force now
            "ticks": sup.summary.ticks,
            "plan": _plan(sup),
        }

    def command(self, request: dict[str, Any]) -> dict[str, Any]:
        key = request.get("key")
        if not isinstance(key, str):
            return {"ok": False, "error": 'a command needs a "key"'}
        doc: dict[str, Any] = {"value": request.get("value", "PRESS"), "sent_s": time.time()}
        if "for_s" in request:
            doc["for_s"] = request["for_s"]
        result = self.sup.command(key, json.dumps(doc).encode(), retained=False)
        return {"ok": bool(result.get("accepted")), "result": result}

    def reload(self) -> dict[str, Any]:
        if self.config_path is None:
            return {"ok": False, "error": "this supervisor was not started from a config file"}
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            return {"ok": False, "error": str(exc)}
        live = [k for k in changed_keys(self.file_cfg or self.sup.cfg, new) if is_live(k)]
        since_start = changed_keys(self.started_cfg or self.sup.cfg, new)
        restart = [k for k in since_start if not is_live(k)]
        self.file_cfg = new
        self.sup.apply_config(new, restart_pending=restart)
        return {"applied": live, "restart_needed": restart}

    def test_output(self, request: dict[str, Any]) -> dict[str, Any]:
        what, seconds = request.get("what"), request.get("seconds", 5.0)
        loads = self.sup.loads
        if loads is None:
            return {"ok": False, "error": "no load outputs are driven by this supervisor"}
        if what not in OUTPUT_TESTS:
            return {
                "ok": False,
                "error": f"what = {_quoted(what)}: allowed {', '.join(OUTPUT_TESTS)}",
            }
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 < seconds <= MAX_TEST_S
        ):
            return {
                "ok": False,
                "error": f"seconds = {_quoted(seconds)}: allowed 0 to {MAX_TEST_S:g}",
            }
        if loads.testing is not None:
            return {"ok": False, "error": f"a test of {loads.testing} is running"}
        loads.start_test(str(what), self.sup.cfg.loads.diverter.element_w)
        self._test_task = asyncio.create_task(self._end_test(float(seconds)))
        return {"testing": what, "seconds": seconds}

    async def scan(self, request: dict[str, Any]) -> dict[str, Any]:
        """Commissioning: what answers on an RS485 port (edge/commissioning.py); a port a
        running driver uses is refused, however it is written (compared where it leads: a
        device's real path, a host's addresses and the port as a number), so the scan never
        talks over the supervisor; a device that does not exist or a host not known is
        refused by name."""
        port = request.get("port")
        ids = request.get("slave_ids", list(range(1, 11)))
        if not isinstance(port, str) or not port:
            return {"ok": False, "error": 'a scan needs a "port"'}
        if len(port) > MAX_PORT_CHARS or not port.isprintable():
            return {
                "ok": False,
                "error": f"a port is printable, at most {MAX_PORT_CHARS} characters",
            }
        if not (
            isinstance(ids, list) and ids and all(isinstance(i, int) and 1 <= i <= 247 for i in ids)
        ):
            return {"ok": False, "error": "slave_ids: a list of addresses from 1 to 247"}
        try:
            target = await commissioning.where(port)
        except commissioning.PortError as exc:
            return {"ok": False, "error": str(exc)}
        for used, driver in self._ports_in_use():
            if (await commissioning.where(used, must_exist=False)).overlaps(target):
                as_used = "" if used == port else f" (as {used})"
                return {
                    "ok": False,
                    "error": f"{port} is in use by the {driver} driver{as_used}; scan another"
                    " port, or stop edge and scan with the supervisor of a spare config",
                }
        found = await commissioning.scan(port, ids)
        return {"found": [f.as_dict() for f in found]}

    def _ports_in_use(self) -> list[tuple[str, str]]:
        """(port, driver) of every port a running driver uses."""
        cfg = self.sup.cfg
        used = [(cfg.inverter.port, "inverter")]
        if self.sup.dab is not None:
            used.append((cfg.dab.port, "DAB board"))
        if cfg.battery.bms_port is not None:
            used.append((cfg.battery.bms_port, "BMS"))
        return used

    async def _end_test(self, seconds: float) -> None:
        assert self.sup.loads is not None
        try:
            await self.sup.clock.sleep(seconds)
        finally:
            self.sup.loads.end_test()


def _plan(sup: Supervisor) -> dict[str, Any] | None:
    """The plan in force slot by slot (the menu's chart; as on MQTT's <base>/plan), or None
    where nothing plans or no plan is kept yet."""
    planner = sup.devices.planner
    if planner is None or planner.figures is None:
        return None
    return plan_document(planner.figures)


def _load_or_none(path: Path) -> EdgeConfig | None:
    try:
        return load_config(path)
    except ConfigError:
        return None


def _quoted(value: Any, max_chars: int = 60) -> str:
    """repr(value) cut to max_chars: a refusal names what was sent without echoing it all."""
    text = repr(value)
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."


def _budget(budget: Any, now_s: float) -> dict[str, int]:
    return {"used": budget.used(now_s), "per_day": budget.per_day}
