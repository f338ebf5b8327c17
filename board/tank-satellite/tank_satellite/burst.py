"""Burst fire: proportional power in whole mains cycles through a zero-cross SSR.

Mirrors the supervisor's GPIO backend (edge/drivers/loads/hardware.py, BurstFireOutput):
a first-order sigma-delta picks, once per mains cycle, whether that cycle is on, so after
any number of cycles the cycles delivered are within one of duty x cycles (30 % = on, off,
off, on, ...). The SSR switches at the next zero crossing by itself, so a late step moves
an edge by at most a half-cycle and never cuts a half-wave.

The output pin comes in from outside (machine.Pin on a board, a fake in tests): anything
with value(0 or 1). on_level: the pin level that fires the SSR (1 for an SSR input driven
high, 0 for an open-collector stage pulling the input low).

relay (optional, active high): a relay or contactor in series with the SSR, closed while
the power is above 0 and opened on every off. An SSR usually fails shorted; the relay
gives the element a second, mechanical break. It switches only when the power starts or
stops, never per cycle.
"""


class BurstFire:
    def __init__(self, pin, element_w, on_level=1, relay=None):
        self.pin = pin
        self.relay = relay
        self.element_w = element_w  # the element's rating at nominal mains (W)
        self.on_level = on_level
        self.duty = 0.0  # share of cycles on, 0..1
        self.acc = 0.0  # the sigma-delta's accumulator (cycles)
        self.on = False
        self.cycles = 0  # cycles stepped since start
        self.cycles_on = 0  # of which on
        pin.value(1 - on_level)
        if relay is not None:
            relay.value(0)

    def set_power_w(self, power_w):
        duty = power_w / self.element_w
        duty = 0.0 if duty < 0.0 else 1.0 if duty > 1.0 else duty
        if self.relay is not None and (duty > 0.0) != (self.duty > 0.0):
            self.relay.value(1 if duty > 0.0 else 0)
        self.duty = duty

    def off(self):
        """Off now, not at the next step (used on every fault path)."""
        self.set_power_w(0.0)
        self.pin.value(1 - self.on_level)
        if self.relay is not None:
            self.relay.value(0)
        self.on = False

    def step(self):
        """One mains cycle: on or off; returns whether this cycle is on."""
        self.acc += self.duty
        on = self.acc >= 1.0 - 1e-9
        if on:
            self.acc -= 1.0
        if on != self.on:
            self.pin.value(self.on_level if on else 1 - self.on_level)
            self.on = on
        self.cycles += 1
        if on:
            self.cycles_on += 1
        return on

    @property
    def power_w(self):
        """The element's power as commanded (no current sensor on this board)."""
        return self.duty * self.element_w
