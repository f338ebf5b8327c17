"""An emulator's socket: a free port, one task per connection, the connection closed
however `serve` ends, and a shutdown that ends open connections quietly."""

from __future__ import annotations

import asyncio

from edge.drivers.stream_server import StreamServer


class Echo(StreamServer):
    """Answers each line with the line upper-cased; b"drop" makes serve fail as a peer
    that vanished would (OSError); b"bug" raises something else."""

    def __init__(self) -> None:
        super().__init__()
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while True:
            line = await reader.readuntil(b"\n")
            if line == b"drop\n":
                raise ConnectionResetError("the peer went away")
            writer.write(line.upper())
            await writer.drain()


async def ask(port: int, line: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(line)
    await writer.drain()
    return reader, writer, await asyncio.wait_for(reader.readline(), 2.0)


def run(coro) -> list[dict]:
    """Run coro; return what reached the loop's exception handler (nothing should)."""
    errors: list[dict] = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda _l, ctx: errors.append(ctx))
        await coro

    asyncio.run(main())
    return errors


def test_start_picks_a_free_port_and_answers_each_connection():
    async def go():
        a, b = Echo(), Echo()
        pa, pb = await a.start(), await b.start()
        try:
            assert pa > 0 and pb > 0 and pa != pb
            assert (a.port, b.port) == (pa, pb)
            _r1, w1, got1 = await ask(pa, b"status\n")
            _r2, w2, got2 = await ask(pa, b"again\n")
            assert (got1, got2) == (b"STATUS\n", b"AGAIN\n")
            assert a.connections == 2 and b.connections == 0
            for w in (w1, w2):
                w.close()
        finally:
            await a.stop()
            await b.stop()

    assert run(go()) == []


def test_a_connection_that_fails_is_closed_and_the_server_goes_on():
    async def go():
        srv = Echo()
        port = await srv.start()
        try:
            reader, writer, got = await ask(port, b"one\n")
            assert got == b"ONE\n"
            writer.write(b"drop\n")
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 2.0) == b""  # closed by the server
            writer.close()
            _r, w, again = await ask(port, b"two\n")
            assert again == b"TWO\n"
            w.close()
        finally:
            await srv.stop()

    assert run(go()) == []


def test_a_peer_that_hangs_up_mid_line_ends_its_connection_quietly():
    async def go():
        srv = Echo()
        port = await srv.start()
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"half a li")  # readuntil meets the end: IncompleteReadError
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            _r, w, got = await ask(port, b"next\n")
            assert got == b"NEXT\n"
            w.close()
        finally:
            await srv.stop()

    assert run(go()) == []


def test_stop_frees_the_port_and_a_second_stop_does_nothing():
    async def go():
        srv = Echo()
        port = await srv.start()
        await asyncio.wait_for(srv.stop(), 5.0)
        try:
            await asyncio.open_connection("127.0.0.1", port)
            raise AssertionError("the port still accepts connections")
        except ConnectionRefusedError:
            pass
        await srv.stop()

    assert run(go()) == []


def test_stop_ends_the_open_connections_too():
    """An emulator that stops is a device that went away: its connected driver must see
    the link drop, not go on getting answers (the module's docstring says the shutdown
    ends the connection's task)."""

    async def go():
        srv = Echo()
        port = await srv.start()
        reader, writer, _ = await ask(port, b"hello\n")
        try:
            await asyncio.wait_for(srv.stop(), 5.0)
            try:
                writer.write(b"still there?\n")
                await writer.drain()
                answer = await asyncio.wait_for(reader.readline(), 2.0)
            except ConnectionError:
                answer = b""
            assert answer == b"", f"a stopped server still answers: {answer!r}"
        finally:
            writer.close()

    assert run(go()) == []
