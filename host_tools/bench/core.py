"""Benchmark of the C core: instructions per inner step under callgrind, batch
simulation speed, and step-response figures on the averaged plant.

- instructions_per_step: valgrind --tool=callgrind counts the instructions of
  edge_board_inner (fast protection + inner PI on the eq. 2 feed-forward; in V_BUS mode the
  outer voltage loop every 10th step) in bench/c/inner_step.c built with gcc -O2 for
  x86-64, minus the benchmark loop's own count (the same loop calling an empty function),
  per step, worst of current and bus-voltage mode. Counts, not seconds: repeatable.
- steps_per_second: one board and its string stepped inside C (edge_sim_run) through
  cffi, best of three batches.
- current step 0 -> 5 A: settling to +-2 % and overshoot. Load step 50 % -> 100 % (37.5 ->
  75 W) on the 24 V bus in V_BUS mode, no front end: peak deviation, and recovery = time
  until the bus stays within +-0.5 % of 24 V.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from edge.ccore import Command, Sim

ROOT = Path(__file__).resolve().parents[2]
BENCH_C = Path(__file__).resolve().parent / "c" / "inner_step.c"
CFLAGS = ["-O2", "-std=c99", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wextra", "-Werror"]

TARGETS = {
    "instructions_per_step": ("<=", 150.0),
    "steps_per_second": (">=", 20e6),
    "current_step_settling_ms": ("<=", 2.0),
    "current_step_overshoot_pct": ("<=", 5.0),
    "load_step_deviation_pct": ("<=", 3.0),
    "load_step_recovery_ms": ("<=", 5.0),
}


def build(out_dir: Path) -> Path:
    exe = out_dir / "inner_step"
    sources = sorted(str(p) for p in (ROOT / "firmware_c" / "src").glob("*.c"))
    subprocess.run(
        [
            "gcc",
            *CFLAGS,
            f"-I{ROOT / 'firmware_c' / 'include'}",
            str(BENCH_C),
            *sources,
            "-o",
            str(exe),
        ],
        check=True,
    )
    return exe


def callgrind_count(exe: Path, mode: str, function: str, n: int, out_dir: Path) -> int:
    out = out_dir / f"callgrind.{mode}.{function}"
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "--collect-atstart=no",
            f"--toggle-collect={function}",
            str(exe),
            mode,
            str(n),
        ],
        check=True,
        capture_output=True,
    )
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {out}")


def instruction_counts(n: int) -> dict[str, float]:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed for the instruction count: apt-get install valgrind")
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        d = Path(tmp)
        exe = build(d)
        res: dict[str, float] = {}
        for mode in ("current", "vbus"):
            loop = callgrind_count(exe, mode, "empty_steps", n, d) / n
            inner = callgrind_count(exe, mode, "inner_steps", n, d) / n
            board = callgrind_count(exe, mode, "board_steps", n, d) / n
            res[f"instructions_per_step_{mode}"] = round(inner - loop, 1)
            res[f"instructions_per_step_{mode}_gross"] = round(inner, 1)
            res[f"instructions_per_board_step_{mode}"] = round(board - loop, 1)
            res["benchmark_loop_instructions"] = round(loop, 1)
        res["instructions_per_step"] = max(
            res["instructions_per_step_current"], res["instructions_per_step_vbus"]
        )
        return res


def steps_per_second(n: int) -> dict[str, float]:
    best = {}
    for units in (1, 2):
        sim = Sim(n_units=units)
        sim.units[0].params.board.prot.watchdog_enabled = 0
        sim.units[0].command(Command.CURRENT, 5.0)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            sim.run(n)
            times.append(time.perf_counter() - t0)
        best[units] = n / min(times)
    return {"steps_per_second": round(best[1]), "steps_per_second_two_boards": round(best[2])}


def step_responses() -> dict[str, float]:
    sim = Sim(n_units=1)
    sim.params.unit[0].board.prot.watchdog_enabled = 0
    sim.units[0].command(Command.CURRENT, 5.0)
    i, _ = sim.run_traced(2000)
    outside = [k for k, x in enumerate(i) if abs(x - 5.0) > 0.02 * 5.0]
    settling_ms = (outside[-1] + 1 if outside else 0) * sim.dt_s * 1e3

    def no_front_end(p: Any) -> None:
        p.bus.r_src_ohm = 0.0

    bus = Sim(n_units=1, configure=no_front_end)
    bus.params.unit[0].board.prot.watchdog_enabled = 0
    bus.set_bus_load_w(37.5)
    bus.units[0].command(Command.V_BUS, 8.0, 24.0)
    bus.run_s(0.05)
    bus.set_bus_load_w(75.0)
    _, v = bus.run_traced(2000)
    out_v = [k for k, x in enumerate(v) if abs(x - 24.0) > 0.005 * 24.0]
    return {
        "current_step_settling_ms": round(settling_ms, 3),
        "current_step_overshoot_pct": round(max(0.0, (max(i) - 5.0) / 5.0 * 100), 3),
        "load_step_deviation_pct": round(max(abs(x - 24.0) for x in v) / 24.0 * 100, 3),
        "load_step_recovery_ms": round((out_v[-1] + 1 if out_v else 0) * bus.dt_s * 1e3, 3),
    }


def verdict(key: str, value: float) -> str:
    op, limit = TARGETS[key]
    ok = value <= limit if op == "<=" else value >= limit
    return f"{'meets' if ok else 'MISSES'} {op} {limit:g}"


def main(json_path: Path | None, quick: bool = False) -> int:
    results: dict[str, Any] = {}
    results.update(instruction_counts(20_000 if quick else 200_000))
    results.update(steps_per_second(1_000_000 if quick else 10_000_000))
    results.update(step_responses())
    results["targets"] = {k: f"{op} {v:g}" for k, (op, v) in TARGETS.items()}
    width = max(len(k) for k in results)
    for key, value in results.items():
        if key == "targets":
            continue
        note = f"  ({verdict(key, value)})" if key in TARGETS else ""
        print(f"{key:<{width}}  {value:>14,}{note}")
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"wrote {json_path}")
    return 0
