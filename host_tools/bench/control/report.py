"""The control benchmark's outputs: a Markdown and a CSV table, and matplotlib plots (a day
under each controller; the summary across scenarios)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from host_tools.bench.control.scenarios import Trace

COLUMNS = (
    "leak_wh",
    "leak_wh_flow",
    "flip_export_wh",
    "avoidable_export_kwh",
    "import_kwh",
    "export_kwh",
    "self_consumption_pct",
    "flips_per_day",
    "battery_throughput_kwh",
    "hp_starts",
    "comfort_misses_s",
    "house_cold_kh",
    "cost_flat",
    "cost_e7",
)
_TRACES: dict[tuple[str, str], Trace] = {}  # kept for the plots of one run
PLOT_POINTS = 2000  # plot_day draws about this many points a line


def keep_trace(scenario: str, controller: str, tr: Trace) -> None:
    _TRACES[(scenario, controller)] = tr


def markdown(results: dict[str, dict[str, Any]]) -> str:
    head = "| scenario | controller | " + " | ".join(COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for sc, by in results.items():
        for controller, r in by.items():
            cells = [str(r.get(c, "")) for c in COLUMNS]
            lines.append(f"| {sc} | {controller} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sweep_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | parameter | value | status quo | ours leak Wh | status quo leak Wh"
        " | ours flip export Wh | status quo flip export Wh |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['parameter']} | {r['value']:g} | {r['status_quo']} |"
            f" {r['ours_leak_wh']} | {r['sq_leak_wh']} | {r['ours_flip_export_wh']} |"
            f" {r['sq_flip_export_wh']} |"
        )
    return "\n".join(lines)


def write(
    out: Path,
    results: dict[str, dict[str, Any]],
    goals: list[str],
    swept: list[dict[str, Any]] | None = None,
    relaxed: list[str] | None = None,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = "# Control benchmark\n\n" + markdown(results) + "\n\n## Goals\n\n"
    text += "\n".join(f"- {g}" for g in goals) + "\n"
    if relaxed:
        text += "\n## The optimum, relaxed and not\n\n" + "\n".join(f"- {x}" for x in relaxed)
        text += "\n"
    if swept:
        text += "\n## Sweeps (§5.6)\n\n" + sweep_table(swept) + "\n"
    (out / "report.md").write_text(text, encoding="utf-8")
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["scenario", "controller", *COLUMNS])
        for sc, by in results.items():
            for controller, r in by.items():
                w.writerow([sc, controller, *(r.get(c, "") for c in COLUMNS)])
    days = [sc for sc in results if sc.startswith("day_")]
    if days:
        plot_day(days[0], out / f"{days[0]}.png")
    plot_summary(results, out / "summary.png")
    if "year" in results:
        plot_year(results["year"], out / "year.png")


def plot_day(scenario: str, path: Path) -> None:
    """PV, load, battery, tank, heat pump and grid over the day, one panel a controller."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [(c, tr) for (sc, c), tr in _TRACES.items() if sc == scenario]
    fig, axes = plt.subplots(len(runs), 1, figsize=(11, 2.4 * len(runs)), sharex=True)
    for ax, (controller, tr) in zip(np.atleast_1d(axes), runs, strict=True):
        hours = (tr.t_s % 86400.0) / 3600.0
        step = max(1, len(hours) // PLOT_POINTS)

        def line(
            y: np.ndarray, label: str, color: str, ax: Any = ax, h: Any = hours, k: int = step
        ) -> None:
            ax.plot(h[::k], y[::k] / 1000.0, label=label, color=color, lw=0.8)

        line(tr.pv_w, "PV", "#f2a900")
        line(tr.load_w, "load", "#555555")
        line(tr.battery_w, "battery (+ discharge)", "#2a7ab0")
        line(tr.heater_w, "tank", "#c0392b")
        line(tr.hp_w, "heat pump", "#8e44ad")
        line(tr.grid_w, "grid (+ import)", "#27ae60")
        ax.set_ylabel("kW")
        ax.set_title(f"{scenario}: {controller}", fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(ncol=6, fontsize=7, loc="upper left")
    np.atleast_1d(axes)[-1].set_xlabel("hour of day")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_summary(results: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(results)
    controllers = list(next(iter(results.values())))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key, label in zip(
        axes,
        ("leak_wh", "flip_export_wh", "self_consumption_pct"),
        ("battery → tank (Wh)", "flip/ramp export (Wh)", "self-consumption (%)"),
        strict=True,
    ):
        width = 0.8 / len(controllers)
        for k, c in enumerate(controllers):
            values = [results[sc][c].get(key) or 0.0 for sc in scenarios]
            ax.bar(np.arange(len(scenarios)) + k * width, values, width, label=c)
        ax.set_xticks(np.arange(len(scenarios)) + 0.4 - width / 2, scenarios, fontsize=7)
        ax.set_title(label, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


MONTHS = "JFMAMJJASOND"


def plot_year(year: dict[str, Any], path: Path) -> None:
    """The annual summary: month by month, each controller's battery→tank leak, flip
    export, import, export and Economy 7 objective."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (
        ("leak_wh", "battery → tank (kWh)", 1e-3),
        ("flip_export_wh", "flip/ramp export (kWh)", 1e-3),
        ("import_kwh", "import (kWh)", 1.0),
        ("export_kwh", "export (kWh)", 1.0),
        ("objective_e7", "E7 objective (£)", 1.0),
    )
    controllers = [c for c, r in year.items() if "monthly" in r]
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 3.4))
    width = 0.8 / len(controllers)
    x = np.arange(12)
    for ax, (key, label, scale) in zip(axes, panels, strict=True):
        for k, c in enumerate(controllers):
            values = np.asarray(year[c]["monthly"][key]) * scale
            ax.bar(x + k * width, values, width, label=c)
        ax.set_xticks(x + 0.4 - width / 2, list(MONTHS), fontsize=7)
        ax.set_title(label, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.suptitle("The simulated year, month by month", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def thin(tr: Trace) -> Trace:
    """The trace at the step plot_day draws it at, all it needs of a run (a day's 1 s
    trace is 7 MB; this is 160 kB)."""
    return tr.sliced(slice(None, None, max(1, len(tr.t_s) // PLOT_POINTS)))
