"""Benchmark of the firmware: instructions per control step on a Cortex-M4F and
the image sizes.

- instructions_per_step: board/qemu-mps2-an386/bench_main.c under qemu-system-arm with
  -icount shift=0, where every instruction advances the virtual clock by 1 ns and SysTick
  counts that clock; a loop of known length calibrates instructions per SysTick tick
  (docs/reference/firmware-targets.md §4.3). It times edge_board_inner (fast protection
  + inner PI on the eq. 2 feed-forward) over recorded samples, minus the same loop calling
  an empty function. QEMU counts instructions, not cycles (firmware-targets.md: expect
  1.2-1.5 cycles per instruction on a real M4F).
- flash_bytes, ram_bytes: arm-none-eabi-size of the real board's image (g474-dab):
  flash = text + data, RAM = data + bss (the stack comes on top). The QEMU image, which
  also carries the plant model and the trace buffers of the tests, is reported beside it.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from host_tools import firmware

TARGETS = {
    "instructions_per_step": ("<=", 425.0),
    "flash_bytes": ("<=", 64 * 1024),
    "ram_bytes": ("<=", 16 * 1024),
}


def measure_instructions(out_dir: Path) -> dict[str, float]:
    elf = firmware.build("qemu-mps2-an386", out_dir, "bench")
    cmd = firmware.qemu_command("qemu-mps2-an386", elf, icount_shift=0)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    m = re.search(
        r"BENCH steps=(\d+) inner_ticks=(\d+) empty_ticks=(\d+) "
        r"cal_instructions=(\d+) cal_ticks=(\d+)",
        proc.stderr,
    )
    if proc.returncode != 0 or m is None:
        raise RuntimeError(
            f"the benchmark firmware did not report (exit {proc.returncode}):\n"
            f"{proc.stderr[-2000:]}"
        )
    steps, inner, empty, cal_i, cal_t = (int(x) for x in m.groups())
    per_tick = cal_i / cal_t
    return {
        "instructions_per_step": round((inner - empty) * per_tick / steps, 1),
        "benchmark_loop_instructions": round(empty * per_tick / steps, 1),
        "instructions_per_systick_tick": round(per_tick, 3),
        "cpu_load_pct_at_100kHz_170MHz_one_cycle_per_instruction": round(
            (inner - empty) * per_tick / steps * 100e3 / 170e6 * 100, 1
        ),
    }


def main(json_path: Path | None) -> int:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="edge-fw-bench-") as tmp:
        d = Path(tmp)
        results.update(measure_instructions(d))
        results.update(firmware.size(firmware.build("g474-dab", d)))
        qemu = firmware.size(firmware.build("qemu-mps2-an386", d))
        results["qemu_flash_bytes"] = qemu["flash_bytes"]
        results["qemu_ram_bytes"] = qemu["ram_bytes"]
    results["targets"] = {k: f"{op} {v:g}" for k, (op, v) in TARGETS.items()}
    width = max(len(k) for k in results)
    for key, value in results.items():
        if key == "targets":
            continue
        note = ""
        if key in TARGETS:
            op, limit = TARGETS[key]
            ok = value <= limit
            note = f"  ({'meets' if ok else 'MISSES'} {op} {limit:g})"
        print(f"{key:<{width}}  {value:>12,}{note}")
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"wrote {json_path}")
    return 0
