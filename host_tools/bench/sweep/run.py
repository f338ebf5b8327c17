"""The sweep from its arguments to its report: the houses, the tasks, the run (serial or
Dask), each house's year, the distributions, peak memory per worker; JSON, Markdown and
the plot."""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path
from typing import Any

from edge.extras import needs
from host_tools.bench.control.prices import tariff
from host_tools.bench.sweep import HOUSES_CSV, cluster, houses, report
from host_tools.bench.sweep.tasks import SweepError, Task, period, setting, tasks


def _names(text: str, what: str) -> tuple[str, ...]:
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    if not names:
        raise SweepError(f"--{what}: none given")
    return names


def _tariffs(text: str) -> tuple[str, ...]:
    names = _names(text, "tariffs")
    for t in names:
        try:
            tariff(t)
        except KeyError:
            raise SweepError(f"--tariffs: {t!r} is not one of flat, e7, go, agile") from None
    return names


def _seeds(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in _names(text, "seeds"))
    except ValueError:
        raise SweepError(f"--seeds {text!r}: whole numbers, comma-separated") from None


def build(args: argparse.Namespace) -> tuple[list[houses.HouseRow], list[Task]]:
    """The houses and the tasks the arguments ask for; SweepError or HousesError names what
    is wrong before anything runs."""
    if args.synthetic is not None:
        rows = houses.synthetic(args.synthetic, args.house_seed)
    else:
        rows = houses.load(args.houses or HOUSES_CSV)
    if args.limit is not None:
        if args.limit < 1:
            raise SweepError(f"--limit {args.limit}: at least 1")
        rows = rows[: args.limit]
    settings = tuple(setting(s) for s in args.setting) or (setting("default"),)
    if len({s[0] for s in settings}) != len(settings):
        raise SweepError("--setting: two settings have the same name")
    p = period(args.days, args.hours)
    todo = tasks(
        rows,
        _names(args.controllers, "controllers"),
        _tariffs(args.tariffs),
        settings,
        _seeds(args.seeds),
        p,
    )
    return rows, todo


def execute(args: argparse.Namespace, todo: list[Task]) -> tuple[list[dict[str, Any]], str]:
    if args.serial:
        return cluster.serial(todo), "serial (this process, no Dask)"
    needs(
        "bench", "python -m host_tools bench sweep", lambda: importlib.import_module("distributed")
    )
    return cluster.on_dask(todo, args.scheduler, args.workers)


def document(
    rows: list[houses.HouseRow],
    todo: list[Task],
    results: list[dict[str, Any]],
    ran_on: str,
    wall_s: float,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The report's content (everything but where it ran is the same on any cluster)."""
    first = todo[0]
    p, tariffs = first.period, first.tariffs
    per_house = report.per_house(results, rows, p, tariffs)
    peak: dict[str, float] = {}
    for r in results:
        peak[r["worker"]] = max(peak.get(r["worker"], 0.0), r["peak_rss_mb"])
    doc: dict[str, Any] = {
        "houses_described": houses.describe(rows),
        "period": {"spec": p.spec, "runs": p.runs, "seconds_per_run": p.seconds_per_run},
        "period_described": p.describe(),
        "controllers": list(dict.fromkeys(t.controller for t in todo)),
        "tariffs": list(tariffs),
        "settings": {name: dict(pairs) for name, pairs in dict.fromkeys(t.setting for t in todo)},
        "seeds": list(dict.fromkeys(t.seed for t in todo)),
        "tasks": len(todo),
        "ran_on": ran_on,
        "wall_s": round(wall_s, 1),
        "task_wall_s_median": round(sorted(r["wall_s"] for r in results)[len(results) // 2], 2),
        "peak_rss_mb": {w: round(mb, 1) for w, mb in sorted(peak.items())},
        **report.distributions(per_house, tariffs),
        "per_house": per_house,
    }
    return doc, per_house


def main(args: argparse.Namespace) -> int:
    rows, todo = build(args)
    if args.write_houses is not None:
        args.write_houses.write_text(houses.to_csv(rows), encoding="utf-8")
        print(f"wrote {args.write_houses}")
    print(f"{houses.describe(rows)}; {todo[0].period.describe()}; {len(todo)} tasks")
    t0 = time.perf_counter()
    results, ran_on = execute(args, todo)
    doc, per_house = document(rows, todo, results, ran_on, time.perf_counter() - t0)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    text = report.markdown(doc)
    (out / "report.md").write_text(text, encoding="utf-8")
    body = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    (out / "sweep.json").write_text(body, encoding="utf-8")
    report.plot(doc, per_house, out / "sweep.png")
    if args.json is not None:
        args.json.write_text(body, encoding="utf-8")
    print(text)
    print(f"wrote {out}/report.md, sweep.json and sweep.png")
    return 0
