"""python -m host_tools: tools an installer or developer runs from a laptop or the Pi."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from host_tools.bench import core as bench_core


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m host_tools", description=__doc__)
    sub = parser.add_subparsers(dest="tool", required=True)
    bench = sub.add_parser("bench", help="benchmarks that print numbers and write JSON")
    which = bench.add_subparsers(dest="bench", required=True)
    core = which.add_parser("core", help="the C core: instructions per step, speed, step responses")
    core.add_argument("--json", type=Path, help="write the results here")
    core.add_argument("--quick", action="store_true", help="fewer steps (for a smoke test)")
    args = parser.parse_args(argv)
    if args.tool == "bench" and args.bench == "core":
        return bench_core.main(args.json, args.quick)
    return 2


if __name__ == "__main__":
    sys.exit(main())
