"""Open-Meteo against a local HTTP server serving its documented answer."""

import asyncio

import httpx
import pytest

from edge.sources.openmeteo import fetch_forecast
from edge.sources.pv_model import PvArray, ac_power_w
from edge.sources.series import SourceError
from tests.edge.sources.conftest import T0_S, open_meteo

ARRAY = PvArray(kwp=5.0, tilt_deg=35.0, azimuth_deg=135.0)  # south-east


def fetch(server, policy):
    async def go():
        async with httpx.AsyncClient() as client:
            return await fetch_forecast(
                client, 52.2, -1.5, ARRAY, policy, base=server.url_for("/").rstrip("/")
            )

    return asyncio.run(go())


def test_the_request_names_the_plane_in_open_meteos_convention(httpserver, fast_policy):
    httpserver.expect_request(
        "/v1/forecast",
        query_string={
            "latitude": "52.2",
            "longitude": "-1.5",
            "hourly": "global_tilted_irradiance,temperature_2m",
            "tilt": "35.0",
            "azimuth": "-45.0",  # 135° (south-east) is -45° from south
            "forecast_days": "2",
            "timeformat": "unixtime",
            "timezone": "UTC",
        },
    ).respond_with_json(open_meteo(T0_S, [0.0, 400.0, 800.0], [5.0, 10.0, 20.0]))
    w = fetch(httpserver, fast_policy)
    # each hour's mean irradiance holds for both of its half hours
    expected = [ac_power_w(ARRAY, g, t) for g, t in ((0, 5), (400, 10), (800, 20))]
    assert w.pv.t0_s == T0_S
    assert w.pv.power_w == pytest.approx([p for p in expected for _ in (0, 1)])
    assert 0 < expected[1] < expected[2] < 5000 * 0.86
    # temperatures are instants: the half hour around each
    assert w.t_out.t0_s == T0_S + 1800
    assert w.t_out.t_out_degc[:4] == (5.0, 5.0, 10.0, 10.0)


def test_the_model_loses_power_in_the_heat_and_stops_at_the_array():
    cold, hot = ac_power_w(ARRAY, 1000, 0.0), ac_power_w(ARRAY, 1000, 35.0)
    assert hot < cold <= 5000 * 0.86
    assert ac_power_w(ARRAY, -20, 10.0) == 0.0
    assert abs(PvArray(1, 0, 0).azimuth_from_south_deg) == 180.0
    assert PvArray(1, 0, 270).azimuth_from_south_deg == 90.0


def test_values_past_the_horizon_end_the_series(httpserver, fast_policy):
    httpserver.expect_request("/v1/forecast").respond_with_json(
        open_meteo(T0_S, [100.0, None, None], [5.0, None, None])
    )
    assert len(fetch(httpserver, fast_policy).pv.power_w) == 2


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d["hourly_units"].update(global_tilted_irradiance="kW/m²"), "in 'kW/m²'"),
        (lambda d: d["hourly_units"].update(temperature_2m="°F"), "expected °C"),
        (lambda d: d["hourly_units"].update(time="iso8601"), "expected unixtime"),
        (lambda d: d["hourly"]["temperature_2m"].pop(), "not lists of one length"),
        (lambda d: d["hourly"]["global_tilted_irradiance"].__setitem__(0, 5e4), "outside"),
        (lambda d: d.pop("hourly"), "no 'hourly' block"),
    ],
)
def test_wrong_units_and_shapes_are_refused(httpserver, fast_policy, change, why):
    doc = open_meteo(T0_S, [0.0, 400.0], [5.0, 6.0])
    change(doc)
    httpserver.expect_request("/v1/forecast").respond_with_json(doc)
    with pytest.raises(SourceError, match=f"^open-meteo: .*{why}"):
        fetch(httpserver, fast_policy)


def test_its_error_answer_is_a_clear_message(httpserver, fast_policy):
    httpserver.expect_request("/v1/forecast").respond_with_json(
        {"error": True, "reason": "Latitude must be in range of -90 to 90°."}, status=400
    )
    with pytest.raises(SourceError, match=r"^open-meteo: HTTP 400"):
        fetch(httpserver, fast_policy)
    assert len(httpserver.log) == 1
