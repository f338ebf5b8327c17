"""cffi builder for edge._core: the C core in out-of-line API mode.

The cdef is the api/*_api.h headers read verbatim, so the binding can never drift from
the headers. Every source is compiled with the flags the firmware uses (C99, no FP
contraction, warnings as errors) so that host and target give the same numbers.

`pip install` builds it through build_backend.py. Run directly, this script builds a
variant into a folder of its own, which EDGE_CORE_DIR then puts in front of the installed
one (see edge/__init__.py):

    python firmware_c/build_ffi.py --sanitize OUT   # -fsanitize=address,undefined
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
INCLUDE_DIR = HERE / "include"
# The API headers, in dependency order (the same order edge_core.h includes them).
API_HEADERS = ["pi", "dab", "plant", "prot", "charge", "pulse", "board", "modbus"]
# The simulated house's plant (sim/*.c): host only, so not in edge_core.h nor on a board.
SIM_HEADERS = ["sim_house"]
CORE_CFLAGS = ["-std=c99", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wextra", "-Werror"]
SANITIZE_FLAGS = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
]


def make_builder(absolute: bool = False, extra_cflags: list[str] | None = None) -> FFI:
    """The builder; `absolute` paths for building outside the repository root."""
    base = HERE.parent
    sources = sorted((HERE / "src").glob("*.c")) + sorted((HERE / "sim").glob("*.c"))
    ffi = FFI()
    ffi.cdef(
        "\n".join(
            (INCLUDE_DIR / "api" / f"edge_{name}_api.h").read_text(encoding="utf-8")
            for name in API_HEADERS + SIM_HEADERS
        )
    )
    flags = CORE_CFLAGS + (extra_cflags or [])
    ffi.set_source(
        "edge._core",
        '#include "edge_core.h"\n'
        + "".join(f'#include "api/edge_{name}_api.h"\n' for name in SIM_HEADERS),
        sources=[str(p if absolute else p.relative_to(base)) for p in sources],
        include_dirs=[str(INCLUDE_DIR if absolute else INCLUDE_DIR.relative_to(base))],
        extra_compile_args=flags,
        extra_link_args=[f for f in flags if f.startswith("-fsanitize")],
    )
    return ffi


ffibuilder = make_builder()

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sanitize",
        metavar="OUT",
        type=Path,
        required=True,
        help="build the ASan/UBSan variant into OUT/edge",
    )
    args = parser.parse_args()
    args.sanitize.mkdir(parents=True, exist_ok=True)
    out = make_builder(absolute=True, extra_cflags=SANITIZE_FLAGS).compile(
        tmpdir=str(args.sanitize.resolve())
    )
    print(out)
