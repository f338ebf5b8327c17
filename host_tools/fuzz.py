"""Fuzz the board's Modbus RTU slave with libFuzzer under ASan/UBSan for a bounded time.

Builds firmware_c/fuzz/fuzz_modbus.c with clang, seeds a corpus with valid frames of every
function the slave answers, runs for --seconds, and fails on any crash, sanitizer report
or broken contract (see the target's header)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from edge.errors import EdgeError
from host_tools.firmware import CORE

SEEDS = [  # slave 1, with CRC: read input 0..20, read holding 0..6, write 0 <- 1, write 0..1
    "01040000001531c5",
    "0103000000070408",
    "010600000001480a",
    "0110000000020400011388af39",
]


def _frame(hex_frame: str) -> bytes:
    b = bytes.fromhex(hex_frame)
    return bytes([len(b)]) + b


def build(out_dir: Path) -> Path:
    clang = shutil.which("clang")
    if clang is None:
        raise EdgeError("clang is needed for the fuzzer: apt-get install clang libclang-rt-14-dev")
    exe = out_dir / "fuzz_modbus"
    sources = sorted(str(p) for p in (CORE / "src").glob("*.c"))
    cmd = [
        clang,
        "-g",
        "-O1",
        "-std=c99",
        "-ffp-contract=off",
        "-fno-math-errno",
        "-fsanitize=fuzzer,address,undefined",
        "-fno-sanitize-recover=all",
        f"-I{CORE / 'include'}",
        str(CORE / "fuzz" / "fuzz_modbus.c"),
        *sources,
        "-o",
        str(exe),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EdgeError(f"fuzzer build failed:\n{proc.stderr}")
    return exe


def run(seconds: int) -> int:
    with tempfile.TemporaryDirectory(prefix="edge-fuzz-") as tmp:
        d = Path(tmp)
        exe = build(d)
        corpus = d / "corpus"
        corpus.mkdir()
        for k, seed in enumerate(SEEDS):
            (corpus / f"seed{k}").write_bytes(_frame(seed))
        (corpus / "all").write_bytes(b"".join(_frame(s) for s in SEEDS))
        proc = subprocess.run(
            [
                str(exe),
                str(corpus),
                f"-max_total_time={seconds}",
                "-max_len=1024",
                "-print_final_stats=1",
                f"-artifact_prefix={d}/",
            ],
            capture_output=True,
            text=True,
        )
        stats = [line for line in proc.stderr.splitlines() if line.startswith("stat::")]
        for line in stats:
            print(line)
        if proc.returncode != 0:
            print(proc.stderr[-4000:])
            crashes = sorted(p.name for p in d.iterdir() if p.name.startswith(("crash-", "leak-")))
            print(f"fuzzer found a failure: {', '.join(crashes) or 'see the log above'}")
            return 1
        print(f"fuzzed the Modbus slave for {seconds} s under ASan/UBSan: no failure")
        return 0
