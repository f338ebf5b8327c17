"""The Octopus client against a local HTTP server serving the documented answers."""

import asyncio
import time

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from edge.sources.octopus import fetch_unit_rates, rates_url
from edge.sources.series import SourceError
from tests.edge.sources.conftest import T0_S, iso, octopus_page

PRODUCT, TARIFF = "AGILE-24-10-01", "E-1R-AGILE-24-10-01-C"
PATH = "/v1/products/AGILE-24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-C/standard-unit-rates/"


def fetch(server: HTTPServer, policy, now_s: float = T0_S + 600):
    async def go():
        async with httpx.AsyncClient() as client:
            return await fetch_unit_rates(
                client, PRODUCT, TARIFF, now_s, policy, base=server.url_for("/").rstrip("/")
            )

    return asyncio.run(go())


def test_the_url_is_the_documented_one():
    assert rates_url("https://api.octopus.energy/", PRODUCT, TARIFF) == (
        "https://api.octopus.energy" + PATH
    )


def test_rates_newest_first_become_a_series_from_the_current_half_hour(httpserver, fast_policy):
    prices = [20.0, -3.5, 35.07, 12.0]
    httpserver.expect_request(
        PATH,
        query_string={
            "period_from": iso(T0_S),
            "period_to": iso(T0_S + 48 * 3600),
            "page_size": "1500",
        },
    ).respond_with_json(octopus_page(T0_S, prices))
    series = fetch(httpserver, fast_policy)
    assert series.t0_s == T0_S and series.slot_s == 1800.0
    assert series.prices_gbp_per_kwh == tuple(p / 100 for p in prices)


def test_pages_are_followed(httpserver, fast_policy):
    nxt = httpserver.url_for(PATH) + "?page=2"
    httpserver.expect_request(PATH, query_string={"page": "2"}).respond_with_json(
        octopus_page(T0_S, [10.0, 11.0])
    )
    httpserver.expect_request(PATH).respond_with_json(
        octopus_page(T0_S + 3600, [12.0, 13.0], next_url=nxt)
    )
    series = fetch(httpserver, fast_policy)
    assert series.prices_gbp_per_kwh == (0.10, 0.11, 0.12, 0.13)


def test_a_404_is_not_retried_and_says_so(httpserver, fast_policy):
    httpserver.expect_request(PATH).respond_with_json({"detail": "Not found."}, status=404)
    with pytest.raises(SourceError, match=r"^octopus: HTTP 404 NOT FOUND from (localhost|127)"):
        fetch(httpserver, fast_policy)
    assert len(httpserver.log) == 1


def test_a_503_is_retried_with_backoff_then_given_up(httpserver, fast_policy):
    httpserver.expect_request(PATH).respond_with_data("busy", status=503)
    with pytest.raises(SourceError, match="HTTP 503 SERVICE UNAVAILABLE after 3 tries"):
        fetch(httpserver, fast_policy)
    assert len(httpserver.log) == 3


def test_a_5xx_then_a_good_answer_is_a_good_answer(httpserver, fast_policy):
    httpserver.expect_ordered_request(PATH).respond_with_data("oops", status=502)
    httpserver.expect_ordered_request(PATH).respond_with_json(octopus_page(T0_S, [5.0]))
    assert fetch(httpserver, fast_policy).prices_gbp_per_kwh == (0.05,)


def test_no_answer_within_the_timeout(httpserver, fast_policy):
    def slow(_req: Request) -> Response:
        time.sleep(fast_policy.timeout_s + 0.3)
        return Response("{}", content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(slow)
    t = time.monotonic()
    with pytest.raises(SourceError, match=r"no answer within 0.5 s after 3 tries"):
        fetch(httpserver, fast_policy)
    assert time.monotonic() - t < 3 * (fast_policy.timeout_s + 0.3) + 1


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>gateway</html>", "answer is not JSON"),
        (b'{"count": 2, "results": [{"value_inc_vat": 1', "answer is not JSON"),
        (b"[]", "expected an object with a 'results' list"),
        (b'{"results": [7]}', r"results\[0\]: expected an object"),
    ],
)
def test_garbage_and_truncated_json_are_refused(httpserver, fast_policy, body, why):
    httpserver.expect_request(PATH).respond_with_data(body, content_type="application/json")
    with pytest.raises(SourceError, match=why):
        fetch(httpserver, fast_policy)


def test_wrong_units_and_shapes_are_refused(httpserver, fast_policy):
    page = octopus_page(T0_S, [20.0, 21.0])
    page["results"][0]["value_inc_vat"] = 250000.0  # £2500/kWh: not p/kWh
    httpserver.expect_request(PATH).respond_with_json(page)
    with pytest.raises(SourceError, match=r"value_inc_vat = 250000.0: outside -1000 to 1000"):
        fetch(httpserver, fast_policy)


def test_an_open_ended_rate_is_not_half_hourly(httpserver, fast_policy):
    page = octopus_page(T0_S, [20.0])
    page["results"][0]["valid_to"] = None
    httpserver.expect_request(PATH).respond_with_json(page)
    with pytest.raises(SourceError, match="open-ended rate"):
        fetch(httpserver, fast_policy)


def test_an_answer_too_large_is_refused_unread(httpserver):
    from edge.sources.http import HttpPolicy

    httpserver.expect_request(PATH).respond_with_data(b" " * 5000)
    with pytest.raises(SourceError, match="answer over 1000 bytes"):
        fetch(httpserver, HttpPolicy(timeout_s=1, attempts=1, max_bytes=1000))


def test_a_refused_connection_is_retried_and_named(fast_policy):
    from edge.mqtt.broker import free_port

    async def go():
        async with httpx.AsyncClient() as client:
            return await fetch_unit_rates(
                client, PRODUCT, TARIFF, T0_S, fast_policy, base=f"http://127.0.0.1:{free_port()}"
            )

    with pytest.raises(SourceError, match=r"ConnectError.* after 3 tries"):
        asyncio.run(go())
