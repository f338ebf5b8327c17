"""A 1-Wire bus with DS18B20 probes on it, emulated bit by bit from the datasheet
(Maxim DS18B20, 19-7487): reset and presence, ROM commands SEARCH ROM (F0h, each bit
sent true then complemented, the master's direction bit drops the others), MATCH ROM
(55h), SKIP ROM (CCh); function commands CONVERT T (44h), READ SCRATCHPAD (BEh, nine
bytes, the ninth the CRC-8 of the first eight), WRITE SCRATCHPAD (4Eh). The bus object
is the "pin" that onewire.OneWire takes; _onewire (beside this file) drives it.

Faults a test can set on a probe: fault = "crc" (a byte flipped after the CRC was
made), "power_on" (conversions do not run: the register keeps its 85 degC reset value),
"stuck_low" (the probe holds DQ low: every bit reads 0); and bus.connected = False (no
presence pulse: a cut cable).
"""

from _onewire import crc8

SEARCH_ROM = 0xF0
MATCH_ROM = 0x55
SKIP_ROM = 0xCC
CONVERT_T = 0x44
READ_SCRATCH = 0xBE
WRITE_SCRATCH = 0x4E
POWER_ON_RAW = 0x0550  # 85 degC in 1/16 degC: the temperature register at power-on


def make_rom(serial):
    """Family 28h, a 48-bit serial (6 bytes, LSB first), then the CRC of those seven."""
    head = bytes([0x28]) + bytes(serial)
    return head + bytes([crc8(head)])


class Probe:
    def __init__(self, serial=b"\x01\x02\x03\x04\x05\x06", temp_degc=45.0):
        self.rom = make_rom(serial)
        self.temp_degc = temp_degc
        self.fault = None
        self.raw = POWER_ON_RAW
        self.conversions = 0
        self._idle()

    def _idle(self):
        self.mode = "none"  # listening for nothing until the next reset
        self.bits = []
        self.out = []

    def reset(self):
        self.mode = "rom"
        self.bits = []
        self.out = []

    def scratchpad(self):
        raw = self.raw & 0xFFFF
        pad = bytearray([raw & 0xFF, raw >> 8, 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10])
        pad.append(crc8(pad))
        if self.fault == "crc":
            pad[0] ^= 0x01
        return pad

    def convert(self):
        if self.fault != "power_on":
            self.raw = round(self.temp_degc * 16) & 0xFFFF
            self.conversions += 1

    def read(self):
        if self.fault == "stuck_low" and self.mode != "none":
            return 0
        if self.mode == "search":
            i, phase = len(self.bits), len(self.out)
            bit = (self.rom[i // 8] >> (i % 8)) & 1
            self.out.append(bit)
            return bit if phase == 0 else 1 - bit
        if self.mode == "send" and self.out:
            return self.out.pop(0)
        return 1  # not driving: the pull-up reads 1

    def write(self, bit):
        if self.mode == "none":
            return
        self.bits.append(bit)
        if self.mode == "search":
            i = len(self.bits) - 1
            if bit != (self.rom[i // 8] >> (i % 8)) & 1:
                self._idle()  # the master took the other branch
                return
            self.out = []
            if len(self.bits) == 64:
                self.mode, self.bits = "function", []
        elif self.mode == "match":
            if len(self.bits) == 64:
                rom = _bytes(self.bits)
                if rom == self.rom:
                    self.mode, self.bits = "function", []
                else:
                    self._idle()
        elif len(self.bits) == 8:
            cmd = _bytes(self.bits)[0]
            self.bits = []
            if self.mode == "rom":
                if cmd == SEARCH_ROM:
                    self.mode, self.out = "search", []
                elif cmd == MATCH_ROM:
                    self.mode = "match"
                elif cmd == SKIP_ROM:
                    self.mode = "function"
                else:
                    self._idle()
            elif self.mode == "function":
                if cmd == CONVERT_T:
                    self.convert()
                    self._idle()
                elif cmd == READ_SCRATCH:
                    self.mode = "send"
                    self.out = [(b >> i) & 1 for b in self.scratchpad() for i in range(8)]
                elif cmd == WRITE_SCRATCH:
                    self.mode = "sink"
                else:
                    self._idle()


def _bytes(bits):
    out = bytearray(len(bits) // 8)
    for i, b in enumerate(bits):
        out[i // 8] |= b << (i % 8)
    return bytes(out)


class Bus:
    """The DQ line: the "pin" onewire.OneWire is built on."""

    OPEN_DRAIN = 2
    PULL_UP = 1

    def __init__(self, *probes):
        self.probes = list(probes)
        self.connected = True
        self.resets = 0

    def init(self, mode, pull=None):
        self.mode, self.pull = mode, pull

    def bus_reset(self):
        self.resets += 1
        if not self.connected:
            return False
        for p in self.probes:
            p.reset()
        return bool(self.probes)

    def bus_read(self):
        if not self.connected:
            return 1
        v = 1
        for p in self.probes:
            v &= p.read()  # wired-AND: any probe pulling low wins
        return v

    def bus_write(self, bit):
        if self.connected:
            for p in self.probes:
                p.write(bit)
