"""Device drivers: one folder per device kind (register map, driver, emulator)."""
