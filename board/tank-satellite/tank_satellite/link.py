"""The MQTT link to the supervisor, on micropython-lib's umqtt.simple.

Topics, under <base>/satellite/<name>/ (the supervisor's MqttSatelliteDiverter):
  set           in:  {"power_w", "sent_s", "sent_ms"}, never retained by the supervisor
  state         out: see app.py's state(); not retained
  availability  out: "online" retained at connect; the broker publishes the retained last
                will "offline" when the board drops off

umqtt.simple's calls block, so the app switches the element off before every connection
attempt (the link is down then anyway) and bounds each attempt by connect_timeout_s,
under the watchdog's period. umqtt.robust is not used: its reconnect loop sleeps and
retries forever inside one call, which would starve the watchdog and hide the outage
from the safety rules.

umqtt.simple's callback does not say whether a message was retained; wait_msg() returns
the PUBLISH packet's first byte after calling it, whose bit 0 is RETAIN (MQTT 3.1.1,
section 3.3.1.3), so the message is held until then and handed on with the flag.
"""

AVAILABLE = b"online"
GONE = b"offline"


class Link:
    def __init__(self, client_class, cfg, name, on_message):
        """client_class: umqtt.simple.MQTTClient (or a subclass); cfg: config's "mqtt";
        on_message(topic bytes, payload bytes, retained bool)."""
        self.client_class = client_class
        self.cfg = cfg
        self.client_id = "edge-satellite-" + name
        self.on_message = on_message
        prefix = "%s/satellite/%s/" % (cfg["base_topic"], name)
        self.set_topic = prefix + "set"
        self.state_topic = prefix + "state"
        self.availability_topic = prefix + "availability"
        self.client = None
        self.up = False
        self.connects = 0  # successful connections since start
        self.last_error = None
        self._held = None

    def connect(self, timeout_s):
        """One attempt; True when connected and subscribed."""
        self.close()
        cfg = self.cfg
        c = self.client_class(
            self.client_id, cfg["host"], cfg["port"], cfg["user"], cfg["password"], keepalive=30
        )
        c.set_last_will(self.availability_topic, GONE, retain=True, qos=1)
        c.set_callback(self._hold)
        self.client = c
        try:
            c.connect(clean_session=True, timeout=timeout_s)
            c.publish(self.availability_topic, AVAILABLE, retain=True)
            c.subscribe(self.set_topic, qos=1)
        except Exception as exc:  # OSError, MQTTException, or umqtt's asserts on a bad reply
            self._down(exc)
            return False
        self.up = True
        self.connects += 1
        return True

    def _hold(self, topic, payload):
        self._held = (topic, payload)

    def poll(self):
        """Hands on every message waiting; False when the link went down."""
        if not self.up:
            return False
        try:
            while True:
                op = self.client.check_msg()
                if op is None:
                    return True
                held, self._held = self._held, None
                if held is not None and op & 0xF0 == 0x30:
                    self.on_message(held[0], held[1], bool(op & 1))
        except Exception as exc:
            self._down(exc)
            return False

    def publish(self, topic, payload, retain=False):
        if not self.up:
            return False
        try:
            self.client.publish(topic, payload, retain)
        except Exception as exc:
            self._down(exc)
            return False
        return True

    def _down(self, exc):
        self.last_error = repr(exc)
        self.up = False
        self.close()

    def close(self, clean=False):
        """clean: say goodbye with "offline" ourselves (a planned stop)."""
        c, self.client = self.client, None
        if c is None or c.sock is None:
            return
        try:
            if clean and self.up:
                c.publish(self.availability_topic, GONE, retain=True)
                c.disconnect()
            else:
                c.sock.close()
        except Exception:
            pass
        self.up = False
