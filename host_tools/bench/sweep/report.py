"""A sweep's report: each house's year (its runs summed, scaled to a year), and across the
houses, per setting, controller and tariff, the distribution (median, quartiles, worst) of
the cost and objective, import and export, self-consumption and leak, and of ours less
each other controller, house by house. JSON, Markdown and a PNG plot.

"Worst" is the house that fares worst: the highest cost, import, export or leak, the
lowest self-consumption; for ours less another controller, the house where ours gains
least (the highest difference). Money in £ a year; signs: a negative difference is ours
cheaper.
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from host_tools.bench.sweep.houses import HouseRow
from host_tools.bench.sweep.tasks import SUMMED, Period

LOWER_IS_WORSE = {"self_consumption_pct"}
OURS = "ours"


def per_house(
    results: list[dict[str, Any]],
    rows: list[HouseRow],
    p: Period,
    tariffs: tuple[str, ...],
) -> list[dict[str, Any]]:
    """One row per house, controller, setting and seed: its year (the results must be in
    key order, as cluster.py returns them)."""
    runs: dict[tuple[int, str, str, int], list[dict[str, float]]] = defaultdict(list)
    for r in results:
        house, controller, setting, seed, _run = r["key"]
        runs[(house, controller, setting, seed)].append(r["sums"])
    keys = [*SUMMED, *(f"{x}_{t}" for t in tariffs for x in ("cost", "objective"))]
    out = []
    for (house, controller, setting, seed), sums in runs.items():
        year = {k: math.fsum(s[k] for s in sums) * p.year_weight for k in keys}
        pv = year["pv_kwh"]
        row: dict[str, Any] = {
            "house": rows[house].id,
            "controller": controller,
            "setting": setting,
            "seed": seed,
        }
        row.update({k: round(v, 4) for k, v in year.items()})
        row["self_consumption_pct"] = (
            round(100.0 * (1.0 - year["export_kwh"] / pv), 3) if pv > 0 else None
        )
        out.append(row)
    return out


def _stats(values: list[float], lower_is_worse: bool = False) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    worst = a.min() if lower_is_worse else a.max()
    return {
        "median": round(float(med), 4),
        "q1": round(float(q1), 4),
        "q3": round(float(q3), 4),
        "worst": round(float(worst), 4),
        "n": len(values),
    }


def metric_names(tariffs: tuple[str, ...]) -> list[str]:
    return [
        *(f"{x}_{t}" for t in tariffs for x in ("cost", "objective")),
        "import_kwh",
        "export_kwh",
        "self_consumption_pct",
        "leak_wh",
    ]


def distributions(houses: list[dict[str, Any]], tariffs: tuple[str, ...]) -> dict[str, Any]:
    """{setting: {controller: {metric: stats}}} and {setting: {other: {metric: stats of
    ours - other, with how many houses ours is better in}}}."""
    by: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    index = {(h["house"], h["controller"], h["setting"], h["seed"]): h for h in houses}
    for h in houses:
        for name in metric_names(tariffs):
            if h[name] is not None:
                by[h["setting"]][h["controller"]][name].append(h[name])
    dist = {
        s: {
            c: {n: _stats(v, n in LOWER_IS_WORSE) for n, v in metrics.items()}
            for c, metrics in cs.items()
        }
        for s, cs in by.items()
    }
    others = list(dict.fromkeys(h["controller"] for h in houses if h["controller"] != OURS))
    diff: dict[str, dict[str, dict[str, list[float]]]] = {}
    for h in houses:
        if h["controller"] != OURS:
            continue
        for other in others:
            o = index.get((h["house"], other, h["setting"], h["seed"]))
            if o is None:
                continue
            d = diff.setdefault(h["setting"], {}).setdefault(other, {})
            for name in metric_names(tariffs):
                if name == "self_consumption_pct" or h[name] is None or o[name] is None:
                    continue
                d.setdefault(name, []).append(h[name] - o[name])
    deltas = {
        s: {
            other: {
                n: {**_stats(v), "ours_better": int(sum(1 for x in v if x < 0))}
                for n, v in metrics.items()
            }
            for other, metrics in against.items()
        }
        for s, against in diff.items()
    }
    return {"distributions": dist, "ours_minus": deltas}


def markdown(doc: dict[str, Any]) -> str:
    lines = [
        "# Sweep",
        "",
        f"- Houses: {doc['houses_described']}",
        f"- Period: {doc['period_described']}",
        f"- Controllers: {', '.join(doc['controllers'])}; tariffs: {', '.join(doc['tariffs'])};"
        f" seeds: {', '.join(map(str, doc['seeds']))}",
        f"- Ran on: {doc['ran_on']}, {doc['tasks']} tasks in {doc['wall_s']:.0f} s",
        "",
        "## Across houses, a year each (median, quartiles, worst house)",
        "",
        "| setting | controller | metric | median | q1 | q3 | worst |",
        "|---|---|---|---|---|---|---|",
    ]
    for s, cs in doc["distributions"].items():
        for c, metrics in cs.items():
            for n, st in metrics.items():
                lines.append(
                    f"| {s} | {c} | {n} | {st['median']:.2f} | {st['q1']:.2f} |"
                    f" {st['q3']:.2f} | {st['worst']:.2f} |"
                )
    lines += [
        "",
        "## Ours less each other controller, house by house (negative: ours lower)",
        "",
        "| setting | against | metric | median | q1 | q3 | worst | houses ours lower |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s, others in doc["ours_minus"].items():
        for other, metrics in others.items():
            for n, st in metrics.items():
                lines.append(
                    f"| {s} | {other} | {n} | {st['median']:+.2f} | {st['q1']:+.2f} |"
                    f" {st['q3']:+.2f} | {st['worst']:+.2f} | {st['ours_better']} of {st['n']} |"
                )
    lines += ["", "## Peak memory per worker (MB, ru_maxrss)", ""]
    lines += [f"- {w}: {mb:.0f} MB" for w, mb in doc["peak_rss_mb"].items()]
    return "\n".join(lines) + "\n"


def plot(doc: dict[str, Any], houses: list[dict[str, Any]], path: Path) -> None:
    """Left: each controller's yearly objective across houses, per tariff; right: ours
    less each other controller, house by house."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tariffs, controllers = doc["tariffs"], doc["controllers"]
    setting = next(iter(doc["distributions"]))
    chosen = [h for h in houses if h["setting"] == setting]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    data, labels = [], []
    for t in tariffs:
        for c in controllers:
            data.append([h[f"objective_{t}"] for h in chosen if h["controller"] == c])
            labels.append(f"{c}\n{t}")
    left.boxplot(data, whis=(0, 100))
    left.set_xticks(range(1, len(labels) + 1), labels, fontsize=8)
    left.set_ylabel("objective, £ a year (bill less heat and storage value)")
    left.set_title("Each controller across the houses")
    index = {(h["house"], h["controller"], h["seed"]): h for h in chosen}
    data, labels = [], []
    for t in tariffs:
        for c in controllers:
            if c == OURS:
                continue
            d = [
                h[f"objective_{t}"] - index[(h["house"], c, h["seed"])][f"objective_{t}"]
                for h in chosen
                if h["controller"] == OURS and (h["house"], c, h["seed"]) in index
            ]
            data.append(d)
            labels.append(f"vs {c}\n{t}")
    if data:
        right.boxplot(data, whis=(0, 100))
        for k, d in enumerate(data, start=1):
            jitter = np.linspace(-0.15, 0.15, len(d)) if len(d) > 1 else np.zeros(len(d))
            right.plot(k + jitter, d, ".", alpha=0.5, color="tab:blue")
        right.set_xticks(range(1, len(labels) + 1), labels, fontsize=8)
        right.axhline(0.0, color="grey", lw=0.8)
    right.set_ylabel("ours less the other, £ a year (below 0: ours cheaper)")
    right.set_title("Ours against the others, house by house")
    title = [textwrap.fill(doc[k], 140) for k in ("houses_described", "period_described")]
    fig.suptitle("\n".join(title), fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
