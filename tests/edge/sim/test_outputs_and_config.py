"""The simulated house from the site file, the emulated load outputs, and a whole
realistic day being the same for the same seed."""

from __future__ import annotations

from edge.config import SimulationConfig
from edge.drivers.loads.sim import EmulatedDiverterOutput, EmulatedSgReadyRelays
from edge.sim.house import House, SgReady
from edge.sim.world import house_params


def test_sg_ready_contacts_map_to_the_four_states():
    house = House(house_params(SimulationConfig(pv_model="scenario")), start_s=12 * 3600.0)
    relays = EmulatedSgReadyRelays(house)
    for contacts, state in [
        ((True, False), SgReady.LOCK),
        ((False, False), SgReady.NORMAL),
        ((False, True), SgReady.RECOMMEND),
        ((True, True), SgReady.FORCE),
    ]:
        relays.set_contacts(*contacts)
        assert house.heat_pump.state is state
    assert relays.switches == 4


def test_the_diverter_output_heats_the_tank_within_the_element_rating():
    house = House(house_params(SimulationConfig(pv_model="scenario")), start_s=12 * 3600.0)
    out = EmulatedDiverterOutput(house)
    out.set_power_w(5000.0)
    house.step(1.0)
    assert house.state.heater_w == 3000.0  # the element's rating
    out.set_power_w(-10.0)
    house.step(1.0)
    assert house.state.heater_w == 0.0


def test_a_realistic_day_is_the_same_for_the_same_seed():
    def day(seed: int) -> list[tuple[float, float, float]]:
        sim = SimulationConfig(
            seed=seed, load_model="richardsonpy", cloudiness=0.4, diverter="eddi"
        )
        h = House(house_params(sim), start_s=0.0)
        out = []
        for k in range(86400 // 10):
            h.step(10.0)
            if k % 30 == 0:
                out.append((h.state.grid_w, h.state.soc_pct, h.tank.temp_degc))
        return out

    first = day(1)
    assert first == day(1)
    assert first != day(2)
    assert max(g for g, _s, _t in first) > 0 and min(g for g, _s, _t in first) < 0


def test_a_weather_file_drives_the_pv(tmp_path):
    csv = tmp_path / "weather.csv"
    csv.write_text(
        "time,ghi,dni,dhi\n2026-06-21T00:00:00Z,0,0,0\n"
        "2026-06-21T12:00:00Z,500,300,250\n2026-06-22T00:00:00Z,0,0,0\n"
    )
    sim = SimulationConfig(weather_csv=str(csv), pv_kwp=5.0)
    h = House(house_params(sim), start_s=12 * 3600.0)
    noon = h.pv_w_at(12 * 3600.0)
    clear = House(house_params(SimulationConfig(pv_kwp=5.0)), start_s=0.0).pv_w_at(12 * 3600.0)
    assert 0 < noon < clear  # a hazy day from the file, below clear sky
    assert 0 < h.pv_w_at(6 * 3600.0) < noon  # interpolated between the file's rows
