"""EMHASS beside our planner (bench control --emhass): the open-source planner a Home
Assistant user would pick, fed the same forecasts and prices as ours, its battery
schedule executed by our core in the same simulated house. docs/bench-emhass.md says how
EMHASS is configured and why.

EMHASS is heavy (cvxpy, skforecast, PyTables), so it is never a dependency of edge or of
CI's tests: the benchmark makes a virtual environment of its own (VENV, EMHASS_VERSION
pinned) on first use and runs emhass_worker.py there, one long-lived process per run,
one JSON line per re-plan.

Each re-plan (every planned.REPLAN_S, as ours): EmhassController is a PlannedController
that asks EMHASS instead of edge.planner. The request is built from the very PlanInputs
our planner is given at that moment (inputs_at: the PV forecast, the load forecast from
the house's past, the published prices, the SOC measured now), with the heat pump's
expected draw added to the load, since EMHASS plans the battery only. Its schedule
becomes the slots our core accepts (slot_actions), as a user would run it on this
inverter: forced charge from the grid, forced discharge to the grid, discharge allowed,
or no discharge.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

import numpy as np

from edge.core import PlannedSlot
from edge.core.model import PlanBattery
from edge.errors import EdgeError
from edge.planner.actions import ACTION_W, SOC_MARGIN_PCT
from edge.planner.model import HouseModel, PlanInputs
from edge.sim.house import House
from host_tools.bench.control.planned import PlannedController
from host_tools.bench.control.scenarios import Scenario

EMHASS_VERSION = "0.18.7"
ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / "build" / "emhass-venv"
WORKER = Path(__file__).with_name("emhass_worker.py")
IDLE_W = 10.0  # a planned battery power under this is idle (EMHASS zeroes solver noise)
TOLERANCE_W = 1.0


class EmhassError(EdgeError):
    """EMHASS could not be installed, started or asked."""


def _tail(path: Path, lines: int, width: int = 200) -> str:
    """The last lines of a log, each cut to width characters, for a bounded message."""
    text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    return " | ".join(line[:width] for line in text)


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed_version(venv: Path = VENV) -> str | None:
    """The emhass version in the venv, or None (no venv, no emhass)."""
    py = _python(venv)
    if not py.exists():
        return None
    done = subprocess.run(
        [str(py), "-I", "-c", "import importlib.metadata as m; print(m.version('emhass'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_venv(
    venv: Path = VENV, version: str = EMHASS_VERSION, say: Any = print, maker: str = sys.executable
) -> Path:
    """The venv's python with emhass==version in it: reused when present, else made
    (`maker -m venv`, then pip install). Raises EmhassError naming what failed."""
    have = installed_version(venv)
    if have == version:
        say(f"EMHASS {version}: reusing {venv}")
        return _python(venv)
    log = venv.parent / "emhass-venv-install.log"
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = []
    if not _python(venv).exists():
        say(f"EMHASS: creating the virtual environment {venv}")
        steps.append([maker, "-m", "venv", str(venv)])
    say(
        f"EMHASS: installing emhass=={version} into {venv} (was {have or 'absent'}; its"
        f" dependencies take a few minutes and about 1 GB; pip's output goes to {log})"
    )
    steps.append([str(_python(venv)), "-m", "pip", "install", f"emhass=={version}"])
    with log.open("w") as out:
        for cmd in steps:
            try:
                code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
            except OSError as exc:
                raise EmhassError(f"EMHASS install failed: cannot run {cmd[0]}: {exc}") from exc
            if code != 0:
                raise EmhassError(
                    f"EMHASS install failed: {' '.join(cmd)} exited {code};"
                    f" the last lines of {log}: {_tail(log, 5)}"
                )
    have = installed_version(venv)
    if have != version:
        raise EmhassError(f"EMHASS install: {venv} has emhass {have}, not {version}")
    say(f"EMHASS {version}: installed in {venv}")
    return _python(venv)


class Worker:
    """emhass_worker.py in the venv: one process, one JSON line each way per re-plan.
    Its stderr (EMHASS's and the solver's own output) goes to a log file."""

    def __init__(self, python: Path, log: Path | None = None) -> None:
        self.log_path = log or VENV.parent / "emhass-worker.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[str] = self.log_path.open("w")
        # -I: the worker's folder must not go on sys.path, or `import emhass` would
        # find this module instead of the package.
        self.proc = subprocess.Popen(
            [str(python), "-I", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        hello = self._read()
        self.version = str(hello.get("emhass", "?"))

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            try:
                code: int | None = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                code = None
            raise EmhassError(
                f"the EMHASS worker stopped (exit {code}); the last lines of"
                f" {self.log_path}: {_tail(self.log_path, 3)}"
            )
        answer: dict[str, Any] = json.loads(line)
        return answer

    def plan(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def heat_pump_w(house: HouseModel, t_out_degc: tuple[float, ...]) -> list[float]:
    """The heat pump's expected electrical draw per slot (W): the heat that holds the
    house at its comfort floor against the forecast outside temperature (UA x (floor -
    T_out) less the internal gain, at most its output), at the COP of that temperature."""
    out = []
    for t in t_out_degc:
        heat = house.ua_w_per_k * (house.floor_degc - t) - house.internal_gain_w
        out.append(max(0.0, min(house.heat_w, heat)) / house.cop(t))
    return out


def request(inp: PlanInputs) -> dict[str, Any]:
    """EMHASS's request from our planner's inputs at the same moment (same forecasts,
    same prices, same measured SOC): powers in W, prices in £/kWh, SOC in %."""
    fc, bat = inp.forecast, inp.battery
    hp = heat_pump_w(inp.house, fc.t_out_degc) if inp.house is not None else [0.0] * fc.n
    return {
        "t0_s": fc.t0_s,
        "slot_s": fc.slot_s,
        "pv_w": [max(0.0, w) for w in fc.pv_w],
        "load_w": [max(0.0, w) + h for w, h in zip(fc.load_w, hp, strict=True)],
        "import_gbp_per_kwh": list(inp.import_gbp_per_kwh),
        "export_gbp_per_kwh": list(inp.export_gbp_per_kwh),
        "soc_pct": inp.state.soc_pct,
        "battery": {
            "capacity_wh": bat.capacity_wh,
            "max_charge_w": bat.max_charge_w,
            "max_discharge_w": bat.max_discharge_w,
            "efficiency": bat.efficiency,
            "reserve_soc_pct": bat.reserve_soc_pct,
            "max_soc_pct": bat.max_soc_pct,
            "wear_gbp_per_kwh": bat.wear_gbp_per_kwh,
        },
    }


def problems(req: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    """Why EMHASS's answer cannot be used (empty: it can): an error, a status other
    than optimal, series of the wrong length, not finite, or outside the limits."""
    if "error" in answer:
        return [f"EMHASS: {answer['error']}"]
    out = []
    if answer.get("status") != "Optimal":
        out.append(f"status {answer.get('status')!r}")
    n, bat = len(req["pv_w"]), req["battery"]
    for key in ("battery_w", "soc_pct", "grid_w"):
        xs = answer.get(key)
        if not isinstance(xs, list) or len(xs) != n:
            return [*out, f"{key}: not {n} values"]
        if not all(isinstance(x, int | float) and math.isfinite(x) for x in xs):
            out.append(f"{key}: not finite")
    if out:
        return out
    b = answer["battery_w"]
    if max(b) > bat["max_discharge_w"] + TOLERANCE_W or -min(b) > bat["max_charge_w"] + TOLERANCE_W:
        out.append(f"battery from {min(b):.0f} to {max(b):.0f} W, past its limits")
    if min(answer["soc_pct"]) < -0.01 or max(answer["soc_pct"]) > 100.01:
        out.append(f"SOC from {min(answer['soc_pct']):.1f} to {max(answer['soc_pct']):.1f} %")
    return out


def slot_action(
    req: dict[str, Any], answer: dict[str, Any], i: int, made_s: float, idle_self_use: bool = False
) -> PlannedSlot:
    """Slot i of EMHASS's schedule as the slot our core accepts (battery + = discharge,
    grid + = import; the forecast's surplus is PV less the load EMHASS was given):
    - it charges beyond the surplus, by over ACTION_W, importing: GRID_CHARGE at its
      power up to its SOC at the slot's end;
    - it discharges beyond the deficit, by over ACTION_W, exporting: EXPORT at its
      power down to its end SOC;
    - it discharges (over IDLE_W): SELF_CONSUMPTION, discharge allowed down to its end
      SOC less SOC_MARGIN_PCT (as our planner's slots are);
    - it charges from the surplus or is idle: HOLD at its end SOC (no discharge; the
      surplus still charges it, as the inverter's self-use does), or with idle_self_use
      (a user who forces only charge and export) plain SELF_CONSUMPTION."""
    slot_s = float(req["slot_s"])
    start = float(req["t0_s"]) + i * slot_s
    surplus_w = req["pv_w"][i] - req["load_w"][i]
    b, grid, soc = answer["battery_w"][i], answer["grid_w"][i], answer["soc_pct"][i]
    charge, discharge = max(0.0, -b), max(0.0, b)
    if charge > max(0.0, surplus_w) + ACTION_W and grid > ACTION_W:
        action, power, target = PlanBattery.GRID_CHARGE, charge, soc
    elif discharge > max(0.0, -surplus_w) + ACTION_W and grid < -ACTION_W:
        action, power, target = PlanBattery.EXPORT, discharge, soc
    elif discharge > IDLE_W:
        action, power, target = PlanBattery.SELF_CONSUMPTION, 0.0, soc - SOC_MARGIN_PCT
    elif idle_self_use:
        action, power, target = PlanBattery.SELF_CONSUMPTION, 0.0, 0.0
    else:
        action, power, target = PlanBattery.HOLD, 0.0, soc
    return PlannedSlot(
        start_s=start,
        end_s=start + slot_s,
        made_s=made_s,
        battery=action,
        power_w=power,
        target_soc_pct=max(0.0, min(100.0, target)),
    )


def slot_actions(
    req: dict[str, Any], answer: dict[str, Any], made_s: float, idle_self_use: bool = False
) -> tuple[PlannedSlot, ...]:
    n = len(req["pv_w"])
    return tuple(slot_action(req, answer, i, made_s, idle_self_use) for i in range(n))


class EmhassController(PlannedController):
    """Our planned controller with EMHASS in place of edge.planner: the same clock, the
    same history and forecasts, the same inputs; EMHASS's schedule in force. The tank
    and the heat pump are left to the core's own rules (EMHASS plans the battery)."""

    def __init__(
        self,
        sc: Scenario,
        tariff: str,
        worker: Worker,
        keep: bool = False,
        config: dict[str, Any] | None = None,
        idle_self_use: bool = False,
    ) -> None:
        """config: changes to the worker's EMHASS configuration; idle_self_use: idle
        slots run as self-consumption, not held (both for sensitivity runs)."""
        super().__init__(sc, tariff)
        self.worker = worker
        self.config = dict(config or {})
        self.idle_self_use = idle_self_use
        self.round_trip_ms: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.worker_rss_mb = 0.0
        self.keep = keep
        self.requests: list[dict[str, Any]] = []
        self.made_s: list[float] = []  # when each kept request was made

    def replan(self, house: House, t_s: float) -> None:
        inp = self.inputs_at(house, t_s)
        req = request(inp)
        if self.config:
            req["config"] = self.config
        if self.keep:
            self.requests.append(req)
            self.made_s.append(t_s)
        start = time.perf_counter()
        answer = self.worker.plan(req)
        self.round_trip_ms.append(1000.0 * (time.perf_counter() - start))
        self.statuses[str(answer.get("status"))] += 1
        self.stats.slots.append(inp.forecast.n)
        if "solve_ms" in answer:
            self.stats.solve_ms.append(float(answer["solve_ms"]))
        self.worker_rss_mb = max(self.worker_rss_mb, float(answer.get("peak_rss_mb", 0.0)))
        why = problems(req, answer)
        if why:
            self.stats.failed += 1
            self.stats.dropped.append("; ".join(why))
            return  # the last schedule goes on until it is stale
        self.slots = slot_actions(req, answer, t_s, self.idle_self_use)

    def summary(self) -> dict[str, Any]:
        rt = np.array(self.round_trip_ms) if self.round_trip_ms else np.zeros(1)
        return {
            **self.stats.summary(),
            "round_trip_ms_median": round(float(np.median(rt)), 2),
            "worker_peak_rss_mb": round(self.worker_rss_mb, 1),
            "statuses": dict(self.statuses),
            "first_problem": self.stats.dropped[0] if self.stats.dropped else "",
        }


class Session:
    """One EMHASS worker for a whole benchmark run (compare.compare's `emhass`)."""

    def __init__(self, say: Any = print, worker: Any = None) -> None:
        """worker: the EMHASS worker to use (default: start one, installing EMHASS first
        if needed)."""
        if worker is None:
            worker = Worker(ensure_venv(say=say))
            say(f"EMHASS {worker.version}: worker started ({worker.log_path})")
        self.worker = worker

    def controller(self, sc: Scenario, tariff: str) -> EmhassController:
        return EmhassController(sc, tariff, self.worker)

    def result(
        self,
        ctl: EmhassController,
        objective: list[float],
        leak_wh: float,
        planned: np.ndarray,
        best: np.ndarray,
    ) -> dict[str, Any]:
        """EMHASS's fields of compare's result for one tariff (£, %)."""
        e = np.array(objective)
        total, opt = float(e.sum()), float(best.sum())
        return {
            "emhass": round(total, 3),
            "emhass_gap_pct": round(100.0 * (total - opt) / abs(opt), 1) if opt else 0.0,
            "emhass_leak_wh": round(leak_wh, 2),
            "planned_vs_emhass_gbp": round(float(planned.sum()) - total, 3),
            "emhass_worst_day_vs_planned_gbp": round(float((planned - e).max()), 3),
            "emhass_planner": ctl.summary(),
        }

    def close(self) -> None:
        self.worker.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
