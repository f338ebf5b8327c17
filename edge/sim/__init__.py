"""The simulated house: PV, household load, battery and the inverter's own behaviour."""
