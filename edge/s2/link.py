"""The link to the CEM: a WebSocket client (s2-python's medium on `websockets`), TLS with the
site's CA, a bearer token, and a new session after any loss, with backoff.

Before s2-python parses a message, the medium screens it: a message that is not UTF-8, not
a JSON object, or has no message_id that is a UUID (a ReceptionStatus has none) gets
ReceptionStatus INVALID_DATA here (s2-python's own answer would end the session on some of
those); a JSON object that breaks
S2's schema gets INVALID_MESSAGE from s2-python. Messages are at most MAX_MESSAGE_BYTES.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import ssl
import uuid
from collections.abc import AsyncGenerator
from dataclasses import fields
from pathlib import Path
from typing import Any

import websockets
from s2python.common import Duration, ReceptionStatus, ReceptionStatusValues, SessionRequestType
from s2python.connection.asset_details import AssetDetails
from s2python.connection.async_.connection import S2AsyncConnection
from s2python.connection.async_.control_type.class_based import (
    ResourceManagerHandler,
    S2ControlType,
)
from s2python.connection.async_.medium.s2_medium import (
    MediumClosedConnectionError,
    MediumCouldNotConnectError,
    UnparsedMediumData,
)
from s2python.connection.async_.medium.websocket import WebsocketClientMedium
from websockets.asyncio.client import connect

from edge.config import EdgeConfig, S2Config
from edge.drivers.backoff import Backoff
from edge.errors import clip
from edge.s2.battery import Battery, BatteryIds
from edge.s2.export import ExportIds, ExportLimit
from edge.s2.frbc import NO_MESSAGE_ID, QUANTITY, FrbcDevice
from edge.s2.heat_pump import HeatPump, HeatPumpIds
from edge.s2.resource import DeviceResource, Host, resource_for
from edge.s2.status import LinkState, LinkStatus
from edge.s2.tank import DrawForecast, Draws, Tank, TankIds
from edge.sources.history import SlotRecord
from edge.sources.load_forecast import forecast_hot_water_wh
from edge.sources.series import SLOT_S

log = logging.getLogger("edge.s2")

MAX_MESSAGE_BYTES = 256 * 1024  # a system description is a few kB
OPEN_TIMEOUT_S = 10.0


def _screen(message: UnparsedMediumData) -> str | None:
    """Why a message cannot go to s2-python's parser, or None when it may."""
    try:
        text = message.decode("utf-8") if isinstance(message, bytes) else message
        doc = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "not JSON text"
    if not isinstance(doc, dict):
        return "not a JSON object"
    if doc.get("message_type") == "ReceptionStatus":  # the one kind without a message_id
        return None
    try:
        uuid.UUID(str(doc.get("message_id")))
    except ValueError:
        return "no message_id that is a UUID"
    return None


class CemMedium(WebsocketClientMedium):
    """s2-python's WebSocket medium with the site's CA file and the screening above."""

    def __init__(self, cfg: S2Config) -> None:
        super().__init__(cfg.url, verify_certificate=True, bearer_token=cfg.token)
        self.cfg = cfg

    async def connect(self) -> None:
        kwargs: dict[str, Any] = {"max_size": MAX_MESSAGE_BYTES, "open_timeout": OPEN_TIMEOUT_S}
        if self.cfg.url.startswith("wss://"):
            kwargs["ssl"] = ssl.create_default_context(cafile=self.cfg.ca_file)
        if self.cfg.token:
            kwargs["additional_headers"] = {"Authorization": f"Bearer {self.cfg.token}"}
        try:
            self._ws = await connect(self.cfg.url, **kwargs)
        except (OSError, EOFError, TimeoutError, websockets.WebSocketException) as exc:
            self._closed = True
            raise MediumCouldNotConnectError(f"could not connect: {exc}") from exc

    async def messages(self) -> AsyncGenerator[UnparsedMediumData, None]:
        async for message in super().messages():
            why = _screen(message)
            if why is None:
                yield message
                continue
            log.warning("S2: a message from the CEM refused: %s", why)
            status = ReceptionStatus(
                subject_message_id=NO_MESSAGE_ID,
                status=ReceptionStatusValues.INVALID_DATA,
                diagnostic_label=f"refused: {why}",
            )
            await self.send(status.to_json())


def resource_id(cfg: EdgeConfig, label: str) -> uuid.UUID:
    """A device's S2 resource id: the same for a site across restarts."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:edge:{cfg.site.name}:{label}")


def battery_of(cfg: EdgeConfig) -> Battery:
    return Battery(
        BatteryIds(resource_id(cfg, "battery")),
        capacity_wh=float(cfg.battery.capacity_wh),
        round_trip_efficiency=cfg.s2.round_trip_efficiency_pct / 100.0,
        hold_s=cfg.policy.hold_s,
    )


USAGE_FORECAST_SLOTS = 48  # a day ahead, in the history's half-hour slots
_HISTORY = f"SELECT {', '.join(f.name for f in fields(SlotRecord))} FROM load_history"


def history_draws(cfg: EdgeConfig) -> Draws:
    """The tank's draw forecast from the history table in site.state_db (written where the
    sources runner runs, edge/sources/history.py), read when the tank is described: the
    last sources.history_days; None where the file, the table or any row is missing."""
    keep_s = cfg.sources.history_days * 86400.0

    def read(now_s: float) -> DrawForecast | None:
        if cfg.site.state_db == ":memory:":
            return None
        path = Path(cfg.site.state_db).expanduser()
        try:
            with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
                rows = db.execute(
                    f"{_HISTORY} WHERE slot_start_s >= ? ORDER BY slot_start_s",
                    (int(now_s - keep_s),),
                ).fetchall()
        except (sqlite3.Error, ValueError) as exc:
            log.debug("S2: no hot-water history in %s: %s", path, exc)
            return None
        records = [SlotRecord(*row) for row in rows if row[1] == SLOT_S]
        if not records:
            return None
        t0_s = now_s - now_s % SLOT_S
        wh = forecast_hot_water_wh(records, t0_s, SLOT_S, USAGE_FORECAST_SLOTS)
        return DrawForecast(t0_s, SLOT_S, wh)

    return read


def tank_of(cfg: EdgeConfig) -> Tank:
    s2 = cfg.s2
    return Tank(
        TankIds(resource_id(cfg, "tank")),
        volume_l=s2.tank_volume_l,
        comfort_min_degc=s2.tank_comfort_min_degc,
        standing_loss_w=s2.tank_standing_loss_w,
        draws=history_draws(cfg),
    )


def heat_pump_of(cfg: EdgeConfig) -> HeatPump:
    return HeatPump(HeatPumpIds(resource_id(cfg, "heat pump")))


def export_of(cfg: EdgeConfig) -> ExportLimit:
    return ExportLimit(ExportIds(resource_id(cfg, "export limit")))


def more_devices(cfg: EdgeConfig) -> list[FrbcDevice[Any, Any]]:
    """The resources besides the battery and the tank: the SG-Ready heat pump (OMBC) where
    the core drives one and s2.heat_pump is on, the export limit (PEBC) where
    s2.export_limit is on. Each has a session of its own."""
    out: list[FrbcDevice[Any, Any]] = []
    if cfg.s2.heat_pump and cfg.loads.heat_pump.enabled:
        out.append(heat_pump_of(cfg))
    if cfg.s2.export_limit:
        out.append(export_of(cfg))
    return out


def asset_details(cfg: EdgeConfig, device: FrbcDevice[Any, Any]) -> AssetDetails:
    return AssetDetails(
        resource_id=device.resource_id,
        provides_forecast=False,
        provides_power_measurements=[QUANTITY],
        # an instruction reaches the devices on the next tick
        instruction_processing_delay=Duration(root=round(cfg.policy.tick_s * 1000.0)),
        roles=[device.role],
        name=f"{cfg.site.name} {device.label}",
        manufacturer="edge",
        model={"battery": cfg.inverter.family, "tank": "immersion element"}.get(
            device.label, device.label
        ),
    )


async def session(
    cfg: EdgeConfig, host: Host, device: FrbcDevice[Any, Any], status: LinkStatus
) -> DeviceResource[Any]:
    """One session: connect, run S2 until the link ends; the resource manager it ran (how
    far it got, whether the CEM asked to end it). Raises MediumCouldNotConnectError when
    the CEM cannot be reached."""
    status.state, status.control_type = LinkState.CONNECTING, None
    medium = CemMedium(cfg.s2)
    await medium.connect()
    status.state = LinkState.HANDSHAKE
    status.sessions += 1
    log.info("S2: %s connected to %s", device.label, cfg.s2.url)
    try:
        conn = S2AsyncConnection(medium)
        rm = resource_for(host, device, cfg.s2, status)
        rm.register_session_handlers(conn)
        assert isinstance(rm, S2ControlType)  # resource_for's classes all are
        ResourceManagerHandler([rm], asset_details(cfg, device)).register_handlers(conn)
        await conn.run()
        await rm.deactivate(conn)
        return rm
    finally:
        await medium.disconnect()


async def keep_linked(
    cfg: EdgeConfig, host: Host, status: LinkStatus, device: FrbcDevice[Any, Any] | None = None
) -> None:
    """One device's sessions with the CEM (the battery's by default), one after another,
    until cancelled; between two, a wait that doubles from 1 s up to s2.reconnect_max_s
    (reset by a session that got going). Each resource has a session of its own, as S2
    has one resource manager on each connection."""
    rm: FrbcDevice[Any, Any] = battery_of(cfg) if device is None else device
    backoff = Backoff(first_s=1.0, max_s=cfg.s2.reconnect_max_s)
    while True:
        got_going, terminated = False, False
        try:
            ran = await session(cfg, host, rm, status)
            got_going, terminated = ran.activated, ran.ended_by is SessionRequestType.TERMINATE
            status.last_error = (
                f"the CEM asked to {ran.ended_by.value.lower()}"
                if ran.ended_by
                else "the session ended"
            )
        except (MediumCouldNotConnectError, MediumClosedConnectionError) as exc:
            status.last_error = clip(str(exc), 200)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broken session must never end the supervisor
            status.last_error = clip(f"{type(exc).__name__}: {exc}", 200)
            log.warning("S2: %s session ended: %s", rm.label, status.last_error)
        if got_going:
            backoff.reset()
        status.state, status.control_type = LinkState.WAITING, None
        # TERMINATE: the CEM wants no session now; wait the longest before asking again
        delay_s = cfg.s2.reconnect_max_s if terminated else backoff.next_delay_s()
        log.info("S2: %s: %s; next attempt in %.0f s", rm.label, status.last_error, delay_s)
        await asyncio.sleep(delay_s)
