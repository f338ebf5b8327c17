"""Who owns the local API's socket file: a live server's socket is never taken over or
removed by another, a stale one (its server gone) is replaced, and anything that is not a
socket is left alone. Two LocalApi instances on one path, and two real `edge demo`s."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.config import EXAMPLE_CONFIG
from edge.local_api import ApiClient, LocalApi
from tests.edge.conftest import ENV, wait_until


@pytest.fixture
def sock_path() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="edge-api-"))  # short: a socket path has 108 bytes
    try:
        yield folder / "api.sock"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def handler(name: str) -> Any:
    async def answer(request: dict[str, Any]) -> dict[str, Any]:
        return {"served_by": name}

    return answer


async def served_by(path: Path) -> str:
    answer = await asyncio.to_thread(lambda: ApiClient(str(path)).request("status"))
    return str(answer["served_by"])


def test_a_second_api_refuses_a_live_socket_and_the_first_keeps_it(sock_path):
    async def go():
        first, second = (
            LocalApi(str(sock_path), handler("first")),
            LocalApi(str(sock_path), handler("second")),
        )
        await first.start()
        try:
            with pytest.raises(OSError) as refused:
                await second.start()
            assert str(sock_path) in str(refused.value)
            assert "another process serves the local API there" in str(refused.value)
            await second.stop()  # a refused start has nothing to remove
            assert await served_by(sock_path) == "first"
        finally:
            await first.stop()
        assert not sock_path.exists()  # its own socket, removed at its stop

    asyncio.run(go())


def test_a_stopping_api_leaves_a_socket_that_is_no_longer_its_own(sock_path):
    async def go():
        old, new = (
            LocalApi(str(sock_path), handler("old")),
            LocalApi(str(sock_path), handler("new")),
        )
        await old.start()
        sock_path.unlink()  # e.g. removed by hand; then another supervisor starts there
        await new.start()
        try:
            await old.stop()
            assert sock_path.exists()
            assert await served_by(sock_path) == "new"
        finally:
            await new.stop()

    asyncio.run(go())


def test_a_stale_socket_whose_server_is_gone_is_replaced(sock_path):
    async def go():
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(str(sock_path))  # a supervisor killed before it could clean up
        dead.close()
        api = LocalApi(str(sock_path), handler("new"))
        await api.start()
        try:
            assert await served_by(sock_path) == "new"
        finally:
            await api.stop()

    asyncio.run(go())


def test_a_file_that_is_not_a_socket_is_left_alone(sock_path):
    async def go():
        sock_path.write_text("[site]\n")  # site.api_socket pointing at a file by mistake
        with pytest.raises(OSError) as refused:
            await LocalApi(str(sock_path), handler("x")).start()
        assert str(refused.value).startswith(f"{sock_path} exists and is not a socket")
        assert sock_path.read_text() == "[site]\n"

    asyncio.run(go())


def demo(cfg: Path, sock: Path, minutes: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "edge", "demo", "--no-mqtt", "--quiet", "--config", str(cfg)),
            *("--minutes", str(minutes), "--speed", "10", "--api-socket", str(sock)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def test_two_edge_processes_on_one_socket(sock_path, tmp_path):
    """The second supervisor on one config runs without the API; when it ends, the first's
    socket is still there and still answers."""
    cfg = tmp_path / "site.toml"
    shutil.copy(EXAMPLE_CONFIG, cfg)
    first = demo(cfg, sock_path, minutes=30)
    client = ApiClient(str(sock_path))
    try:
        wait_until(lambda: client.request("status")["ok"])
        ticks = client.request("status")["ticks"]
        second = demo(cfg, sock_path, minutes=0.5)  # 3 s at speed 10, then it ends
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err
        assert f"{sock_path}: another process serves the local API there" in out + err
        assert sock_path.exists()
        client.close()
        assert client.request("status")["ticks"] > ticks  # the first, still deciding
    finally:
        client.close()
        first.terminate()
        first.communicate(timeout=30)
    assert first.returncode == 0
