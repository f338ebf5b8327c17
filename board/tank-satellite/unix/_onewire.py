"""Stand-in for MicroPython's C module _onewire (extmod/modonewire.c), which the Unix
port lacks: the same five functions, acting on a bus emulator that comes in as the pin
(fake_ds18b20.Bus), so micropython-lib's onewire and ds18x20 run unchanged over it.
Bytes go least significant bit first, as on the wire (DS18B20 datasheet, "1-Wire Bus
System")."""


def reset(pin):
    return pin.bus_reset()


def readbit(pin):
    return pin.bus_read()


def writebit(pin, value):
    pin.bus_write(1 if value else 0)


def readbyte(pin):
    v = 0
    for i in range(8):
        v |= pin.bus_read() << i
    return v


def writebyte(pin, value):
    for i in range(8):
        pin.bus_write((value >> i) & 1)


def crc8(data):
    """Dallas/Maxim CRC-8 (x^8 + x^5 + x^4 + 1, bit-reflected 0x8C; Maxim application
    note 27); 0 over a block that ends in its own CRC."""
    crc = 0
    for byte in data:
        for _ in range(8):
            mix = (crc ^ byte) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            byte >>= 1
    return crc
