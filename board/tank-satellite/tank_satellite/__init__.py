"""The tank-side satellite: an immersion element's SSR and the tank's probe, driven by the
edge supervisor over MQTT and safe on its own. See docs/satellite.md."""

VERSION = "0.1.0"
