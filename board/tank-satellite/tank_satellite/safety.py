"""The satellite's own safety rules: what power the element may have now, and why.

Pure: no hardware, no clock of its own; the app passes the time (whole ms, monotonic:
a single-precision float would lose ms after a few hours) and the latest facts. The
rules run in this order; the first that refuses gives the reason:

  "broker unreachable"   the MQTT link is down (no one can command or watch the element)
  "no setpoint"          none accepted since start
  "setpoint stale"       the last accepted one is older than setpoint_timeout_s
  "probe: <fault>"       the probe's last read failed (see probe.py), or it is older
                         than probe_timeout_s ("probe: no recent reading")
  "over temperature"     the tank reached tank_max_degc; stays until it falls to
                         tank_resume_degc (hysteresis)
  "idle"                 the setpoint is 0 W
  "max on-time"          on without a break for max_on_s; off for rest_s

"ok" when the element may follow the setpoint.
"""


class Safety:
    def __init__(self, limits):
        self.limits = limits  # config.LIMITS keys (s, degC)
        ms = lambda key: int(limits[key] * 1000)  # noqa: E731
        self.setpoint_timeout_ms = ms("setpoint_timeout_s")
        self.probe_timeout_ms = ms("probe_timeout_s")
        self.max_on_ms = ms("max_on_s")
        self.rest_ms = ms("rest_s")
        self.hot = False  # over-temperature latched (hysteresis)
        self.on_since_ms = None  # the element on without a break since
        self.rest_until_ms = None  # max on-time reached: off until

    def decide(self, now_ms, link_up, setpoint_w, setpoint_at_ms, temp_degc, temp_at_ms, fault):
        """Times in ms (None: never). Returns (allowed power W, reason)."""
        lim = self.limits
        if temp_degc is not None:
            if temp_degc >= lim["tank_max_degc"]:
                self.hot = True
            elif temp_degc <= lim["tank_resume_degc"]:
                self.hot = False
        power_w, reason = 0.0, "ok"
        if not link_up:
            reason = "broker unreachable"
        elif setpoint_at_ms is None:
            reason = "no setpoint"
        elif now_ms - setpoint_at_ms > self.setpoint_timeout_ms:
            reason = "setpoint stale"
        elif fault is not None:
            reason = "probe: " + fault
        elif temp_at_ms is None or now_ms - temp_at_ms > self.probe_timeout_ms:
            reason = "probe: no recent reading"
        elif self.hot:
            reason = "over temperature"
        elif setpoint_w <= 0.0:
            reason = "idle"
        elif self.rest_until_ms is not None and now_ms < self.rest_until_ms:
            reason = "max on-time"
        else:
            self.rest_until_ms = None
            if self.on_since_ms is None:
                self.on_since_ms = now_ms
            if now_ms - self.on_since_ms >= self.max_on_ms:
                self.rest_until_ms = now_ms + self.rest_ms
                reason = "max on-time"
            else:
                power_w = setpoint_w
        if power_w <= 0.0:
            self.on_since_ms = None
        return power_w, reason
