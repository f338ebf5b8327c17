"""Setpoints from the supervisor: {"power_w": W, "sent_s": Unix time (s) at sending,
"sent_ms": the same in whole ms}. sent_ms is what the board uses where given: a Pico's or
an ESP32's float is single precision, which rounds a Unix time in seconds to 128 s, so
consecutive commands would compare equal; integers compare exactly at any size.

accept() says whether a message may drive the element, and why not:
- "garbled": not a JSON object with numbers power_w and sent_s;
- "power out of range": power_w below 0 or above the element's rating;
- "retained": a retained message is an old command kept by the broker, never a live one;
- "replayed": sent_s not later than the last accepted one (a duplicate or an old copy);
- "stale": delayed in transit beyond the setpoint's age limit.

The board's clock is not the supervisor's (a Pico W has no clock set at boot), so the age
is judged from the link delay: offset = sent - arrival (local clock). The freshest
message has the largest offset; one whose offset is more than max_age_ms below the best
seen was delayed that long. The best offset decays by 1 ms a second (1000 ppm, ten times
a crystal's tolerance) so the two clocks' drift never makes fresh messages look late.
All times are whole ms.

After RESYNC times max_age_ms with nothing accepted (the element has long been off),
the next live command starts afresh: the order and the delay baseline are forgotten, so
a supervisor that comes back with its clock stepped back is heard again instead of
refused as a replay for as long as the step. The price: one command held up in transit
longer than that is taken as fresh (and goes stale again after max_age_ms).
"""

import json

DRIFT_DIVISOR = 1000  # the best offset decays by elapsed // DRIFT_DIVISOR: 1 ms per s
RESYNC = 4  # silences longer than RESYNC x max_age_ms start afresh


class Setpoints:
    def __init__(self, element_w, max_age_ms):
        self.element_w = element_w
        self.max_age_ms = max_age_ms
        self.last_sent_ms = None  # of the last accepted setpoint
        self.best_offset_ms = None  # best (largest) sent_ms - arrival seen
        self.best_at_ms = 0  # local time it was last updated
        self.accepted_at_ms = None  # local time of the last accepted setpoint

    def accept(self, payload, retained, now_ms):
        """payload: bytes; now_ms: local monotonic time (int ms).
        Returns (power_w, None) or (None, reason)."""
        try:
            doc = json.loads(payload)
            if type(doc) is not dict:
                raise ValueError
            power_w = doc["power_w"]
            sent_ms = doc.get("sent_ms")
            if sent_ms is None:
                sent_s = doc["sent_s"]
                if not _number(sent_s):
                    raise ValueError
                sent_ms = int(sent_s * 1000)
            if not (_number(power_w) and type(sent_ms) is int and sent_ms > 0):
                raise ValueError
        except (ValueError, KeyError, TypeError, IndexError):
            return None, "garbled"
        if not 0.0 <= power_w <= self.element_w:
            return None, "power out of range"
        if retained:
            return None, "retained"
        silence_ms = None if self.accepted_at_ms is None else now_ms - self.accepted_at_ms
        if silence_ms is not None and silence_ms > RESYNC * self.max_age_ms:
            self.last_sent_ms = self.best_offset_ms = None  # a fresh start
        if self.last_sent_ms is not None and sent_ms <= self.last_sent_ms:
            return None, "replayed"
        offset_ms = sent_ms - now_ms
        best = self.best_offset_ms
        if best is not None:
            best -= (now_ms - self.best_at_ms) // DRIFT_DIVISOR
        if best is None or offset_ms >= best:
            self.best_offset_ms, self.best_at_ms = offset_ms, now_ms
        else:
            self.best_offset_ms, self.best_at_ms = best, now_ms
            if best - offset_ms > self.max_age_ms:
                return None, "stale"
        self.last_sent_ms = sent_ms
        self.accepted_at_ms = now_ms
        return float(power_w), None


def _number(x):
    # bool is an int in Python; NaN fails x == x; inf fails the bound.
    return type(x) in (int, float) and x == x and -1e12 < x < 1e12
