"""`python -m host_tools bench sweep`: what would each controller do in many houses? A
sweep of houses x controllers x settings x seeds x days on Dask (a LocalCluster by
default, `--scheduler tcp://HOST:PORT` for an existing cluster, `--serial` without Dask),
scored under several tariffs, reported as distributions across the houses (docs/sweep.md).

This module only declares the arguments (the tool's parser is built on every start of
host_tools); the work is in run.py.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

HOUSES_CSV = Path(__file__).resolve().parent / "houses.csv"


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--houses", type=Path, help="the houses table (CSV; default: the 50 houses shipped)"
    )
    src.add_argument("--synthetic", type=int, metavar="N", help="N synthetic houses instead")
    p.add_argument(
        "--house-seed", type=int, default=1, help="the synthetic houses' seed (default 1)"
    )
    p.add_argument("--write-houses", type=Path, help="also write the houses table here")
    p.add_argument("--limit", type=int, help="only the first N houses of the table")
    p.add_argument("--controllers", default="ours,eddi", help="comma-separated (default ours,eddi)")
    p.add_argument(
        "--tariffs", default="flat,e7,agile,go", help="scored on each (default flat,e7,agile,go)"
    )
    p.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME:FIELD=V[,FIELD=V]",
        help="an inverter-loop variant, e.g. slow:dead_time_s=20 (repeatable; default: none)",
    )
    p.add_argument("--seeds", default="1", help="comma-separated sweep seeds (default 1)")
    p.add_argument(
        "--days",
        default="seasons",
        help="all | months | seasons (default) | D+N | D,D,...: the days simulated",
    )
    p.add_argument("--hours", type=float, help="cut each run to this many hours (smoke tests)")
    run = p.add_mutually_exclusive_group()
    run.add_argument("--serial", action="store_true", help="no Dask: the reference run")
    run.add_argument("--scheduler", help="an existing Dask cluster, tcp://HOST:PORT")
    p.add_argument(
        "--workers", type=int, help="the LocalCluster's worker processes (default: cores)"
    )
    p.add_argument(
        "--out", type=Path, default=Path("results/sweep"), help="report.md, sweep.json, sweep.png"
    )
    p.add_argument("--json", type=Path, help="also write the JSON here")


def main(args: argparse.Namespace) -> int:
    # By name, as host_tools loads every tool: the parser (which edge's CLI imports) stays
    # free of the simulator, Dask and the control benchmark.
    run = importlib.import_module("host_tools.bench.sweep.run")
    return int(run.main(args))
