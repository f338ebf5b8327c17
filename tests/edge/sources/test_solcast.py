"""Solcast against a local HTTP server serving its documented answer."""

import asyncio

import httpx
import pytest

from edge.sources.series import SourceError
from edge.sources.solcast import fetch_forecasts
from tests.edge.sources.conftest import T0_S, solcast

SITE, KEY = "ba75-e17a-7374-95ed", "secret-key-123"
PATH = f"/rooftop_sites/{SITE}/forecasts"


def fetch(server, policy, kwp=5.0):
    async def go():
        async with httpx.AsyncClient() as client:
            return await fetch_forecasts(
                client, SITE, KEY, kwp, policy, base=server.url_for("/").rstrip("/")
            )

    return asyncio.run(go())


def test_the_key_goes_as_a_bearer_and_kw_become_w(httpserver, fast_policy):
    httpserver.expect_request(
        PATH,
        query_string={"format": "json", "hours": "48"},
        headers={"Authorization": f"Bearer {KEY}"},
    ).respond_with_json(solcast(T0_S + 1800, [0.5, 2.25, 4.0]))
    s = fetch(httpserver, fast_policy)
    assert s.t0_s == T0_S and s.power_w == (500.0, 2250.0, 4000.0)


def test_quarter_hour_periods_average_into_half_hours(httpserver, fast_policy):
    httpserver.expect_request(PATH).respond_with_json(
        solcast(T0_S + 900, [1.0, 3.0, 2.0, 2.0], "PT15M")
    )
    assert fetch(httpserver, fast_policy).power_w == (2000.0, 2000.0)


def test_a_wrong_key_is_not_retried(httpserver, fast_policy):
    httpserver.expect_request(PATH).respond_with_json(
        {"response_status": {"error_code": "Unauthorized"}}, status=401
    )
    with pytest.raises(SourceError, match=r"^solcast: HTTP 401"):
        fetch(httpserver, fast_policy)
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d["forecasts"][0].update(pv_estimate=3500), "outside 0 to 6"),  # W, not kW
        (lambda d: d["forecasts"][0].update(period="P1D"), r"period = 'P1D'"),
        (lambda d: d["forecasts"][0].update(period_end="2025-01-06T12:30"), "no UTC offset"),
        (lambda d: d.update(forecasts=[]), "non-empty 'forecasts' list"),
    ],
)
def test_wrong_units_and_shapes_are_refused(httpserver, fast_policy, change, why):
    doc = solcast(T0_S + 1800, [1.0, 2.0])
    change(doc)
    httpserver.expect_request(PATH).respond_with_json(doc)
    with pytest.raises(SourceError, match=f"^solcast: .*{why}"):
        fetch(httpserver, fast_policy)


def test_truncated_json(httpserver, fast_policy):
    httpserver.expect_request(PATH).respond_with_data(b'{"forecasts": [{"pv_est')
    with pytest.raises(SourceError, match=r"^solcast: answer is not JSON"):
        fetch(httpserver, fast_policy)
