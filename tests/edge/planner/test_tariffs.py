"""Tariffs as data: the published windows, prices by slot, series from CSV, bad files."""

from __future__ import annotations

import pytest

from edge.config import TariffConfig
from edge.planner.prices import tariff_of
from edge.planner.tariffs import (
    STRUCTURES,
    AgileFormula,
    SlotSeries,
    TariffError,
    preset,
    series_from_csv,
)

H = 3600.0


def test_economy7_night_is_0030_to_0730():
    e7 = preset("economy7")
    assert e7.import_gbp_per_kwh(0.25 * H) == pytest.approx(0.30)
    assert e7.import_gbp_per_kwh(0.5 * H) == pytest.approx(0.13)
    assert e7.import_gbp_per_kwh(7.49 * H) == pytest.approx(0.13)
    assert e7.import_gbp_per_kwh(7.5 * H) == pytest.approx(0.30)
    # The next day too: the windows repeat on the local clock.
    assert e7.import_gbp_per_kwh(86400.0 + 3 * H) == pytest.approx(0.13)


def test_published_windows_as_their_sources_state_them():
    # Literal hours from each source (docs/planner.md's table).
    assert STRUCTURES["go"].windows["night"] == ((0.5, 5.5),)
    assert STRUCTURES["cosy"].windows["night"] == ((4.0, 7.0), (13.0, 16.0), (22.0, 24.0))
    assert STRUCTURES["cosy"].windows["peak"] == ((16.0, 19.0),)
    assert STRUCTURES["flux"].windows["night"] == ((2.0, 5.0),)
    assert all(s.source for s in STRUCTURES.values())


def test_intelligent_go_wraps_midnight():
    igo = preset("intelligent_go", {"night": 0.07, "day": 0.27})
    assert igo.import_gbp_per_kwh(23.75 * H) == pytest.approx(0.07)
    assert igo.import_gbp_per_kwh(2 * H) == pytest.approx(0.07)
    assert igo.import_gbp_per_kwh(12 * H) == pytest.approx(0.27)


def test_flux_exports_dearest_at_the_peak():
    flux = preset("flux")
    peak, night, day = (flux.export_gbp_per_kwh(h * H) for h in (17, 3, 12))
    assert peak > day > night
    assert flux.import_gbp_per_kwh(17 * H) > flux.import_gbp_per_kwh(12 * H)


def test_local_clock_offset_moves_the_windows():
    # BST: the local clock is an hour ahead, so 23:30 UTC is 00:30 local, Go's cheap start.
    go = preset("go", utc_offset_s=H)
    assert go.import_gbp_per_kwh(23.5 * H) == pytest.approx(0.085)
    assert go.import_gbp_per_kwh(4.75 * H) == pytest.approx(0.27)


def test_agile_formula_peak_cap_and_negative():
    f = AgileFormula()
    assert f.import_gbp_per_kwh(0.10, 12.0) == pytest.approx(0.22)
    assert f.import_gbp_per_kwh(0.10, 17.0) == pytest.approx(0.34)  # + 12 p at the peak
    assert f.import_gbp_per_kwh(1.00, 17.0) == pytest.approx(1.00)  # capped
    assert f.import_gbp_per_kwh(-0.02, 3.0) < 0  # negative wholesale, negative price


def test_series_overrides_and_falls_back_past_its_end():
    s = SlotSeries(0.0, 1800.0, (0.10, -0.05, 0.30))
    t = preset("agile", {"day": 0.25}, import_series=s)
    assert t.prices(0.0, 4, 1800.0)[0] == pytest.approx([0.10, -0.05, 0.30, 0.25])
    assert t.known_until_s() == 5400.0


def test_series_from_csv_reads_agile_rows():
    text = (
        "start,price_p_per_kwh\n"
        "2026-01-01T00:00:00+00:00,12.5\n"
        "2026-01-01T00:30:00+00:00,-1.2\n"
        "2026-01-01T01:00:00Z,30\n"
    )
    s = series_from_csv(text)
    assert s.slot_s == 1800.0
    assert s.prices_gbp_per_kwh == pytest.approx((0.125, -0.012, 0.30))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("when,price\n", "header needs"),
        ("start,price_p_per_kwh\n", "no prices"),
        ("start,price_p_per_kwh\n2026-01-01T00:00Z,abc\n", "line 2"),
        ("start,price_p_per_kwh\n2026-01-01T00:00Z,1e9\n", "out of range"),
        ("start,price_p_per_kwh\n2026-01-01T00:00Z,1\n2026-01-01T00:20Z,1\n", "slots of 1200"),
        (
            "start,price_p_per_kwh\n2026-01-01T00:00Z,1\n2026-01-01T00:30Z,1\n"
            "2026-01-01T02:00Z,1\n",
            "line 4",
        ),
    ],
)
def test_bad_price_csv_names_what_is_wrong(text, fragment):
    with pytest.raises(TariffError, match=fragment):
        series_from_csv(text, "prices.csv")


def test_unknown_kind_and_absurd_price_are_refused():
    with pytest.raises(TariffError, match="unknown"):
        preset("octopus_magic")
    with pytest.raises(TariffError, match="out of range"):
        preset("flat", {"day": float("nan")})


def test_site_settings_give_the_tariff(tmp_path):
    csv_path = tmp_path / "agile.csv"
    csv_path.write_text("start,price_p_per_kwh\n1970-01-01T00:00Z,5\n1970-01-01T00:30Z,7\n")
    cfg = TariffConfig(kind="agile", prices_csv=str(csv_path), export_p_per_kwh=4.0)
    tariff, problems = tariff_of(cfg)
    assert problems == []
    assert tariff.import_gbp_per_kwh(10.0) == pytest.approx(0.05)
    assert tariff.export_gbp_per_kwh(10.0) == pytest.approx(0.04)


def test_a_missing_or_garbled_price_file_falls_back_and_says_so(tmp_path):
    cfg = TariffConfig(kind="agile", prices_csv=str(tmp_path / "none.csv"), day_p_per_kwh=20.0)
    tariff, problems = tariff_of(cfg)
    assert len(problems) == 1 and "cannot read" in problems[0] and "fixed rates" in problems[0]
    assert tariff.import_gbp_per_kwh(0.0) == pytest.approx(0.20)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe garbage")
    last = SlotSeries(0.0, 1800.0, (0.01,))
    cfg = TariffConfig(kind="agile", prices_csv=str(bad))
    tariff, problems = tariff_of(cfg, last_import=last)
    assert "not UTF-8" in problems[0] and "last good" in problems[0]
    assert tariff.import_gbp_per_kwh(0.0) == pytest.approx(0.01)
