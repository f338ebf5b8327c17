"""A 1-Wire bus with DS18B20 probes on it, emulated bit by bit from the datasheet
(Maxim DS18B20, 19-7487): reset and presence, ROM commands SEARCH ROM (F0h, each bit
sent true then complemented, the master's direction bit drops the others), MATCH ROM
(55h), SKIP ROM (CCh); function commands CONVERT T (44h), READ SCRATCHPAD (BEh, nine
bytes, the ninth the CRC-8 of the first eight), WRITE SCRATCHPAD (4Eh). The bus object
is the "pin" that onewire.OneWire takes; _onewire (beside this file) drives it.

State is a few ints per probe (no lists grow per bit): the emulator runs inside the
app's 64 KiB heap.

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

# Modes after a reset: which bits the probe expects or sends next.
NONE, ROM_CMD, SEARCH, MATCH, FUNCTION, SEND, SINK = range(7)


def make_rom(serial):
    """Family 28h, a 48-bit serial (6 bytes, LSB first), then the CRC of those seven."""
    head = bytes([0x28]) + bytes(serial)
    return head + bytes([crc8(head)])


def _bit(data, i):
    return (data[i >> 3] >> (i & 7)) & 1


class Probe:
    def __init__(self, serial=b"\x01\x02\x03\x04\x05\x06", temp_degc=45.0):
        self.rom = make_rom(serial)
        self.temp_degc = temp_degc
        self.fault = None
        self.raw = POWER_ON_RAW
        self.conversions = 0
        self.pad = bytearray(9)
        self.mode = NONE
        self.n = 0  # bits taken (or sent) in this mode
        self.acc = 0  # bits taken, LSB first
        self.reads = 0  # search: reads since the last written bit (0, 1, 2)

    def reset(self):
        self.mode, self.n, self.acc = ROM_CMD, 0, 0

    def scratchpad(self):
        raw = self.raw & 0xFFFF
        pad = self.pad
        pad[0], pad[1], pad[2], pad[3] = raw & 0xFF, raw >> 8, 0x4B, 0x46
        pad[4], pad[5], pad[6], pad[7] = 0x7F, 0xFF, 0x0C, 0x10
        pad[8] = crc8(pad[:8])
        if self.fault == "crc":
            pad[0] ^= 0x01
        return pad

    def convert(self):
        if self.fault != "power_on":
            self.raw = round(self.temp_degc * 16) & 0xFFFF
            self.conversions += 1

    def read(self):
        if self.fault == "stuck_low" and self.mode != NONE:
            return 0
        if self.mode == SEARCH:
            bit = _bit(self.rom, self.n)
            self.reads += 1
            return bit if self.reads == 1 else 1 - bit
        if self.mode == SEND and self.n < 72:
            self.n += 1
            return _bit(self.pad, self.n - 1)
        return 1  # not driving: the pull-up reads 1

    def write(self, bit):
        mode = self.mode
        if mode in (NONE, SINK):
            return
        if mode == SEARCH:
            self.reads = 0
            if bit != _bit(self.rom, self.n):
                self.mode = NONE  # the master took the other branch
            else:
                self.n += 1
                if self.n == 64:
                    self.mode, self.n, self.acc = FUNCTION, 0, 0
            return
        self.acc |= bit << self.n
        self.n += 1
        if mode == MATCH:
            if self.n == 64:
                rom = int.from_bytes(self.rom, "little")
                self.mode = FUNCTION if self.acc == rom else NONE
                self.n, self.acc = 0, 0
            return
        if self.n < 8:
            return
        cmd, self.n, self.acc = self.acc, 0, 0
        if mode == ROM_CMD:
            if cmd == SEARCH_ROM:
                self.mode, self.reads = SEARCH, 0
            elif cmd == MATCH_ROM:
                self.mode = MATCH
            elif cmd == SKIP_ROM:
                self.mode = FUNCTION
            else:
                self.mode = NONE
        elif cmd == CONVERT_T:
            self.convert()
            self.mode = NONE
        elif cmd == READ_SCRATCH:
            self.scratchpad()
            self.mode = SEND
        elif cmd == WRITE_SCRATCH:
            self.mode = SINK
        else:
            self.mode = NONE


class Bus:
    """The DQ line: the "pin" onewire.OneWire is built on."""

    OPEN_DRAIN = 2
    PULL_UP = 1

    def __init__(self, *probes):
        self.probes = probes
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
        return len(self.probes) > 0

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
