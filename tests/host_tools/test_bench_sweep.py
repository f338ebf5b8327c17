"""The sweep on Dask: a small sweep on a LocalCluster of two worker processes, and on an
existing cluster through its scheduler's address, gives exactly the serial run's results
and report (the full run is `python -m host_tools bench sweep`, not a test)."""

from __future__ import annotations

import argparse
import json

import pytest
from distributed import LocalCluster

from host_tools.__main__ import main as host_tools_main
from host_tools.bench.sweep import HOUSES_CSV, add_arguments, cluster, houses, run
from host_tools.bench.sweep.tasks import SweepError, period, setting, tasks

# Two houses unlike each other (one with a heat pump), midsummer from midnight to 08:00:
# the morning's PV, the tank's first draw, the battery discharging overnight.
TABLE = (
    "id,kwp,tilt_deg,azimuth_deg,battery_kwh,tank_l,heat_pump_kw,annual_load_kwh,occupants,lat,lon\n"
    """east,4.0,35,100,4.8,180,0,3000,3,52.2,-1.5
west,2.5,30,250,2.4,150,6,2200,2,55.86,-4.25
"""
)
HOURS = 8.0


@pytest.fixture(scope="module")
def sweep():
    rows = houses.parse(TABLE)
    todo = tasks(
        rows, ("ours", "eddi"), ("flat", "agile"), (setting("default"),), (1,), period("172", HOURS)
    )
    return rows, todo, cluster.serial(todo)


def _comparable(doc):
    doc = json.loads(json.dumps(doc))  # as written
    for key in ("ran_on", "wall_s", "peak_rss_mb", "task_wall_s_median"):
        doc.pop(key)
    return doc


def test_the_serial_run_is_a_real_sweep(sweep):
    rows, _todo, results = sweep
    assert len(results) == 4 and [r["key"] for r in results] == sorted(r["key"] for r in results)
    by = {(rows[r["key"][0]].id, r["key"][1]): r["sums"] for r in results}
    for key, sums in by.items():
        assert sums["pv_kwh"] > 0.2, key  # the morning's sun
        assert sums["import_kwh"] > 0.0, key
    # Every controller of a house sees the same PV and load: only the control differs.
    for house in ("east", "west"):
        assert by[(house, "ours")]["pv_kwh"] == by[(house, "eddi")]["pv_kwh"]
        assert by[(house, "ours")]["load_kwh"] == by[(house, "eddi")]["load_kwh"]
        assert by[(house, "ours")]["leak_wh"] == 0.0
    assert by[("east", "ours")]["pv_kwh"] != by[("west", "ours")]["pv_kwh"]
    assert by[("west", "ours")]["hp_kwh"] >= 0.0 and by[("east", "ours")]["hp_kwh"] == 0.0


def test_two_workers_on_a_local_cluster_give_the_serial_result(sweep):
    rows, todo, reference = sweep
    results, where = cluster.on_dask(todo, workers=2)
    assert "2 worker processes" in where
    assert [r["key"] for r in results] == [r["key"] for r in reference]
    assert [r["sums"] for r in results] == [r["sums"] for r in reference]  # exactly
    workers = {r["worker"] for r in results}
    assert len(workers) == 2 and all(w.startswith("tcp://") for w in workers)
    assert all(50.0 < r["peak_rss_mb"] < 1000.0 for r in results)
    ours = run.document(rows, todo, results, where, 1.0)[0]
    serial = run.document(rows, todo, reference, "serial", 1.0)[0]
    assert _comparable(ours) == _comparable(serial)
    assert set(ours["peak_rss_mb"]) == workers


def test_an_existing_cluster_by_its_scheduler_address_gives_the_serial_result(sweep):
    _rows, todo, reference = sweep
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as existing:
        results, where = cluster.on_dask(todo, scheduler=existing.scheduler_address)
    assert where == f"scheduler {existing.scheduler_address}"
    assert [r["sums"] for r in results] == [r["sums"] for r in reference]


def test_the_report_gives_distributions_and_ours_less_the_status_quo(sweep, tmp_path):
    rows, todo, results = sweep
    doc, per_house = run.document(rows, todo, results, "serial", 1.0)
    p = todo[0].period
    assert p.year_weight == pytest.approx(365 * 24 / HOURS)
    h = next(x for x in per_house if x["house"] == "east" and x["controller"] == "ours")
    east = next(r for r in results if r["key"][:2] == [0, "ours"])
    assert h["import_kwh"] == pytest.approx(east["sums"]["import_kwh"] * p.year_weight, abs=1e-3)
    d = doc["distributions"]["default"]["ours"]["cost_flat"]
    costs = sorted(x["cost_flat"] for x in per_house if x["controller"] == "ours")
    assert d["worst"] == max(costs) and d["median"] == pytest.approx(sum(costs) / 2, abs=1e-3)
    assert d["q1"] <= d["median"] <= d["q3"]
    sc = doc["distributions"]["default"]["ours"]["self_consumption_pct"]
    assert sc["worst"] == min(
        x["self_consumption_pct"] for x in per_house if x["controller"] == "ours"
    )
    diff = doc["ours_minus"]["default"]["eddi"]["objective_agile"]
    pairs = (
        {x["house"]: x["objective_agile"] for x in per_house if x["controller"] == "ours"},
        {x["house"]: x["objective_agile"] for x in per_house if x["controller"] == "eddi"},
    )
    each = [pairs[0][k] - pairs[1][k] for k in ("east", "west")]
    assert diff["worst"] == pytest.approx(max(each), abs=1e-3)
    assert diff["ours_better"] == sum(1 for x in each if x < 0)
    text = run.report.markdown(doc)
    assert "| default | eddi | objective_agile |" in text and "Peak memory per worker" in text
    run.report.plot(doc, per_house, tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (("2.4,150,6", "5.0,150,6"), "row 3 (id 'west'), column battery_kwh = '5.0'"),
        (("52.2,-1.5", "48.85,2.35"), "row 2 (id 'east'), column lat = '48.85'"),
        (("occupants,lat", "occupants,ev_kwh,lat"), "column 'ev_kwh' is not one the simulator"),
        ((",3,52.2", ",7,52.2"), "row 2 (id 'east'), column occupants = '7'"),
        (("west,2.5", "east,2.5"), "row 3, column id = 'east': used twice"),
        ((",250,", ",,"), "row 3 (id 'west'), column azimuth_deg is empty"),
        (("4.0,35", "lots,35"), "row 2 (id 'east'), column kwp = 'lots'"),
        (("3000,3", "300,3"), "row 2 (id 'east'), column annual_load_kwh = '300'"),
    ],
)
def test_a_bad_houses_table_is_refused_naming_row_and_column(change, said):
    with pytest.raises(houses.HousesError) as exc:
        houses.parse(TABLE.replace(*change), "t.csv")
    assert said in str(exc.value)
    assert len(str(exc.value)) < 300


def test_the_command_refuses_a_bad_table_and_bad_arguments_before_running(tmp_path, capsys):
    bad = tmp_path / "houses.csv"
    bad.write_text(TABLE.replace("2.4,150,6", "5.0,150,6"))
    assert host_tools_main(["bench", "sweep", "--houses", str(bad), "--serial"]) == 2
    assert "column battery_kwh" in capsys.readouterr().err
    for args, said in (
        (["--days", "feb"], "--days 'feb'"),
        (["--days", "400"], "days are 1 to 365"),
        (["--controllers", "ours,sunny"], "'sunny' is not one of"),
        (["--tariffs", "flat,octopus"], "'octopus' is not one of"),
        (["--setting", "slow:lag_s=3"], "'lag_s' is not a setting"),
        (["--hours", "30", "--days", "80"], "--hours 30"),
    ):
        assert host_tools_main(["bench", "sweep", "--serial", *args]) == 2, args
        assert said in capsys.readouterr().err, args


def test_periods_and_their_weight_to_a_year():
    months = period("months")
    assert len(months.runs) == 12 and months.year_weight == pytest.approx(365 / 12)
    assert period("seasons").runs == ((15, 1), (105, 1), (196, 1), (288, 1))
    assert period("all").year_weight == 1.0 and "whole year" in period("all").describe()
    weeks = period("80+21")
    assert weeks.runs == ((80, 21),) and weeks.simulated_s == 21 * 86400


def test_synthetic_houses_are_seeded_within_their_distributions_and_round_trip():
    a, b = houses.synthetic(200, 7), houses.synthetic(200, 7)
    assert a == b and a != houses.synthetic(200, 8)
    d = houses.Distributions()
    assert all(d.kwp[0] <= r.kwp <= d.kwp[1] for r in a)
    assert all(d.annual_load_kwh[0] - 5 <= r.annual_load_kwh <= d.annual_load_kwh[1] + 5 for r in a)
    assert 0.15 < sum(r.heat_pump_kw > 0 for r in a) / len(a) < 0.35
    assert houses.parse(houses.to_csv(a)) == a
    shipped = houses.load(HOUSES_CSV)
    assert len(shipped) >= 50 and shipped == houses.synthetic(len(shipped), 1)


def test_a_row_becomes_the_simulated_house_it_says():
    east, west = houses.parse(TABLE)
    p = houses.house_params(east, seed=5, start_day_of_year=172)
    assert p.pack.modules == 2 and p.tank.volume_l == 180.0
    assert (p.pv.kwp, p.pv.tilt_deg, p.pv.azimuth_deg) == (4.0, 35.0, 100.0)  # type: ignore[union-attr]
    assert p.load.occupants == 3  # type: ignore[union-attr]
    assert p.load.annual_kwh + houses.EVENTS_KWH == pytest.approx(3000.0, abs=0.5)  # type: ignore[union-attr]
    assert p.heat_pump.heat_w == 0.0 and p.seed == 5
    w = houses.house_params(west, seed=5, start_day_of_year=172)
    assert w.heat_pump.heat_w == 6000.0 and w.heat_pump.house_ua_w_per_k == pytest.approx(180.0)


def test_the_load_events_a_year_are_what_the_load_model_draws():
    """houses.EVENTS_KWH (what annual_load_kwh less richardsonpy's part is) against the
    load model's own drawn events over many days."""
    import random

    from edge.sim.load import HouseholdLoad, LoadParams

    model = HouseholdLoad.__new__(HouseholdLoad)
    model.p = LoadParams()
    wh = 0.0
    n = 4000
    for day in range(n):
        for _name, a, b, power, period_s in model._day_events(random.Random(day)):
            wh += power * (b - a) / 3600.0 * (0.6 if period_s > 0 else 1.0)
    assert wh / n * 365 / 1000 == pytest.approx(houses.EVENTS_KWH, rel=0.03)


def test_the_parser_declares_the_documented_options():
    p = argparse.ArgumentParser()
    add_arguments(p)
    a = p.parse_args(["--scheduler", "tcp://10.0.0.2:8786", "--days", "months"])
    assert a.scheduler == "tcp://10.0.0.2:8786" and a.days == "months" and not a.serial
    with pytest.raises(SystemExit):
        p.parse_args(["--serial", "--scheduler", "tcp://x:1"])


def test_the_command_writes_its_report_json_and_plot(tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["bench", "sweep", "--serial", "--limit", "1", "--days", "172", "--hours", "1"]
    argv += ["--tariffs", "flat", "--out", str(out), "--json", str(tmp_path / "s.json")]
    assert host_tools_main(argv) == 0
    doc = json.loads((out / "sweep.json").read_text())
    assert doc == json.loads((tmp_path / "s.json").read_text())
    assert [(h["house"], h["controller"]) for h in doc["per_house"]] == [
        ("h0001", "eddi"),
        ("h0001", "ours"),
    ]
    assert doc["ran_on"].startswith("serial") and len(doc["peak_rss_mb"]) == 1
    assert "scaled to a year by x8760" in doc["period_described"]
    text = (out / "report.md").read_text()
    assert "| default | ours | cost_flat |" in text and text in capsys.readouterr().out
    assert (out / "sweep.png").stat().st_size > 10_000


def test_a_scheduler_that_is_not_there_is_named_in_a_one_line_error(sweep):
    _rows, todo, _reference = sweep
    with pytest.raises(SweepError, match=r"--scheduler tcp://127.0.0.1:9: no Dask scheduler"):
        cluster.on_dask(todo, scheduler="tcp://127.0.0.1:9", connect_timeout_s=2.0)
    with pytest.raises(SweepError, match="write tcp://HOST:PORT"):
        cluster.on_dask(todo, scheduler="10.0.0.5:8786")
