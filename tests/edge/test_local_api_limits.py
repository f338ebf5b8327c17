"""The local API's framing against hostile input, over a real Unix socket: a line past the
limit, nesting past the limit, bytes that are not UTF-8 and numbers JSON cannot carry are
each refused with a reason, and the API goes on serving the same client and others."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.local_api import MAX_ANSWER_BYTES, MAX_DEPTH, MAX_LINE_BYTES, LocalApi, encode_answer


async def echo(request: dict[str, Any]) -> dict[str, Any]:
    """A handler that answers with the op it was asked: the framing is what is tested."""
    return {"op": request["op"]}


@pytest.fixture
def sock_path() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="edge-api-"))  # short: a socket path has 108 bytes
    try:
        yield folder / "api.sock"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ask(path: Path, payloads: list[bytes]) -> list[dict[str, Any]]:
    """Send each payload (with its newline) on one connection; read one answer after each."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10.0)
        s.connect(str(path))
        f = s.makefile("rb")
        answers = []
        for payload in payloads:
            s.sendall(payload)
            answers.append(json.loads(f.readline()))
        return answers


def serve_and_ask(path: Path, payloads: list[bytes]) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        api = LocalApi(str(path), echo)
        await api.start()
        try:
            first = await asyncio.to_thread(ask, path, payloads)
            # Another client, on its own connection, is served after all of that.
            second = await asyncio.to_thread(ask, path, [b'{"op": "status"}\n'])
            return [*first, *second]
        finally:
            await api.stop()

    return asyncio.run(go())


STATUS = b'{"op": "status"}\n'


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (b'{"op": "' + b"x" * 10_000_000 + b'"}\n', f"longer than {MAX_LINE_BYTES} bytes"),
        (b"[" * 20_000 + b"]" * 20_000 + b"\n", f"nested deeper than {MAX_DEPTH} levels"),
        (b'{"op": "' + b"{" * 40_000 + b'"}\n', None),  # deep-looking, but one string
        (b'{"op": "st\xffatus"}\n', "not UTF-8: byte 0xff at position 10"),
        (b'{"op": "status", "value": ' + b"9" * 5000 + b"}\n", "not a JSON request"),
        (b'{"op": "status", "value": NaN}\n', "not a JSON request: NaN"),
    ],
    ids=["10MB-line", "40k-nesting", "braces-in-a-string", "bad-utf8", "5000-digits", "nan"],
)
def test_hostile_lines_are_refused_with_a_reason_and_the_api_goes_on(sock_path, caplog, bad, said):
    caplog.set_level(logging.DEBUG)
    answer, same_client, other_client = serve_and_ask(sock_path, [bad, STATUS])
    if said is None:
        assert answer == {"op": "{" * 40_000, "ok": True, "read_only": False}
    else:
        assert answer["ok"] is False and said in answer["error"], answer
        assert len(answer["error"]) < 200  # bounded: the request is not echoed back
    assert same_client == {"op": "status", "ok": True, "read_only": False}
    assert other_client == same_client
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_line_just_inside_the_limit_is_read(sock_path):
    op = "x" * (MAX_LINE_BYTES - len(b'{"op": ""}\n'))
    line = json.dumps({"op": op}).encode() + b"\n"
    assert len(line) == MAX_LINE_BYTES
    answer, _same, _other = serve_and_ask(sock_path, [line, STATUS])
    assert answer["ok"] is True and answer["op"] == op


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({"blob": "x" * (MAX_ANSWER_BYTES + 1)}, f"longer than {MAX_ANSWER_BYTES} bytes"),
        ({"power_w": float("nan")}, "the answer was not JSON: Out of range float"),
    ],
)
def test_an_answer_that_cannot_go_out_is_replaced_by_a_refusal(answer, said):
    line = encode_answer(answer)
    assert line.endswith(b"\n") and len(line) < 200
    refusal = json.loads(line)
    assert refusal["ok"] is False and said in refusal["error"]
