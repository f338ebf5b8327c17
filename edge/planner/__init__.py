"""The planner: tariff- and forecast-aware scheduling above the core (docs/planner.md).

tariffs.py (prices as data) and model.py (the optimisation) are pure functions of their
inputs; prices.py reads the site's price files. The plan reaches the core only as a
PlannedSlot (edge/core/model.py) that narrows what the core may do.
"""
