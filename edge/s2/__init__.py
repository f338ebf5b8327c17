"""S2 (EN 50491-12-2): the house's flexibility offered to a customer energy manager (CEM).

A resource manager (RM) describes a device to the CEM in S2's terms and turns the CEM's
instructions into the same requests an MQTT command makes (edge/mqtt/commands.py), so
they pass the same validation, expire the same way and never pass a safety rule of the
core. Which control type each device uses, and why: docs/s2.md.

- edge/s2/status.py: the link's state, for Home Assistant and the menu (no s2python);
- edge/s2/battery.py: the battery as FRBC, pure: its description and instruction mapping;
- edge/s2/tank.py: the tank as FRBC; edge/s2/heat_pump.py: the SG-Ready heat pump as OMBC;
  edge/s2/export.py: the export limit as PEBC; all pure;
- edge/s2/resource.py: a resource's RM on an S2 connection (s2-python);
- edge/s2/link.py: the WebSocket to the CEM, TLS, bearer token, reconnects with backoff.

Only this package imports s2python and websockets (the `s2` extra); edge/compose.py loads
it when the site file enables [s2].
"""
