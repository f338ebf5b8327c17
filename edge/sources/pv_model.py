"""Plane-of-array irradiance to AC power: the simple model the Open-Meteo source uses.

    T_cell = T_air + G x (NOCT - 20) / 800          (NOCT cell temperature model)
    P_ac   = kWp x G / 1000 x (1 + gamma x (T_cell - 25)) x (1 - losses)

clipped at 0 and at kWp x (1 - losses). G is the global tilted irradiance, W/m², T in
°C. The constants are the published defaults below; the site's own calibration
(calibration.py) corrects what they miss (shading, soiling, an older array).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PvArray:
    kwp: float  # the array's peak power, kW at STC
    tilt_deg: float  # from horizontal
    azimuth_deg: float  # 180 = south, 90 = east (the site file's convention)
    losses_frac: float = 0.14  # PVWatts v5's default system losses (NREL/TP-6A20-62641)
    gamma_per_k: float = -0.0037  # crystalline silicon, PVWatts v5 "standard" module
    noct_degc: float = 45.0  # nominal operating cell temperature, a typical datasheet's

    @property
    def azimuth_from_south_deg(self) -> float:
        """The convention of Open-Meteo and Forecast.Solar: 0 = south, -90 = east,
        90 = west, ±180 = north."""
        a = self.azimuth_deg - 180.0
        return a + 360.0 if a < -180.0 else a


def ac_power_w(array: PvArray, poa_w_per_m2: float, t_air_degc: float) -> float:
    g = max(0.0, poa_w_per_m2)
    t_cell = t_air_degc + g * (array.noct_degc - 20.0) / 800.0
    dc = array.kwp * 1000.0 * g / 1000.0 * (1.0 + array.gamma_per_k * (t_cell - 25.0))
    ac = dc * (1.0 - array.losses_frac)
    return min(max(ac, 0.0), array.kwp * 1000.0 * (1.0 - array.losses_frac))
