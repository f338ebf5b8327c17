"""python -m host_tools: tools an installer or developer runs from a laptop or the Pi."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from edge.errors import EdgeError
from edge.extras import needs
from host_tools.firmware import board

# Each tool imports its module only when it runs: the flasher must not need the
# benchmarks' packages, nor the benchmarks the flasher's.
EXTRA_OF = {"flash": "flash", "image": "flash", "keys": "flash", "sign": "flash"}


def _load(tool: str, module: str) -> ModuleType:
    extra = EXTRA_OF.get(tool, "bench")
    return needs(extra, f"python -m host_tools {tool}", lambda: importlib.import_module(module))


def _positive(text: str) -> int:
    """An argument that counts something: a whole number of at least 1."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {text!r}")
    return n


def _year_days(text: str) -> int:
    n = _positive(text)
    if n > 365:
        raise argparse.ArgumentTypeError(f"at most 365 days, not {n}")
    return n


def _flash(args: argparse.Namespace) -> int:
    flasher = _load("flash", "host_tools.flasher")
    image = _load("flash", "host_tools.image")
    boot: Any
    if args.gpio_chip:
        boot = flasher.GpioBoot(args.gpio_chip, args.boot0_line, args.nrst_line)
    else:
        boot = flasher.ManualBoot(ask=(lambda _p: "") if args.yes else input)
    flasher.flash(
        args.image,
        args.port,
        boot=boot,
        trusted_keys=[image.load_public_key(p) for p in args.trusted_key],
        allow_unsigned=args.allow_unsigned,
        allow_downgrade=args.allow_downgrade,
        baud=args.baud,
        parity=args.parity,
        modbus_baud=args.modbus_baud,
        progress=sys.stderr.isatty(),
    )
    return 0


def _firmware(args: argparse.Namespace) -> int:
    from host_tools import firmware

    if args.firmware == "build":
        elf = firmware.build(args.board, args.out)
        firmware.to_binary(elf)
        sizes = firmware.size(elf)
        print(f"{elf}: flash {sizes['flash_bytes']} bytes, RAM {sizes['ram_bytes']} bytes")
        return 0
    elf = firmware.build("qemu-mps2-an386", Path("build/firmware"))
    cmd = firmware.qemu_command(
        "qemu-mps2-an386", elf, serial=f"tcp:127.0.0.1:{args.port},server=on,wait=off"
    )
    print(
        f"DAB board firmware in QEMU: Modbus RTU on tcp://127.0.0.1:{args.port} (slave 1); "
        "Ctrl-C stops",
        flush=True,
    )
    try:
        return subprocess.run(cmd, check=False).returncode
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m host_tools", description=__doc__)
    sub = parser.add_subparsers(dest="tool", required=True)
    bench = sub.add_parser("bench", help="benchmarks that print numbers and write JSON")
    which = bench.add_subparsers(dest="bench", required=True)
    core = which.add_parser("core", help="the C core: instructions per step, speed, step responses")
    core.add_argument("--json", type=Path, help="write the results here")
    core.add_argument("--quick", action="store_true", help="fewer steps (for a smoke test)")
    pl = which.add_parser("plant", help="simulated house: simulated seconds per second")
    pl.add_argument("--json", type=Path, help="write the results here")
    pl.add_argument("--quick", action="store_true", help="6 simulated hours instead of a day")
    sv = which.add_parser(
        "supervisor", help="supervisor: kettle leak, reaction time at 9600 baud, decide time"
    )
    sv.add_argument("--json", type=Path, help="write the results here")
    sv.add_argument("--quick", action="store_true", help="fewer trials (for a smoke test)")
    ctl = which.add_parser(
        "control", help="control: ours vs the status quo and the optimum, per scenario"
    )
    ctl.add_argument("--json", type=Path, help="write the results here")
    ctl.add_argument("--quick", action="store_true", help="the kettle, cloud and one day only")
    ctl.add_argument("--no-year", action="store_true", help="leave out the simulated year")
    ctl.add_argument(
        "--planned-days",
        type=_positive,
        help="days of each planned comparison (1 quick or with --planned-months, else 7)",
    )
    which_days = ctl.add_mutually_exclusive_group()
    which_days.add_argument(
        "--planned-months",
        action="store_true",
        help="the planned comparison on the 15th of each month (a day each), and their sum",
    )
    which_days.add_argument(
        "--planned-year",
        action="store_true",
        help="the planned comparison on 365 chained days from 1 January (about an hour"
        " of CPU on two processes; --planned-days N: the first N)",
    )
    ctl.add_argument(
        "--planned-only", action="store_true", help="only ours, planned and the optimum"
    )
    ctl.add_argument(
        "--emhass",
        action="store_true",
        help="EMHASS in the planned comparison too (installs it in build/emhass-venv)",
    )
    ctl.add_argument(
        "--out", type=Path, default=Path("results/control"), help="report, CSV and plots here"
    )
    ctl.add_argument(
        "--jobs",
        type=_positive,
        help="processes to run the runs in (default: one a core); the results do not change",
    )
    ctl.add_argument(
        "--year-days",
        type=_year_days,
        help="only the year's first N days (1 to 365; with --quick too)",
    )
    mq = which.add_parser(
        "mqtt", help="MQTT: publish rate while the tick runs, the outbox's cost of a day offline"
    )
    mq.add_argument("--json", type=Path, help="write the results here")
    mq.add_argument("--quick", action="store_true", help="shorter runs (for a smoke test)")
    s2b = which.add_parser(
        "s2", help="S2: a CEM instruction to the inverter's wire at 9600 baud, median and p95"
    )
    s2b.add_argument("--json", type=Path, help="write the results here")
    s2b.add_argument("--quick", action="store_true", help="fewer trials (for a smoke test)")
    fwb = which.add_parser("firmware", help="firmware: instructions per step under QEMU, sizes")
    fwb.add_argument("--json", type=Path, help="write the results here")
    img = sub.add_parser("image", help="build or check firmware images")
    what = img.add_subparsers(dest="image", required=True)
    b = what.add_parser("build", help="build a board's firmware into an image")
    b.add_argument("--board", required=True)
    b.add_argument("--out", type=Path, required=True)
    c = what.add_parser("check", help="check an image (header, CRC, board) without flashing")
    c.add_argument("file", type=Path)
    c.add_argument("--board", required=True)
    fwp = sub.add_parser("firmware", help="build firmware, or run it under QEMU")
    fwa = fwp.add_subparsers(dest="firmware", required=True)
    fb = fwa.add_parser("build", help="build a board's firmware (ELF and raw binary)")
    fb.add_argument("--board", required=True)
    fb.add_argument("--out", type=Path, default=Path("build/firmware"))
    fq = fwa.add_parser("qemu", help="run the QEMU board with its UART on a local TCP port")
    fq.add_argument("--port", type=int, default=8900, help="TCP port of UART0 (default 8900)")
    fl = sub.add_parser("flash", help="flash a board through its STM32 ROM bootloader (UART)")
    fl.add_argument("image", type=Path)
    fl.add_argument("--port", required=True, help="the board's UART, e.g. /dev/ttyUSB0")
    fl.add_argument(
        "--trusted-key",
        type=Path,
        action="append",
        default=[],
        help="public key a signed image must verify with (repeatable)",
    )
    fl.add_argument("--allow-unsigned", action="store_true", help="flash an unsigned image")
    fl.add_argument(
        "--allow-downgrade", action="store_true", help="replace newer installed firmware"
    )
    fl.add_argument("--baud", type=int, default=115200, help="bootloader baud rate")
    fl.add_argument(
        "--parity",
        choices=["E", "N"],
        default="E",
        help="E for the real bootloader (8E1); N only for a pseudo-terminal",
    )
    fl.add_argument("--modbus-baud", type=int, default=115200)
    fl.add_argument("--gpio-chip", help="drive BOOT0/NRST from this gpiochip (else: by hand)")
    fl.add_argument("--boot0-line", type=int, default=17)
    fl.add_argument("--nrst-line", type=int, default=27)
    fl.add_argument(
        "--yes",
        action="store_true",
        help="do not wait for Enter after the BOOT0/RESET instructions",
    )
    keys = sub.add_parser("keys", help="image signing keys")
    kk = keys.add_subparsers(dest="keys", required=True)
    kg = kk.add_parser("generate", help="a new Ed25519 key pair (NAME.key, NAME.pub)")
    kg.add_argument("--out", type=Path, required=True)
    kg.add_argument("--name", default="edge-signing")
    sg = sub.add_parser("sign", help="sign a release image with a private key")
    sg.add_argument("image", type=Path)
    sg.add_argument("--key", type=Path, required=True)
    sg.add_argument("--out", type=Path, help="default: overwrite IMAGE")
    fz = sub.add_parser("fuzz", help="fuzz the board's Modbus slave (libFuzzer, ASan/UBSan)")
    fz.add_argument("--seconds", type=int, default=30)
    sb = which.add_parser("startup", help="what the Pi pays to start: edge --help and edge run")
    sb.add_argument("--json", type=Path, help="write the results here")
    sb.add_argument("--quick", action="store_true", help="fewer and shorter runs")
    sa = which.add_parser(
        "satellite", help="the tank satellite: .mpy sizes and the heap it runs in (MicroPython)"
    )
    sa.add_argument("--json", type=Path, help="write the results here")
    sa.add_argument("--quick", action="store_true", help="shorter runs")
    from host_tools.bench.sweep import add_arguments as sweep_arguments

    sweep_arguments(
        which.add_parser(
            "sweep", help="sweep: controllers across many houses, on Dask (docs/sweep.md)"
        )
    )
    so = which.add_parser(
        "soak", help="the whole stack for hours, faults on every link, the broker restarted"
    )
    so.add_argument("--json", type=Path, help="write the results here")
    so.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    so.add_argument("--speed", type=float, default=100.0, help="simulated time per wall time")
    so.add_argument("--seed", type=int, default=1, help="the faults' random seed")
    args = parser.parse_args(argv)
    if getattr(args, "planned_year", False) and (args.planned_days or 0) > 365:
        days = args.planned_days
        ctl.error(f"argument --planned-days: at most 365 with --planned-year, not {days}")
    try:
        if args.tool == "fuzz":
            from host_tools import fuzz

            return fuzz.run(args.seconds)
        if args.tool == "firmware":
            return _firmware(args)
        if args.tool == "flash":
            return _flash(args)
        if args.tool == "bench":
            if args.bench == "s2":  # the CEM's side needs s2-python too
                needs("s2", "bench s2", lambda: importlib.import_module("s2python"))
            tool = _load("bench", f"host_tools.bench.{args.bench}")
            if args.bench == "control":
                return int(
                    tool.main(
                        args.json,
                        args.quick,
                        args.out,
                        not args.no_year,
                        args.planned_days,
                        args.planned_only,
                        args.jobs,
                        args.year_days,
                        with_emhass=args.emhass,
                        planned_months=args.planned_months,
                        planned_year=args.planned_year,
                    )
                )
            if args.bench == "firmware":
                return int(tool.main(args.json))
            if args.bench == "sweep":
                return int(tool.main(args))
            if args.bench == "soak":
                return int(tool.main(args.json, args.hours, args.speed, args.seed))
            return int(tool.main(args.json, args.quick))
        image = _load(args.tool, "host_tools.image")
        if args.tool == "keys":
            private, public = image.generate_keys(args.out, args.name)
            print(f"private key {private} (keep it secret), public key {public}")
            return 0
        if args.tool == "sign":
            signed = image.sign(args.image.read_bytes(), image.load_private_key(args.key))
            target = args.out or args.image
            target.write_bytes(signed)
            print(f"{target}: signed")
            return 0
        if args.tool == "image" and args.image == "build":
            h = image.build_image(args.board, args.out)
            print(
                f"{args.out}: board id {h.board_id}, firmware {h.version_text}, "
                f"{h.length} bytes, CRC-32 0x{h.crc32:08X}"
            )
            return 0
        if args.tool == "image" and args.image == "check":
            h, _payload = image.parse(args.file.read_bytes())
            target = board(args.board)
            image.check_board(h, target.board_id, target.name)
            print(
                f"{args.file}: good image for {target.name} (board id {h.board_id}), "
                f"firmware {h.version_text}, {h.length} bytes"
            )
            return 0
    except EdgeError as exc:
        print(f"host_tools: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
