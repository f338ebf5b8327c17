"""Forecast.Solar against a local HTTP server serving its documented answer."""

import asyncio

import httpx
import pytest

from edge.sources.forecast_solar import fetch_estimate
from edge.sources.pv_model import PvArray
from edge.sources.series import SourceError
from tests.edge.sources.conftest import forecast_solar

ARRAY = PvArray(kwp=4.0, tilt_deg=30.0, azimuth_deg=225.0)  # south-west
PATH = "/estimate/52.2000/-1.5000/30/45/4"


def fetch(server, policy):
    async def go():
        async with httpx.AsyncClient() as client:
            return await fetch_estimate(
                client, 52.2, -1.5, ARRAY, policy, base=server.url_for("/").rstrip("/")
            )

    return asyncio.run(go())


def test_local_times_are_read_in_the_sites_zone(httpserver, fast_policy):
    # 1 June: London is on BST (UTC+1); 0 W at 05:00, 2000 W at 06:00, 0 W at 07:00 local
    points = {"2025-06-01 05:00:00": 0, "2025-06-01 06:00:00": 2000, "2025-06-01 07:00:00": 0}
    httpserver.expect_request(PATH).respond_with_json(forecast_solar(points))
    s = fetch(httpserver, fast_policy)
    import datetime as dt

    assert s.t0_s == dt.datetime(2025, 6, 1, 4, 0, tzinfo=dt.UTC).timestamp()
    # the trapezoids: 500, 1500, 1500, 500 W over the four half hours (2 kWh in all)
    assert s.power_w == (500.0, 1500.0, 1500.0, 500.0)
    assert s.energy_wh(0, 2e9) == pytest.approx(2000.0)


def test_the_night_between_two_days_is_zero(httpserver, fast_policy):
    points = {
        "2025-01-06 16:00:00": 0,
        "2025-01-07 08:00:00": 0,
        "2025-01-07 09:00:00": 400,
    }
    httpserver.expect_request(PATH).respond_with_json(forecast_solar(points, "UTC"))
    s = fetch(httpserver, fast_policy)
    assert len(s.power_w) == 34 and set(s.power_w[:32]) == {0.0}
    assert s.power_w[-2:] == (100.0, 300.0)


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        (
            {"result": None, "message": {"code": 429, "type": "error", "text": "Rate limit"}},
            "message 'Rate limit' \\(not success\\)",
        ),
        (
            forecast_solar({"2025-01-06 12:00:00": 4.2e6}),
            r"watts\[.*\] = 4200000.0: outside 0 to 4800",
        ),
        (forecast_solar({"noon": 5}), "time 'noon': not a date and time"),
        (forecast_solar({"2025-01-06 12:00:00": 5}, "Mars/Olympus"), "unknown timezone"),
        (forecast_solar({}), "no result.watts"),
    ],
)
def test_bad_answers_are_refused(httpserver, fast_policy, doc, why):
    httpserver.expect_request(PATH).respond_with_json(doc)
    with pytest.raises(SourceError, match=f"^forecast.solar: {why}"):
        fetch(httpserver, fast_policy)


def test_its_rate_limit_answer_is_retried_then_reported(httpserver, fast_policy):
    httpserver.expect_request(PATH).respond_with_json(
        {"result": None, "message": {"code": 429, "type": "error"}}, status=429
    )
    with pytest.raises(SourceError, match="HTTP 429 TOO MANY REQUESTS after 3 tries"):
        fetch(httpserver, fast_policy)
