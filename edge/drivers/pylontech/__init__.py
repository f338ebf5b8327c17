"""Pylontech US2000/US3000 LiFePO4 modules: the RS485 "Pylon low voltage" protocol."""
