"""EMHASS beside ours in the planned comparison's output: the table and the goal lines
(emhass.Session.result's fields of each tariff's result; objectives in £)."""

from __future__ import annotations

from typing import Any


def table(results: dict[str, dict[str, Any]]) -> str:
    """EMHASS beside ours, per run and tariff (objectives in £, gaps to the optimum)."""
    head = (
        "| run | tariff | ours £ | planned £ | EMHASS £ | optimum £ | planned gap |"
        " EMHASS gap | planned − EMHASS £ | EMHASS solves | EMHASS solve ms median / p95 / max |"
    )
    rows = [head, "|" + "---|" * 11]
    for run, by in results.items():
        for tariff, r in by.items():
            if "emhass" not in r:
                continue
            em = r["emhass_planner"]
            rows.append(
                f"| {run} | {tariff} | {r['ours']:.3f} | {r['planned']:.3f} | {r['emhass']:.3f} |"
                f" {r['optimum']:.3f} | {r['planned_gap_pct']:+.1f} % |"
                f" {r['emhass_gap_pct']:+.1f} % | {r['planned_vs_emhass_gbp']:+.3f} |"
                f" {em['plans']} | {em['solve_ms_median']} / {em['solve_ms_p95']} /"
                f" {em['solve_ms_max']} |"
            )
    return "\n".join(rows)


def goal_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """The goal: ours planned better than EMHASS on every tariff (a lower objective)."""
    lines = []
    for run, by in results.items():
        for tariff, r in by.items():
            if "emhass" not in r:
                continue
            d = r["planned_vs_emhass_gbp"]
            verdict = "met" if d < 0 else f"MISSED by £{d:.3f}"
            em = r["emhass_planner"]
            failed = f"; {em['solver_failed']} EMHASS plans unusable" if em["solver_failed"] else ""
            lines.append(
                f"{run}, {tariff}: ours planned better than EMHASS: planned £{r['planned']:.3f},"
                f" EMHASS £{r['emhass']:.3f} ({d:+.3f}){failed}: {verdict}"
            )
    return lines
