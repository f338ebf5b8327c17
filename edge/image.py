"""The process image: the latest reading of every device, each with its age, frozen for
one decision. The BMS's limits come as DC amps; the core wants AC-side watts."""

from __future__ import annotations

from edge.core import BmsReading, ProcessImage, Sample
from edge.core.model import Requests
from edge.drivers.ports import BmsPort, DabPort, InverterPort, LoadsPort
from edge.drivers.pylontech.replies import BmsLimits

# AC <-> DC conversion efficiency of the ME3000SP, one way (loads-baseline-s2.md §5.6).
INVERTER_EFFICIENCY = 0.95


def bms_as_power(
    limits: Sample[BmsLimits] | None, battery_voltage_v: float | None
) -> Sample[BmsReading] | None:
    """The BMS's current limits as AC-side power, at the pack voltage the inverter last
    reported and the inverter's conversion efficiency (charge: the AC side supplies the
    losses; discharge: it receives what is left of them). None without both."""
    if limits is None or battery_voltage_v is None:
        return None
    v = battery_voltage_v
    return Sample(
        BmsReading(
            limits.value.charge_limit_a * v / INVERTER_EFFICIENCY,
            limits.value.discharge_limit_a * v * INVERTER_EFFICIENCY,
        ),
        limits.age_s,
    )


def take_image(
    now_s: float,
    inverter: InverterPort,
    dab: DabPort | None,
    loads: LoadsPort | None,
    bms: BmsPort | None,
    requests: Requests,
) -> ProcessImage:
    live = inverter.last_live
    return ProcessImage(
        t_s=now_s,
        inverter=inverter.sample(now_s),
        dab=dab.sample(now_s) if dab is not None else None,
        loads=loads.sample(now_s) if loads is not None else None,
        bms=bms_as_power(
            bms.sample(now_s) if bms is not None else None,
            live.battery_voltage_v if live is not None else None,
        ),
        requests=requests,
    )
