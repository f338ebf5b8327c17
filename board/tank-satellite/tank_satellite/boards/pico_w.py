"""Raspberry Pi Pico W (RP2040 + CYW43439). Pins are GPIO numbers (GPn), per the Pico W
datasheet's pinout: GP22 is pin 29, GP21 pin 27, GP20 pin 26, GP19 pin 25. All 3.3 V."""

BOARD = {
    "port": "rp2",
    "probe_pin": 22,  # DS18B20 DQ, 4.7 kOhm pull-up to 3V3 (pin 36)
    "ssr_pin": 21,  # SSR input (+) through the SSR's own current limit; (-) to GND
    "ssr_on_level": 1,
    "zero_cross_pin": 20,  # zero-cross detector output (optional; None: timed cycles)
    "relay_pin": None,  # a relay in series with the SSR, active high (None: not fitted)
    "led_pin": "LED",  # the Pico W's LED hangs off the Wi-Fi chip
    "element_w": 3000.0,  # the usual UK 3 kW immersion element
    "mains_hz": 50,
    "probe_rom": None,  # None: the first DS18B20 found on the bus
}
