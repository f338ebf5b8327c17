"""The simulated house's weather forecast, served as Open-Meteo's forecast API on a local
port: where `edge demo` gets the outside temperature the planner's house model needs (and
the PV forecast), through the same source (sources.pv = "open_meteo", edge/sources/
openmeteo.py) a real site uses.

GET /v1/forecast answers what the API does for `forecast_days` (1 to 7, default 7 as the
API's; the runner asks for 2) days from this UTC day's midnight, hourly, timeformat
unixtime (open-meteo.com/en/docs; docs/sources.md): `temperature_2m` is the simulated
outside temperature at each time (edge/sim/heatpump.py), `global_tilted_irradiance` the
mean over the hour before it of the simulated PV power over the array's peak and derate
(edge/sim/pv.py: power = irradiance x kWp x derate; the scenario's bell uses the same
0.85). The forecast is perfect: it is the plant's own weather.

Times: the forecast is in Unix seconds; the house runs on the demo's simulated clock. An
hour at Unix time u is the house's u + (clock.now_s() - clock.wall_s()) read at the
request, the offset the planner moves its slots by (edge/planner/live.py). At --speed
above 1 the offset grows, so an older forecast drifts: the demo reads it every 10
simulated minutes (sources.pv_period_s).

The server runs in its own thread (http.server), on its own copy of the house's PV model,
so it never touches the house the event loop steps.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from edge.clock import ScaledClock
from edge.sim.house import House, HouseParams
from edge.sim.pv import PvParams

HOUR_S = 3600
DAY_S = 86400
MAX_DAYS = 7
SAMPLE_S = 60  # the hour's mean irradiance from one PV value a simulated minute
PATH = "/v1/forecast"


class SimulatedWeather:
    """The simulated house's weather by Unix time: a copy of its PV model (the same params
    and seed, so the same sky) and its outside temperature."""

    def __init__(self, params: HouseParams, clock: ScaledClock) -> None:
        # No household load: the copy is for the sky only (richardsonpy takes seconds).
        self._house = House(dataclasses.replace(params, load=None), clock.now_s())
        self._clock = clock
        self._kwp_derate = params.pv_kwp * (params.pv or PvParams()).derate
        self._lock = threading.Lock()  # one request at a time on the model's day cache

    def _pv_w(self, t_s: float) -> float:
        return self._house.pv_w_at(t_s)

    def hourly(self, start_unix_s: int, hours: int) -> dict[str, Any]:
        """Open-Meteo's answer for `hours` hours, the first ending at start_unix_s + 1 h."""
        offset_s = self._clock.now_s() - self._clock.wall_s()
        times, gti, temp = [], [], []
        with self._lock:
            for k in range(hours):
                end_unix = start_unix_s + (k + 1) * HOUR_S
                end_s = end_unix + offset_s  # the house's clock
                pv = [self._pv_w(end_s - HOUR_S + j) for j in range(0, HOUR_S, SAMPLE_S)]
                times.append(end_unix)
                gti.append(round(math.fsum(pv) / len(pv) / self._kwp_derate, 1))
                temp.append(round(self._house.heat_pump.t_out_degc(end_s), 2))
        return {
            "latitude": (self._house.p.pv or PvParams()).latitude_deg,
            "longitude": (self._house.p.pv or PvParams()).longitude_deg,
            "utc_offset_seconds": 0,
            "timezone": "GMT",
            "hourly_units": {
                "time": "unixtime",
                "global_tilted_irradiance": "W/m²",
                "temperature_2m": "°C",
            },
            "hourly": {"time": times, "global_tilted_irradiance": gti, "temperature_2m": temp},
        }

    def forecast(self, days: int) -> dict[str, Any]:
        """`days` days from this UTC day's midnight (wall clock)."""
        midnight = int(self._clock.wall_s()) // DAY_S * DAY_S
        return self.hourly(midnight - HOUR_S, days * 24)


def _days(query: str) -> int:
    """forecast_days from the query; ValueError naming it when it is not 1 to MAX_DAYS."""
    values = parse_qs(query).get("forecast_days", [str(MAX_DAYS)])
    try:
        days = int(values[-1])
    except ValueError:
        raise ValueError(f"forecast_days = {values[-1][:20]!r}: expected a whole number") from None
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"forecast_days = {days}: expected 1 to {MAX_DAYS}")
    return days


class WeatherServer:
    """SimulatedWeather on http://127.0.0.1:PORT (port 0: a free one); start(), then url."""

    def __init__(self, weather: SimulatedWeather, host: str = "127.0.0.1", port: int = 0) -> None:
        self.weather = weather
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server calls it so
                url = urlsplit(self.path)
                if url.path != PATH:
                    self._answer(404, {"error": True, "reason": f"no such path: {url.path}"})
                    return
                try:
                    days = _days(url.query)
                except ValueError as exc:  # Open-Meteo's own error shape
                    self._answer(400, {"error": True, "reason": str(exc)})
                    return
                server.requests += 1
                self._answer(200, server.weather.forecast(days))

            def _answer(self, status: int, doc: dict[str, Any]) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line a request would bury the demo's own

        self._http = ThreadingHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="sim-weather", daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL (sources.open_meteo_url)."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, started or not
            self._http.shutdown()
        self._http.server_close()
