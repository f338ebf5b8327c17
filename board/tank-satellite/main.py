# Runs at boot: the tank satellite (tank_satellite/hw.py builds the board's parts).
from tank_satellite import hw

hw.main()
