"""Board facts as data: one module per board, each a dict BOARD (pins by GPIO number,
the SSR's firing level, and defaults for the element's rating and the mains frequency
that the config file may override). BOARDS maps the config's board name to it."""

from .esp32_devkitc import BOARD as ESP32_DEVKITC
from .pico_w import BOARD as PICO_W

BOARDS = {"pico_w": PICO_W, "esp32_devkitc": ESP32_DEVKITC}
