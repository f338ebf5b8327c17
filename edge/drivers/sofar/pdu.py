"""The two non-standard Sofar function codes as pymodbus custom PDUs (used on both ends).

Source: docs/reference/sofar-modbus.md §3 ("ME3000SP Passive mode protocol.pdf").
  0x42 passive command: request  slave|0x42|cmd(2)|value(2)|CRC            (8 bytes)
                        response slave|0x42|0x02|status_hi|result_lo|CRC    (7 bytes)
  0x49 heartbeat:       request  slave|0x49|0x22 0x01|0x22 0x02|CRC         (8 bytes)
The heartbeat reply is not documented (§3.2); our emulator echoes the request, and the
driver accepts any CRC-valid reply, as Sofar2mqtt does.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import Any, ClassVar

from pymodbus.pdu import ModbusPDU


class PassiveCmd(IntEnum):
    """The 'register' field of a 0x42 request (§3.1)."""

    STANDBY = 0x0100  # value must be 0x5555
    DISCHARGE = 0x0101  # value: W, 0-3000
    CHARGE = 0x0102  # value: W, 0-3000
    AUTO = 0x0103  # value: I16 target grid power in W; 0 = plain self-use


STANDBY_MAGIC = 0x5555


class PassiveResult(IntEnum):
    """Low byte of the 0x42 response."""

    ACCEPTED = 0
    INVALID_WORK_MODE = 1
    CRC_FAILED = 2
    BUSY = 3
    INVALID_VALUE = 4


# High byte of the 0x42 response: status bits.
STATUS_CHARGE_ENABLED = 0x01
STATUS_DISCHARGE_ENABLED = 0x02
STATUS_BATTERY_FULL = 0x04
STATUS_BATTERY_EMPTY = 0x08

HEARTBEAT_WORDS = (0x2201, 0x2202)

# What the emulator does with a passive command: (cmd, value) -> (status bits, result).
PassiveHandler = Callable[[int, int], Awaitable[tuple[int, int]]]


class PassiveRequest(ModbusPDU):
    """0x42 request. On the server side `handler` is bound per emulator (see bind())."""

    function_code = 0x42
    rtu_frame_size = 8
    handler: ClassVar[PassiveHandler | None] = None

    def __init__(self, cmd: int = 0, value: int = 0, dev_id: int = 1, transaction_id: int = 0):
        super().__init__(dev_id=dev_id, transaction_id=transaction_id)
        self.cmd = cmd
        self.value = value

    def encode(self) -> bytes:
        return struct.pack(">HH", self.cmd, self.value & 0xFFFF)

    def decode(self, data: bytes) -> None:
        self.cmd, self.value = struct.unpack(">HH", data[:4])

    async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
        handler = type(self).handler
        status: int
        result: int
        if handler is None:
            status, result = 0, PassiveResult.INVALID_WORK_MODE
        else:
            status, result = await handler(self.cmd, self.value)
        return PassiveResponse(status=status, result=result, dev_id=device_id)

    @classmethod
    def bind(cls, handler: PassiveHandler) -> type[PassiveRequest]:
        """A subclass whose requests go to this emulator's handler (one per server)."""
        return type("BoundPassiveRequest", (cls,), {"handler": staticmethod(handler)})


class PassiveResponse(ModbusPDU):
    function_code = 0x42
    rtu_byte_count_pos = 2

    def __init__(self, status: int = 0, result: int = 0, dev_id: int = 1, transaction_id: int = 0):
        super().__init__(dev_id=dev_id, transaction_id=transaction_id)
        self.status_bits = status
        self.result = result

    def encode(self) -> bytes:
        return struct.pack(">BBB", 2, self.status_bits, self.result)

    def decode(self, data: bytes) -> None:
        _count, self.status_bits, self.result = struct.unpack(">BBB", data[:3])


class HeartbeatRequest(ModbusPDU):
    function_code = 0x49
    rtu_frame_size = 8
    handler: ClassVar[Callable[[], Awaitable[None]] | None] = None

    def __init__(self, dev_id: int = 1, transaction_id: int = 0):
        super().__init__(dev_id=dev_id, transaction_id=transaction_id)
        self.words = HEARTBEAT_WORDS

    def encode(self) -> bytes:
        return struct.pack(">HH", *self.words)

    def decode(self, data: bytes) -> None:
        self.words = struct.unpack(">HH", data[:4])

    async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
        handler = type(self).handler
        if handler is not None and self.words == HEARTBEAT_WORDS:
            await handler()
        return HeartbeatResponse(words=self.words, dev_id=device_id)

    @classmethod
    def bind(cls, handler: Callable[[], Awaitable[None]]) -> type[HeartbeatRequest]:
        return type("BoundHeartbeatRequest", (cls,), {"handler": staticmethod(handler)})


class HeartbeatResponse(ModbusPDU):
    function_code = 0x49
    rtu_frame_size = 8

    def __init__(
        self,
        words: tuple[int, int] = HEARTBEAT_WORDS,
        dev_id: int = 1,
        transaction_id: int = 0,
    ):
        super().__init__(dev_id=dev_id, transaction_id=transaction_id)
        self.words = words

    def encode(self) -> bytes:
        return struct.pack(">HH", *self.words)

    def decode(self, data: bytes) -> None:
        self.words = struct.unpack(">HH", data[:4])
