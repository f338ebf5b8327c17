"""The tank probe: one DS18B20 on a 1-Wire bus, read through micropython-lib's ds18x20.

The driver comes in from outside (ds18x20.DS18X20 over onewire.OneWire over a pin), so the
same code reads a real probe on a board and a bus emulator in tests. read() returns
(temperature degC or None, fault or None); a fault is never turned into a temperature.

Faults (DS18B20 datasheet, Maxim 19-7487):
- "disconnected": no presence pulse after a reset (onewire.OneWireError), or no probe
  found in a ROM search;
- "read failed": anything else the driver raised (named, never taken for a reading);
- "crc error": the scratchpad's 9th byte is not the Dallas CRC-8 of the first 8 (the
  driver raises);
- "bus stuck low": an all-zero scratchpad (its CRC is 0 too, so the CRC passes);
- "power-on value": 85.0 degC is the temperature register's power-on reset value, read
  when the probe lost power or the conversion did not run;
- "implausible": outside the plausible range for water in a tank.
"""

import asyncio

CONVERSION_MS = 750  # DS18B20 12-bit conversion time, max (datasheet, tCONV)
POWER_ON_DEGC = 85.0  # temperature register's power-on reset value (datasheet)


class Probe:
    def __init__(self, sensor, rom=None, min_degc=-30.0, max_degc=110.0):
        self.sensor = sensor  # ds18x20.DS18X20
        self.rom = rom  # 8 bytes, or None: the first DS18B20 a ROM search finds
        self.min_degc = min_degc
        self.max_degc = max_degc
        self.faults = 0  # failed reads since start

    async def read(self):
        try:
            if self.rom is None:
                roms = self.sensor.scan()
                if not roms:
                    return self._fault("disconnected")
                self.rom = roms[0]
            self.sensor.convert_temp()
            await asyncio.sleep_ms(CONVERSION_MS)
            degc = self.sensor.read_temp(self.rom)
        except MemoryError:
            return self._fault("read failed: out of memory")
        except Exception as exc:  # the driver raises OneWireError or a bare Exception
            if type(exc).__name__ == "OneWireError":
                return self._fault("disconnected")
            if "CRC" in str(exc):
                return self._fault("crc error")
            return self._fault("read failed")
        buf = self.sensor.buf
        if not any(buf):
            return self._fault("bus stuck low")
        if degc == POWER_ON_DEGC:
            return self._fault("power-on value")
        if not self.min_degc <= degc <= self.max_degc:
            return self._fault("implausible")
        return degc, None

    def _fault(self, what):
        self.faults += 1
        return None, what
