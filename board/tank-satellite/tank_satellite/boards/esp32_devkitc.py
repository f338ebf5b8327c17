"""Espressif ESP32-DevKitC (ESP32-WROOM-32). Pins are GPIO numbers as printed on the
board. GPIO4/16/17 are free of boot strapping and flash duties (ESP32 datasheet,
"Strapping Pins"; GPIO6-11 drive the flash and are never used). All 3.3 V."""

BOARD = {
    "port": "esp32",
    "probe_pin": 4,  # DS18B20 DQ, 4.7 kOhm pull-up to 3V3
    "ssr_pin": 16,
    "ssr_on_level": 1,
    "zero_cross_pin": 17,
    "relay_pin": None,  # a relay in series with the SSR, active high (None: not fitted)
    "led_pin": 2,  # the blue LED on many DevKitC clones
    "element_w": 3000.0,
    "mains_hz": 50,
    "probe_rom": None,
}
