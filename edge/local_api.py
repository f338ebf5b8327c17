"""The supervisor's local API: JSON lines over a Unix socket (site.api_socket), no network
port. The on-device menu acts only through it and the config file.

Access is read-only unless the peer (SO_PEERCRED) is root, the supervisor's own user, or
a member of site.api_group: anyone on the device may look, only the controller's group may
act. The socket is made mode 0666 so that the check, not the connect, decides.

The socket file is this API's only while it serves: a start refuses a path where another
live process serves (or that is not a socket) and replaces a stale one; a stop removes the
file only if it is still the one this API bound (same device and inode).

Requests, one JSON object a line, each answered with one:
  {"op": "status"}                    the latest state document, devices, decisions, budgets,
                                      the plan in force (edge/planner/status.py)
  {"op": "command", "key", "value", ["for_s"]}
                                      a command as over MQTT (edge/mqtt/commands.py)
  {"op": "reload"}                    re-read the config file; apply what can be applied live
  {"op": "test_output", "what": "diverter"|"relay1"|"relay2", "seconds": N}
                                      drive one load output for N s (commissioning)
  {"op": "scan", "port", ["slave_ids"]}
                                      what answers on an RS485 port (commissioning)
Every answer has "ok"; a refusal has "error" saying why. A request line is UTF-8 JSON of at
most MAX_LINE_BYTES, nested at most MAX_DEPTH levels; a line that breaks one of these is
refused with the reason, and the connection goes on with the next line.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import grp
import json
import logging
import os
import pwd
import socket
import stat
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("edge.api")

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
WRITE_OPS = ("command", "reload", "test_output", "scan")
MAX_LINE_BYTES = 64 * 1024  # a request line, its newline included
MAX_ANSWER_BYTES = 256 * 1024  # an answer line; a status is a few kB
MAX_DEPTH = 8  # nesting of a request: none needs more than 2


def peer_may_write(sock: socket.socket, group: str | None) -> bool:
    """Root, the supervisor's own user, or a member of `group` (primary or supplementary)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, gid = struct.unpack("3i", creds)
    if uid in (0, os.getuid()):
        return True
    if group is None:
        return False
    try:
        wanted = grp.getgrnam(group).gr_gid
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return False
    return wanted in os.getgrouplist(name, gid)


TAKEN = (
    "another process serves the local API there; stop it, or set site.api_socket to another path"
)


class SocketTaken(OSError):
    """The socket's path is another live process's socket, or not a socket at all."""


class LocalApi:
    def __init__(self, path: str, handler: Handler, group: str | None = None) -> None:
        self.path = str(Path(path).expanduser())
        self.handler = handler
        self.group = group
        self.requests = 0
        self._server: asyncio.AbstractServer | None = None
        self._bound: tuple[int, int] | None = None  # (st_dev, st_ino) of the socket we bound

    async def start(self) -> None:
        """Serve on self.path. Raises SocketTaken (an OSError) naming the path when another
        live process serves there, or the path is not a socket; a stale socket (its server
        gone) is replaced."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(self.path)  # never over a file: asyncio's own bind would remove it
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise SocketTaken(f"{self.path}: {TAKEN}") from exc
            raise
        st = os.stat(self.path)
        self._bound = (st.st_dev, st.st_ino)
        os.chmod(self.path, 0o666)
        self._server = await asyncio.start_unix_server(
            self._serve, sock=sock, limit=MAX_LINE_BYTES - 1
        )
        log.info("local API on %s", self.path)

    def _remove_stale(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise SocketTaken(
                f"{self.path} exists and is not a socket; remove it, or set site.api_socket"
                " to another path"
            )
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            try:
                probe.connect(self.path)
            except ConnectionRefusedError:  # nobody listens: left by a process that died
                os.unlink(self.path)
                log.info("removed the stale socket %s", self.path)
                return
            except OSError as exc:  # busy, or not ours to reach: not ours to remove
                raise SocketTaken(f"{self.path}: {TAKEN} ({exc.strerror})") from exc
        raise SocketTaken(f"{self.path}: {TAKEN}")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        may_write = peer_may_write(sock, self.group)
        try:
            while True:
                line = await _read_line(reader)
                if line == b"":
                    break
                self.requests += 1
                answer = (
                    await self._answer(line, may_write)
                    if line is not None
                    else {
                        "ok": False,
                        "error": f"a request line is longer than {MAX_LINE_BYTES} bytes",
                    }
                )
                writer.write(encode_answer(answer))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _answer(self, line: bytes, may_write: bool) -> dict[str, Any]:
        """The answer to one request line; never raises."""
        request = parse_request(line)
        if "error" in request:
            return request
        request = request["request"]
        if request["op"] in WRITE_OPS and not may_write:
            return {
                "ok": False,
                "error": f"read-only: {request['op']} needs the controller's group"
                + (f" ({self.group})" if self.group else ""),
            }
        try:
            answer = await self.handler(request)
        except Exception as exc:  # a bug in one request must not stop the API
            log.exception("local API request %s failed", _cut(repr(request["op"]), 60))
            return {"ok": False, "error": f"{type(exc).__name__}: {_cut(str(exc), 200)}"}
        answer.setdefault("ok", True)
        answer["read_only"] = not may_write
        return answer

    async def stop(self) -> None:
        """Stop serving, and remove the socket file if it is still the one this API bound
        (another supervisor's socket at the same path is left alone)."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
        if self._bound is None:
            return
        bound, self._bound = self._bound, None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        if (st.st_dev, st.st_ino) == bound:
            os.unlink(self.path)
        else:
            log.info("%s is another process's socket now: left in place", self.path)


def parse_request(line: bytes) -> dict[str, Any]:
    """{"request": the request} from one line, or a refusal {"ok": false, "error": why}.
    The text must be UTF-8, the JSON standard (no NaN or Infinity), an object with a string
    "op", nested at most MAX_DEPTH levels."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = line[exc.start]
        return {"ok": False, "error": f"not UTF-8: byte 0x{bad:02x} at position {exc.start}"}
    try:
        request = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        return {"ok": False, "error": f"a request nested deeper than {MAX_DEPTH} levels"}
    except ValueError as exc:  # JSONDecodeError, too many digits, NaN
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return {"ok": False, "error": f"not a JSON request: {_cut(why, 120)}"}
    if _depth(request) > MAX_DEPTH:
        return {"ok": False, "error": f"a request nested deeper than {MAX_DEPTH} levels"}
    if not isinstance(request, dict) or not isinstance(request.get("op"), str):
        return {"ok": False, "error": 'a request is a JSON object with an "op"'}
    return {"request": request}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON carries")


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (a scalar: 0); iterative, so any depth
    json.loads returned is measured without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        todo.extend((child, level + 1) for child in children)
    return deepest


def _cut(text: str, max_chars: int) -> str:
    """text, cut to max_chars: what a request sent is quoted, never echoed whole."""
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."


def encode_answer(answer: dict[str, Any]) -> bytes:
    """One answer line: standard JSON of at most MAX_ANSWER_BYTES, or a refusal saying why
    the answer could not be sent."""
    try:
        line = json.dumps(answer, default=str, allow_nan=False).encode() + b"\n"
    except (ValueError, TypeError, RecursionError) as exc:
        why = f"the answer was not JSON: {_cut(str(exc), 120)}"
    else:
        if len(line) <= MAX_ANSWER_BYTES:
            return line
        why = f"the answer was longer than {MAX_ANSWER_BYTES} bytes"
    log.warning("local API answer not sent: %s", why)
    return json.dumps({"ok": False, "error": why}).encode() + b"\n"


async def _read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next line (with its newline; b"" at the end), or None for a line longer than
    MAX_LINE_BYTES, which is read to its end and dropped so the next request is in step."""
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial  # the last line without its newline, or b""
    except asyncio.LimitOverrunError as exc:
        consumed = exc.consumed
    while True:  # drop what is buffered, a buffer (at most the limit) at a time
        await reader.readexactly(consumed)
        try:
            await reader.readuntil(b"\n")
            return None
        except asyncio.LimitOverrunError as exc:
            consumed = exc.consumed


class ApiClient:
    """A blocking client, for the menu (one request at a time)."""

    def __init__(self, path: str, timeout_s: float = 5.0) -> None:
        self.path = str(Path(path).expanduser())
        self.timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._file: Any = None

    def _connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout_s)
        s.connect(self.path)
        self._sock, self._file = s, s.makefile("rwb")

    def request(self, op: str, timeout_s: float | None = None, **args: Any) -> dict[str, Any]:
        """One request; raises OSError when the supervisor is not there. timeout_s: for
        a slow request (a scan), instead of the client's default."""
        if self._sock is None:
            self._connect()
        assert self._file is not None and self._sock is not None
        self._sock.settimeout(timeout_s or self.timeout_s)
        try:
            self._file.write(json.dumps({"op": op, **args}).encode() + b"\n")
            self._file.flush()
            line = self._file.readline()
        except OSError:
            self.close()
            raise
        if not line:
            self.close()
            raise ConnectionError("the supervisor closed the local API connection")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = self._file = None
