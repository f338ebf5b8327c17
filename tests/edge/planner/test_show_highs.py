"""HiGHS writes its banner ("Running HiGHS ...: Copyright ...") on the C stdout, which
capsys does not see: each check runs in its own interpreter and reads its stdout."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def stdout_of(code: str) -> str:
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_quiet_highs_writes_nothing_and_still_solves():
    out = stdout_of(
        """
        import highspy
        from edge.planner.highs import QuietHighs
        h = QuietHighs()
        h.addVars(2, [0.0, 0.0], [4.0, 3.0])  # max x + 2y, x + y <= 5
        h.changeColsCost(2, [0, 1], [-1.0, -2.0])
        h.addRow(-highspy.kHighsInf, 5.0, 2, [0, 1], [1.0, 1.0])
        h.run()
        print("status", h.getModelStatus() == highspy.HighsModelStatus.kOptimal)
        print("x", [round(v, 6) for v in h.getSolution().col_value])
        """
    )
    assert out == "status True\nx [2.0, 3.0]\n"


def test_the_model_solves_without_a_banner():
    out = stdout_of(
        """
        from edge.config import parse_config
        from edge.planner.show import Asked, plan_for
        made = plan_for(parse_config({"tariff": {"kind": "go"}}), 0.0, Asked(), 6.0)
        print("planned", made.plan is not None)
        """
    )
    assert out == "planned True\n"
