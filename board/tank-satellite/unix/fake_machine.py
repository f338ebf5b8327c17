"""Stand-ins for the board's `machine` and `network` modules, for checking hw.py (the
boot path) under the Unix port: a test puts them in sys.modules before importing it.
They record what hw.py asks of the hardware."""

made = []  # every Pin and WDT, in order


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    IRQ_RISING = 4

    def __init__(self, id, mode=-1, pull=None, value=None):
        self.id, self.mode, self.pull, self.level = id, mode, pull, value
        self.handler = None
        made.append(self)

    def init(self, mode, pull=None):
        self.mode, self.pull = mode, pull

    def value(self, level=None):
        if level is None:
            return self.level
        self.level = level

    def irq(self, trigger, handler):
        self.trigger, self.handler = trigger, handler


class WDT:
    def __init__(self, timeout):
        self.timeout = timeout
        self.feeds = 0
        made.append(self)

    def feed(self):
        self.feeds += 1


STA_IF = 0


class WLAN:
    def __init__(self, interface):
        self.interface = interface
        self.on = False
        self.joins = []

    def active(self, on):
        self.on = on

    def connect(self, ssid, password):
        self.joins.append(ssid)

    def isconnected(self):
        return False

    def status(self, what):
        return -61 if what == "rssi" else 0
