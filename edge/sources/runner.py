"""The sources' runner: an asyncio task that refreshes each configured source on its
period and keeps, for each, the latest good value and when it came.

A failed refresh (the file missing, the API down, a malformed answer) is logged once, in
one line naming the source and saying what is used instead, and changes nothing else:
the last good value stays in use until it is older than its staleness limit, and then
the planner gets None (the tariff's fixed rates; no PV forecast). Nothing a source does
can end the task: an unexpected exception is logged the same way.

The supervisor hands each tick's powers to record() (no I/O there: closed slots go to the
history's writer thread); snapshot() gives the planner everything at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import httpx

from edge.config import EdgeConfig
from edge.core.model import ProcessImage
from edge.errors import clip
from edge.sources import forecast_solar, octopus, openmeteo, solcast
from edge.sources.calibration import (
    Calibration,
    Nowcast,
    calibrated,
    nowcast,
    nowcast_ratio,
    pv_ratio,
)
from edge.sources.history import HistoryStore, Reading, SlotAccumulator, SlotRecord
from edge.sources.http import HttpPolicy
from edge.sources.indoor_temp import MqttIndoorTemp
from edge.sources.load_forecast import (
    HeatLine,
    LoadModel,
    fit_heat,
    forecast_heat,
    forecast_hot_water_wh,
    forecast_load,
)
from edge.sources.mqtt_prices import MqttPrices, Prices
from edge.sources.price_csv import read_prices_csv
from edge.sources.pv_model import PvArray
from edge.sources.series import (
    MAX_MESSAGE_CHARS,
    SLOT_S,
    PowerSeries,
    PriceSeries,
    SourceError,
    TemperatureSeries,
)
from edge.state_db import StorageHealth

log = logging.getLogger("edge.sources")

T = TypeVar("T")
RETRY_S = 300.0  # after a failed refresh, try again this soon (or the period, if sooner)


class SourcesClock(Protocol):
    def now_s(self) -> float:
        """Monotonic seconds: ages are measured on it."""
        ...

    def wall_s(self) -> float:
        """Unix seconds: what the APIs' times and the history's slots are on."""
        ...

    async def sleep(self, dt_s: float) -> None: ...


@dataclass
class Feed(Generic[T]):
    """One source's latest good value, when it came (clock.now_s) and its problem."""

    name: str
    stale_after_s: float
    instead: str  # what the planner uses without it
    value: T | None = None
    got_s: float | None = None
    problem: str | None = None

    def put(self, value: T, now_s: float) -> None:
        self.value, self.got_s = value, now_s
        if self.problem is not None:
            log.info("sources: %s read again", self.name)
        self.problem = None

    def fail(self, why: str, now_s: float) -> None:
        if why == self.problem:
            return  # said once
        self.problem = why
        age = self.age_s(now_s)
        if age is not None and age <= self.stale_after_s:
            using = f"the last good one, {age / 60:.0f} min old"
        else:
            using = self.instead
        log.warning("sources: %s", clip(f"{why}; using {using}", MAX_MESSAGE_CHARS))

    def age_s(self, now_s: float) -> float | None:
        return None if self.got_s is None else now_s - self.got_s

    def fresh(self, now_s: float) -> T | None:
        age = self.age_s(now_s)
        return self.value if age is not None and age <= self.stale_after_s else None


@dataclass(frozen=True)
class SourcesSnapshot:
    """What the planner reads (each None when its source is off, failing past its
    staleness limit, or not heard yet). Powers W, prices £/kWh, ages s."""

    import_prices: PriceSeries | None
    export_prices: PriceSeries | None
    pv: PowerSeries | None  # calibrated by pv_ratio
    pv_ratio: float
    t_out: TemperatureSeries | None
    load: PowerSeries
    hot_water_wh: tuple[float, ...]  # per slot of `load`'s grid
    heat_pump: PowerSeries | None  # its electrical power against t_out, from history
    ages_s: dict[str, float | None] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    indoor_degc: float | None = None  # the house's temperature now (sources.indoor_temp_topic)


def _value_at(series: PowerSeries | TemperatureSeries | None, t_s: float) -> float | None:
    if series is None:
        return None
    values = series.power_w if isinstance(series, PowerSeries) else series.t_out_degc
    k = math.floor((t_s - series.t0_s) / series.slot_s)
    return values[k] if 0 <= k < len(values) else None


class SourcesRunner:
    def __init__(
        self,
        cfg: EdgeConfig,
        clock: SourcesClock,
        *,
        history: HistoryStore | None = None,
        client: httpx.AsyncClient | None = None,
        client_id: str = "edge-prices",
    ) -> None:
        s = self.cfg = cfg.sources
        self.mqtt_cfg = cfg.mqtt
        self.clock = clock
        self.client_id = client_id
        self.prices_topic = s.prices_topic or f"{cfg.mqtt.base_topic}/prices"
        self.prices: Feed[Prices] = Feed(
            "prices", s.prices_stale_after_s, "the tariff's fixed rates"
        )
        self.pv: Feed[PowerSeries] = Feed("pv forecast", s.pv_stale_after_s, "no PV forecast")
        self.t_out: Feed[TemperatureSeries] = Feed("weather", s.pv_stale_after_s, "none")
        self.indoor: Feed[float] = Feed(
            "indoor temperature", s.indoor_temp_stale_after_s, "no heat pump in the plan"
        )
        self.policy = HttpPolicy(timeout_s=s.http_timeout_s, attempts=s.http_attempts)
        self.array = PvArray(
            s.pv_kwp, s.pv_tilt_deg, s.pv_azimuth_deg, losses_frac=s.pv_losses_pct / 100.0
        )
        self.calibration = Calibration(days=s.calibration_days)
        self.nowcast = Nowcast(blend_s=s.pv_nowcast_s)
        self.peak_w = s.pv_kwp * 1000.0
        self.load_model = LoadModel(blend_s=max(s.load_blend_s, 1e-3))
        self._client = client
        self._own_client = client is None
        self.history = history
        self.keep_s = s.history_days * 86400.0
        wall = clock.wall_s()
        self.records: list[SlotRecord] = history.load(wall - self.keep_s) if history else []
        self._acc = SlotAccumulator()
        self._mqtt: MqttPrices | None = None
        self._mqtt_indoor: MqttIndoorTemp | None = None
        self._heat_fit: tuple[tuple[int, int | None], HeatLine | None] | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=True)
        return self._client

    async def _refresh(self, feed: Feed[T], get: Callable[[], Awaitable[T]]) -> None:
        try:
            value = await get()
        except asyncio.CancelledError:
            raise
        except SourceError as exc:
            feed.fail(str(exc), self.clock.now_s())
        except Exception as exc:  # a bug in a parser must not end the runner
            feed.fail(f"{feed.name}: unexpected {type(exc).__name__}: {exc}", self.clock.now_s())
        else:
            feed.put(value, self.clock.now_s())

    async def _fetch_prices(self) -> Prices:
        s, wall = self.cfg, self.clock.wall_s()
        if s.prices == "csv":
            assert s.prices_csv is not None  # the config's validator
            imp, exp = await asyncio.to_thread(read_prices_csv, s.prices_csv)
            assert imp is not None
            return imp, exp
        assert s.octopus_product is not None and s.octopus_tariff is not None
        imp = await octopus.fetch_unit_rates(
            self.client,
            s.octopus_product,
            s.octopus_tariff,
            wall,
            self.policy,
            base=s.octopus_url,
            source="octopus import",
        )
        exp = None
        if s.octopus_export_product is not None and s.octopus_export_tariff is not None:
            exp = await octopus.fetch_unit_rates(
                self.client,
                s.octopus_export_product,
                s.octopus_export_tariff,
                wall,
                self.policy,
                base=s.octopus_url,
                source="octopus export",
            )
        return imp, exp

    async def _fetch_pv(self) -> PowerSeries:
        s = self.cfg
        if s.pv == "open_meteo":
            weather = await openmeteo.fetch_forecast(
                self.client,
                s.latitude_deg,
                s.longitude_deg,
                self.array,
                self.policy,
                base=s.open_meteo_url,
            )
            self.t_out.put(weather.t_out, self.clock.now_s())
            return weather.pv
        if s.pv == "forecast_solar":
            return await forecast_solar.fetch_estimate(
                self.client,
                s.latitude_deg,
                s.longitude_deg,
                self.array,
                self.policy,
                base=s.forecast_solar_url,
            )
        assert s.solcast_site is not None and s.solcast_api_key is not None
        return await solcast.fetch_forecasts(
            self.client,
            s.solcast_site,
            s.solcast_api_key,
            s.pv_kwp,
            self.policy,
            base=s.solcast_url,
        )

    async def refresh_prices(self) -> None:
        """One refresh of the prices (csv, octopus); mqtt prices arrive by themselves."""
        await self._refresh(self.prices, self._fetch_prices)

    async def refresh_pv(self) -> None:
        await self._refresh(self.pv, self._fetch_pv)

    def pv_period_s(self) -> float:
        s = self.cfg
        return (
            max(s.pv_period_s, solcast.SOLCAST_MIN_PERIOD_S) if s.pv == "solcast" else s.pv_period_s
        )

    async def _every(
        self, period_s: float, feed: Feed[T], refresh: Callable[[], Awaitable[None]]
    ) -> None:
        while True:
            await refresh()
            await self.clock.sleep(period_s if feed.problem is None else min(period_s, RETRY_S))

    def _into(self, feed: Feed[T]) -> tuple[Callable[[T], None], Callable[[str], None]]:
        """A subscriber's callbacks (on paho's thread) that put its values and problems
        into `feed` on this event loop, stamped with the runner's clock."""
        loop = asyncio.get_running_loop()

        def good(value: T) -> None:
            loop.call_soon_threadsafe(lambda: feed.put(value, self.clock.now_s()))

        def bad(why: str) -> None:
            loop.call_soon_threadsafe(lambda: feed.fail(why, self.clock.now_s()))

        return good, bad

    def _start_mqtt(self) -> None:
        good, bad = self._into(self.prices)
        self._mqtt = MqttPrices(self.mqtt_cfg, self.prices_topic, self.client_id, good, bad)
        self._mqtt.start()

    def start_indoor(self) -> None:
        """Subscribe to sources.indoor_temp_topic (where it is set); its readings arrive
        by themselves into self.indoor."""
        topic = self.cfg.indoor_temp_topic
        if topic is None or self._mqtt_indoor is not None:
            return
        good, bad = self._into(self.indoor)
        self._mqtt_indoor = MqttIndoorTemp(
            self.mqtt_cfg,
            topic,
            self.cfg.indoor_temp_field,
            f"{self.client_id}-indoor",
            good,
            bad,
        )
        self._mqtt_indoor.start()

    async def run(self) -> None:
        """Refresh every configured source on its period until cancelled."""
        loops = []
        if self.cfg.prices in ("csv", "octopus"):
            loops.append(self._every(self.cfg.prices_period_s, self.prices, self.refresh_prices))
        if self.cfg.prices == "mqtt":
            self._start_mqtt()
        self.start_indoor()
        if self.cfg.pv != "none":
            loops.append(self._every(self.pv_period_s(), self.pv, self.refresh_pv))
        try:
            await asyncio.gather(*loops)
            await asyncio.Event().wait()  # nothing to poll: mqtt or fixed prices only
        finally:
            await self.close()

    async def close(self) -> None:
        if self._mqtt is not None:
            self._mqtt.stop()
            self._mqtt = None
        if self._mqtt_indoor is not None:
            self._mqtt_indoor.stop()
            self._mqtt_indoor = None
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None
        if self.history is not None:
            self.history.close()

    def record(
        self,
        load_w: float,
        pv_w: float,
        tank_w: float = 0.0,
        heat_pump_w: float = 0.0,
        t_out_degc: float | None = None,
    ) -> None:
        """One tick's powers (W, each ≥ 0; load without the tank and the heat pump) and
        the outside temperature (without a reading: the weather forecast's for now)."""
        wall = self.clock.wall_s()
        fc_w = _value_at(self.pv.value, wall)
        if t_out_degc is None:
            t_out_degc = _value_at(self.t_out.value, wall)
        closed = self._acc.add(Reading(wall, load_w, pv_w, tank_w, heat_pump_w, t_out_degc, fc_w))
        if closed is None:
            return
        self.records.append(closed)
        while self.records and self.records[0].slot_start_s < wall - self.keep_s:
            self.records.pop(0)
        if self.history is not None:
            self.history.save(closed)

    def _nowcast(self, pv: PowerSeries, wall: float, ratio: float) -> PowerSeries:
        """pv (calibrated by ratio) pulled toward the last whole slot measured, when that
        slot is the one just before now's (calibration.nowcast)."""
        last = self.records[-1] if self.records else None
        if last is None or last.slot_start_s + 2 * last.slot_s <= wall:
            return pv
        fc = last.pv_forecast_wh * ratio if last.pv_forecast_wh is not None else None
        r = nowcast_ratio(last.pv_wh, fc, self.nowcast)
        power = nowcast(pv.power_w, pv.t0_s, pv.slot_s, wall, r, self.peak_w, self.nowcast)
        return PowerSeries(pv.t0_s, pv.slot_s, power)

    def _heat_line(self) -> HeatLine | None:
        """The energy signature, fitted again only when the history has changed."""
        key = (len(self.records), self.records[-1].slot_start_s if self.records else None)
        if self._heat_fit is None or self._heat_fit[0] != key:
            self._heat_fit = (key, fit_heat(self.records))
        return self._heat_fit[1]

    def snapshot(
        self, n: int, live_load_w: float | None = None, slot_s: float = SLOT_S
    ) -> SourcesSnapshot:
        """Everything the planner needs for n slots from the current one."""
        now, wall = self.clock.now_s(), self.clock.wall_s()
        prices = self.prices.fresh(now)
        ratio = pv_ratio(self.records, wall, self.calibration)
        pv = self.pv.fresh(now)
        t_out = self.t_out.fresh(now)
        load = forecast_load(self.records, wall, slot_s, n, live_load_w, self.load_model)
        line = self._heat_line()
        feeds: list[Feed[Prices] | Feed[PowerSeries] | Feed[TemperatureSeries] | Feed[float]] = [
            self.prices,
            self.pv,
            self.t_out,
        ]
        if self.cfg.indoor_temp_topic is not None:
            feeds.append(self.indoor)
        return SourcesSnapshot(
            import_prices=prices[0] if prices else None,
            export_prices=prices[1] if prices else None,
            pv=self._nowcast(calibrated(pv, ratio), wall, ratio) if pv is not None else None,
            pv_ratio=ratio,
            t_out=t_out,
            load=load,
            hot_water_wh=forecast_hot_water_wh(self.records, load.t0_s, slot_s, n, self.load_model),
            heat_pump=forecast_heat(line, t_out)
            if line is not None and t_out is not None
            else None,
            ages_s={f.name: f.age_s(now) for f in feeds},
            problems=tuple(f.problem for f in feeds if f.problem is not None),
            indoor_degc=self.indoor.fresh(now),
        )


def build_runner(cfg: EdgeConfig, clock: SourcesClock, storage: StorageHealth) -> SourcesRunner:
    """The runner for a live site, its history in site.state_db (reported to the run's
    StorageHealth). The composition root starts `runner.run()` among supervise()'s
    extra_tasks when the planner is enabled, and the supervisor's tick calls
    runner.record(...) with the image's powers (docs/sources.md, "Wiring")."""
    history = HistoryStore(cfg.site.state_db, storage, keep_days=cfg.sources.history_days)
    return SourcesRunner(cfg, clock, history=history, client_id=f"{cfg.mqtt.base_topic}-prices")


def household_w(image: ProcessImage) -> tuple[float, float, float, float] | None:
    """The household's appliances, PV, the tank's element and the heat pump (W, each >= 0)
    from the image, for the sources' history; None without an inverter reading."""
    if image.inverter is None:
        return None
    inv = image.inverter.value
    tank_w = hp_w = 0.0
    if image.loads is not None:
        tank_w, hp_w = image.loads.value.heater_w, image.loads.value.heat_pump_w
    load_w = max(0.0, inv.load_power_w - tank_w - hp_w)
    return load_w, max(0.0, inv.pv_power_w), max(0.0, tank_w), max(0.0, hp_w)


class HistoryFeed:
    """The tick's powers into the sources' history where nothing plans (an S2 tank's usage
    forecast reads that history): the supervisor's PlanFeed with no slot. Never raises."""

    def __init__(self, runner: SourcesRunner) -> None:
        self.runner = runner
        self._failing = False

    def slot(self, now_s: float) -> None:
        return None

    def observe(self, image: ProcessImage) -> None:
        powers = household_w(image)
        if powers is None:
            return
        try:
            self.runner.record(*powers)
        except Exception as exc:  # the tick goes on; the history misses this reading
            if not self._failing:
                log.warning("sources: recording the tick's powers failed: %s", clip(str(exc)))
            self._failing = True
        else:
            self._failing = False
