"""The RS485 wire between a driver and an emulator, as a TCP proxy: every frame takes the
time it takes on a real line (10 bits per byte at the baud rate, plus the 3.5-character
gap that ends an RTU frame), and faults can be injected on demand: a device that does not
answer, a garbled frame (CRC error), a truncated one, a Modbus exception answer, an
out-of-range value, an answer held past the driver's timeout (late), an answer trickled
byte by byte slower than the timeout (drip), a port that disappears and returns.

Each chunk the client writes is one request frame (pymodbus writes a whole RTU frame at
once); each chunk the device writes back is its answer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pymodbus.framer.rtu import FramerRTU

from edge.drivers.stream_server import StreamServer

log = logging.getLogger("edge.sim.wire")

BITS_PER_BYTE = 10  # start, 8 data, stop (8N1)
FRAME_GAP_CHARS = 3.5  # Modbus over serial line, §2.5.1.1


def with_crc(frame: bytes) -> bytes:
    return frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big")


def frame_time_s(n_bytes: int, baud: int) -> float:
    """How long n_bytes and the end-of-frame gap take on the line."""
    return (n_bytes + FRAME_GAP_CHARS) * BITS_PER_BYTE / baud


@dataclass
class WireFaults:
    """Faults for the next frames; each counter is used up one frame at a time."""

    silent: int = 0  # requests swallowed: the device does not answer (a timeout)
    garbled: int = 0  # answers with one bit flipped: a CRC error
    exception: int = 0  # answers replaced by exception 0x04 (server device failure)
    out_of_range: int = 0  # register reads whose first value reads 0x7FFF (implausible)
    truncated: int = 0  # answers cut to their first half
    garbled_request: int = 0  # requests with one bit flipped on the way to the device
    late: int = 0  # answers held late_s before they go out
    slipped: int = 0  # answered with the previous answer: a reply one slot behind
    drip: int = 0  # answers sent one byte every drip_byte_s
    late_s: float = 1.5  # past a 1 s timeout, inside its grace
    drip_byte_s: float = 0.3  # the shortest answer (5 bytes) takes 1.5 s


class Rs485Wire(StreamServer):
    def __init__(
        self,
        target_port: int,
        baud: int = 9600,
        host: str = "127.0.0.1",
        target_host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host, 0)
        self.target = (target_host, target_port)
        self.baud = baud
        self.faults = WireFaults()
        self.requests = 0
        self.cut = False  # the port is gone: connections are refused and dropped
        self._writers: set[asyncio.StreamWriter] = set()

    async def stop(self) -> None:
        self.disconnect()
        await super().stop()

    def disconnect(self) -> None:
        """Drop every connection now (a cable pulled out)."""
        for w in list(self._writers):
            w.close()
        self._writers.clear()

    def unplug(self) -> None:
        """The port disappears until plug_in()."""
        self.cut = True
        self.disconnect()

    def plug_in(self) -> None:
        self.cut = False

    async def serve(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        """Carry one driver connection to the device (start() gives its port)."""
        if self.cut:
            return
        try:
            d_reader, d_writer = await asyncio.open_connection(*self.target)
        except OSError as exc:
            log.warning("wire: device at %s:%d unreachable: %s", *self.target, exc)
            return
        self._writers |= {c_writer, d_writer}
        last_answer = b""
        try:
            while not self.cut:
                request = await c_reader.read(512)
                if not request:
                    break
                self.requests += 1
                await asyncio.sleep(frame_time_s(len(request), self.baud))
                if self.faults.silent > 0:
                    self.faults.silent -= 1
                    continue
                if self.faults.garbled_request > 0 and len(request) >= 4:
                    self.faults.garbled_request -= 1
                    request = request[:2] + bytes((request[2] ^ 0x01,)) + request[3:]
                d_writer.write(request)
                await d_writer.drain()
                answer = await d_reader.read(512)
                if not answer:
                    break
                answer, previous = self._fault(request, answer), answer
                if self.faults.slipped > 0 and last_answer:
                    self.faults.slipped -= 1
                    answer = last_answer
                last_answer = previous
                await asyncio.sleep(frame_time_s(len(answer), self.baud))
                f = self.faults
                if f.late > 0:
                    f.late -= 1
                    await asyncio.sleep(f.late_s)
                if f.drip > 0:
                    f.drip -= 1
                    for i in range(len(answer)):
                        c_writer.write(answer[i : i + 1])
                        await c_writer.drain()
                        await asyncio.sleep(f.drip_byte_s)
                    continue
                c_writer.write(answer)
                await c_writer.drain()
        finally:
            d_writer.close()
            self._writers -= {c_writer, d_writer}

    def _fault(self, request: bytes, answer: bytes) -> bytes:
        f = self.faults
        if f.exception > 0 and len(request) >= 2:
            f.exception -= 1
            return with_crc(bytes((request[0], request[1] | 0x80, 0x04)))
        if f.out_of_range > 0 and len(answer) >= 7 and answer[1] in (3, 4):
            f.out_of_range -= 1
            return with_crc(answer[:3] + b"\x7f\xff" + answer[5:-2])
        if f.truncated > 0 and len(answer) >= 4:
            f.truncated -= 1
            return answer[: len(answer) // 2]
        if f.garbled > 0 and len(answer) >= 4:
            f.garbled -= 1
            return answer[:2] + bytes((answer[2] ^ 0x01,)) + answer[3:]
        return answer
