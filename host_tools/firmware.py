"""Build firmware for a board folder (board/<name>/board.json) with arm-none-eabi-gcc,
and run it under QEMU. The C core is compiled with the same flags as the host build
(-std=c99 -ffp-contract=off -fno-math-errno) so host and target give the same numbers."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import EdgeError

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "firmware_c"
BOARDS = ROOT / "board"
CFLAGS = [
    "-std=c99",
    "-ffp-contract=off",
    "-fno-math-errno",
    "-O2",
    "-g",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffunction-sections",
    "-fdata-sections",
    # No libc is linked: GCC must not turn the board's own memcpy loop into a call to
    # memcpy (infinite recursion).
    "-fno-tree-loop-distribute-patterns",
]
PLANT_SOURCES = {"plant.c", "chem.c", "sim.c"}  # host and QEMU builds only


@dataclass(frozen=True)
class Board:
    name: str
    folder: Path
    data: dict[str, Any]

    @property
    def board_id(self) -> int:
        return int(self.data["board_id"])


def board(name: str) -> Board:
    folder = BOARDS / name
    try:
        data = json.loads((folder / "board.json").read_text())
    except FileNotFoundError:
        known = sorted(p.name for p in BOARDS.iterdir() if (p / "board.json").exists())
        raise EdgeError(f"no board {name!r}; boards: {', '.join(known)}") from None
    return Board(name, folder, data)


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise EdgeError(f"{tool} is not installed: apt-get install {package}")
    return path


def build(name: str, out_dir: Path, variant: str = "app") -> Path:
    """Compile and link; returns the ELF. variant: "app" or "bench"."""
    b = board(name)
    gcc = need("arm-none-eabi-gcc", "gcc-arm-none-eabi")
    out_dir.mkdir(parents=True, exist_ok=True)
    core = [
        p
        for p in sorted((CORE / "src").glob("*.c"))
        if b.data.get("with_plant") or p.name not in PLANT_SOURCES
    ]
    glue = sorted((CORE / "fw").glob("*.c"))
    own = [b.folder / s for s in b.data["sources" if variant == "app" else "bench_sources"]]
    elf = out_dir / f"{name}-{variant}.elf"
    cmd = [
        gcc,
        *b.data["cpu_flags"],
        *CFLAGS,
        f"-I{CORE / 'include'}",
        f"-I{CORE / 'fw'}",
        f"-I{b.folder}",
        *map(str, core + glue + own),
        "-nostdlib",
        "-nostartfiles",
        f"-T{b.folder / b.data['linker_script']}",
        "-Wl,--gc-sections",
        "-lgcc",
        "-o",
        str(elf),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EdgeError(f"firmware build for {name} failed:\n{proc.stderr}")
    return elf


def size(elf: Path) -> dict[str, int]:
    """flash = text + data (initialised data is stored in flash), ram = data + bss."""
    out = subprocess.run(
        [need("arm-none-eabi-size", "binutils-arm-none-eabi"), "-B", str(elf)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[1]
    text, data, bss = (int(x) for x in out.split()[:3])
    return {"flash_bytes": text + data, "ram_bytes": data + bss}


def to_binary(elf: Path) -> bytes:
    out = elf.with_suffix(".bin")
    subprocess.run(
        [
            need("arm-none-eabi-objcopy", "binutils-arm-none-eabi"),
            "-O",
            "binary",
            str(elf),
            str(out),
        ],
        check=True,
    )
    return out.read_bytes()


def qemu_command(
    name: str, elf: Path, serial: str | None = None, icount_shift: int | None = None
) -> list[str]:
    """qemu-system-arm for the board; serial: a QEMU chardev spec for UART0."""
    b = board(name)
    cmd = [
        need("qemu-system-arm", "qemu-system-arm"),
        "-M",
        b.data["qemu_machine"],
        "-display",
        "none",
        "-monitor",
        "none",
        "-semihosting-config",
        "enable=on,target=native",
        "-kernel",
        str(elf),
    ]
    cmd += ["-serial", serial or "null"]
    if icount_shift is not None:
        cmd += ["-icount", f"shift={icount_shift}"]
    return cmd
