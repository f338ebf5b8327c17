"""cffi builder for edge._core: the C core in out-of-line API mode.

The cdef is the api/*_api.h headers read verbatim, so the binding can never drift from the
header. Every source is compiled with the flags the firmware uses (C99, no FP
contraction, warnings as errors) so that host and target give the same numbers.
"""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
INCLUDE_DIR = HERE / "include"
SOURCES = sorted(str(p.relative_to(HERE.parent)) for p in (HERE / "src").glob("*.c"))
CORE_CFLAGS = ["-std=c99", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wextra", "-Werror"]

# The API headers, in dependency order (the same order edge_core.h includes them).
API_HEADERS = ["pi", "dab", "plant", "prot", "charge", "pulse", "board"]

ffibuilder = FFI()
ffibuilder.cdef(
    "\n".join(
        (INCLUDE_DIR / "api" / f"edge_{name}_api.h").read_text(encoding="utf-8")
        for name in API_HEADERS
    )
)
ffibuilder.set_source(
    "edge._core",
    '#include "edge_core.h"\n',
    sources=SOURCES,
    include_dirs=[str(INCLUDE_DIR.relative_to(HERE.parent))],
    extra_compile_args=CORE_CFLAGS,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
