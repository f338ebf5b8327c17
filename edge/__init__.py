"""edge: the supervisor of a home battery-inverter system."""

__version__ = "0.1.0"
