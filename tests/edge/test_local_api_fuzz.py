"""Property tests of the local API's request handling (hypothesis, derandomized so CI sees
the same examples every run): whatever bytes or JSON arrive, the handling never raises and
every line gets one answer, a JSON object with "ok", no longer than MAX_ANSWER_BYTES.

The requests reach the real SupervisorApi over a Supervisor whose drivers poll the
emulators (the rig of test_supervisor_api.py); hypothesis runs in a worker thread and hands
each request to the rig's event loop."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.local_api import (
    MAX_ANSWER_BYTES,
    MAX_LINE_BYTES,
    LocalApi,
    encode_answer,
    parse_request,
)
from tests.edge.test_supervisor_api import rig

FUZZ = settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

OPS = ["status", "command", "reload", "test_output", "scan", "format_disk", ""]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.text(min_size=300, max_size=3000)  # long enough to show an answer that echoes it
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ports = st.one_of(
    st.text(max_size=30),
    st.builds(lambda t: "tcp://" + t, st.text(max_size=30)),
    st.builds(
        lambda h, p: f"tcp://{h}:{p}",
        st.sampled_from(["", "localhost", "x.invalid"]),
        st.integers(-1, 70000),
    ),
    st.builds(lambda t: "/dev/no-such-" + t, st.text(alphabet="abcdef/.", max_size=12)),
)
requests = st.fixed_dictionaries(
    {"op": st.sampled_from(OPS) | st.text(max_size=12) | st.text(min_size=300, max_size=3000)},
    optional={
        "key": st.sampled_from(["emergency_stop", "force_charge_w", "mode", "boost_hot_water"])
        | st.text(max_size=12),
        "value": values,
        "for_s": values,
        "what": st.sampled_from(["diverter", "relay1", "kettle"]) | values,
        "seconds": values,
        "port": ports | values,
        "slave_ids": values | st.lists(st.integers(-5, 300), max_size=5),
        **{k: values for k in ("extra", "timeout_s")},
    },
)
lines = st.one_of(
    st.binary(max_size=300),
    requests.map(lambda r: json.dumps(r).encode()),
    st.builds(lambda r, cut: json.dumps(r).encode()[:cut], requests, st.integers(0, 60)),
    st.builds(lambda n, b: b"[" * n + b, st.integers(0, 3000), st.binary(max_size=20)),
    st.builds(lambda n, b: b + b"9" * n, st.integers(4000, 6000), st.binary(max_size=5)),
)


def check(answer: dict[str, Any]) -> None:
    """One answer: "ok", standard JSON, bounded; a refusal says why, briefly."""
    text = json.dumps(answer, allow_nan=False)  # raises on NaN or what JSON cannot carry
    assert len(text) <= MAX_ANSWER_BYTES
    assert isinstance(answer["ok"], bool)
    if answer["ok"] is False and "error" in answer:
        assert isinstance(answer["error"], str) and 0 < len(answer["error"]) <= 500
    reason = answer.get("result", {}).get("reason")  # a command's refusal
    assert reason is None or 0 < len(reason) <= 500


def with_rig(
    tmp_path: Path, body: Callable[[asyncio.AbstractEventLoop, LocalApi, Path], None]
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="edge-fz-"))

    async def go() -> None:
        async with rig(tmp_path) as r:
            api = LocalApi(str(folder / "api.sock"), r.api)
            await api.start()
            try:
                await asyncio.to_thread(body, asyncio.get_running_loop(), api, folder / "api.sock")
            finally:
                await api.stop()

    try:
        asyncio.run(go())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@FUZZ
@given(st.binary(max_size=400) | lines)
def test_parse_request_refuses_with_a_reason_or_gives_a_request(line):
    parsed = parse_request(line)
    if "request" in parsed:
        assert isinstance(parsed["request"], dict) and isinstance(parsed["request"]["op"], str)
    else:
        check(parsed)


def test_any_line_to_the_supervisor_gets_one_bounded_json_answer(tmp_path):
    def body(loop: asyncio.AbstractEventLoop, api: LocalApi, _path: Path) -> None:
        @FUZZ
        @given(lines, st.booleans())
        def prop(line: bytes, may_write: bool) -> None:
            answer = asyncio.run_coroutine_threadsafe(api._answer(line, may_write), loop).result(30)
            wire = encode_answer(answer)  # what goes on the wire
            assert wire.endswith(b"\n") and len(wire) <= MAX_ANSWER_BYTES
            check(json.loads(wire))

        prop()

    with_rig(tmp_path, body)


def test_any_bytes_on_the_socket_get_one_answer_a_line(tmp_path):
    def body(_loop: asyncio.AbstractEventLoop, _api: LocalApi, path: Path) -> None:
        @FUZZ
        @given(
            st.lists(lines.map(lambda b: b.replace(b"\n", b" ")), min_size=1, max_size=4),
            st.booleans(),
        )
        def prop(chunks: list[bytes], long: bool) -> None:
            if long:
                chunks = [*chunks, b"x" * (MAX_LINE_BYTES + 10)]
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(30.0)
                s.connect(str(path))
                f = s.makefile("rb")
                s.sendall(b"\n".join(chunks) + b"\n")
                for _ in chunks:
                    line = f.readline()
                    assert line.endswith(b"\n") and len(line) <= MAX_ANSWER_BYTES
                    check(json.loads(line))

        prop()

    with_rig(tmp_path, body)
