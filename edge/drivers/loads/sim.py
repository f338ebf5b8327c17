"""The load outputs as the supervisor drives them, emulated on the simulated house.

SG-Ready: two relay contacts give four states (docs/reference/loads-baseline-s2.md §2.1,
contacts 1:2): 1:0 lock, 0:0 normal, 0:1 recommend, 1:1 force on. A real board drives them
from GPIOs; here they set the house's heat pump. The diverter output is proportional power
(a burst-fire SSR channel, averaged over a plant step); here it sets the house's element.
"""

from __future__ import annotations

from collections.abc import Mapping

from edge.core.model import LoadsReading
from edge.sim.house import House, SgReady

SG_READY_CONTACTS: Mapping[tuple[bool, bool], SgReady] = {
    (True, False): SgReady.LOCK,
    (False, False): SgReady.NORMAL,
    (False, True): SgReady.RECOMMEND,
    (True, True): SgReady.FORCE,
}


class EmulatedSgReadyRelays:
    def __init__(self, house: House) -> None:
        self.house = house
        self.contacts = (False, False)
        self.switches = 0  # relay operations, for wear accounting

    def set_contacts(self, contact1: bool, contact2: bool) -> None:
        if (contact1, contact2) != self.contacts:
            self.switches += 1
        self.contacts = (contact1, contact2)
        self.house.set_sg_ready(SG_READY_CONTACTS[self.contacts])


class EmulatedDiverterOutput:
    def __init__(self, house: House) -> None:
        self.house = house

    def set_power_w(self, power_w: float) -> None:
        """Offer the element power_w (0 up to its rating; the thermostat may refuse it)."""
        self.house.set_diverter_w(max(0.0, min(self.house.p.tank.element_w, power_w)))


class EmulatedTankSensor:
    """The tank's temperature probe (a 1-wire sensor on a real install), 0.1 degC steps."""

    def __init__(self, house: House) -> None:
        self.house = house

    def read_degc(self) -> float:
        return round(self.house.tank.temp_degc, 1)


class EmulatedLoads:
    """The simulated house's element, heat-pump relays and tank probe."""

    def __init__(self, house: House) -> None:
        self.house = house
        self.diverter = EmulatedDiverterOutput(house)
        self.relays = EmulatedSgReadyRelays(house)
        self.tank = EmulatedTankSensor(house)

    def set_diverter_w(self, power_w: float) -> None:
        self.diverter.set_power_w(power_w)

    def set_sg_contacts(self, contact1: bool, contact2: bool) -> None:
        self.relays.set_contacts(contact1, contact2)

    def read(self) -> LoadsReading:
        s = self.house.state
        return LoadsReading(s.heater_w, s.heat_pump_w, self.tank.read_degc())

    def age_s(self) -> float:
        return 0.0

    def close(self) -> None:
        pass
