"""The local API against a running `edge demo`: status, commands, a config reload that
applies what it can, output tests, and read-only access for users outside the group."""

from __future__ import annotations

import json
import os
import socket

from edge.local_api import ApiClient
from tests.edge.conftest import wait_until

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def test_status_commands_reload_and_output_tests(demo):
    client, cfg, _sock = demo
    status = client.request("status")
    assert status["ok"] and not status["read_only"]
    assert status["devices"]["inverter"]["stale"] is False
    assert status["budgets"]["inverter"]["per_day"] == 20000
    assert status["config_path"] == str(cfg)

    refused = client.request("command", key="force_charge_w", value=99999)
    assert not refused["ok"] and "allowed 0 to 3000 W" in refused["result"]["reason"]
    assert client.request("command", key="emergency_stop")["ok"]
    wait_until(lambda: client.request("status")["state"]["reason"].startswith("emergency stop"))
    assert client.request("command", key="clear_trip")["ok"]
    wait_until(lambda: client.request("status")["state"]["emergency_stop"] == "OFF")

    # A live setting and one that needs a restart, changed in the file.
    text = cfg.read_text()
    text = text.replace("hold_s = 60 ", "hold_s = 90 ").replace(
        'port = "tcp://127.0.0.1:8899"', 'port = "tcp://127.0.0.1:8898"'
    )
    cfg.write_text(text)
    answer = client.request("reload")
    assert answer["ok"], answer
    assert answer["applied"] == ["policy.hold_s"]
    assert answer["restart_needed"] == ["inverter.port"]
    live = client.request("status")["settings"]
    assert live["policy.hold_s"] == 90.0  # taken at once
    assert live["inverter.port"] != "tcp://127.0.0.1:8898"  # kept until a restart
    assert client.request("status")["restart_pending"] == ["inverter.port"]
    cfg.write_text(text.replace("hold_s = 90 ", "hold_s = 99999 "))  # out of range
    bad = client.request("reload")
    assert not bad["ok"] and "policy.hold_s = 99999" in bad["error"]

    assert client.request("test_output", what="diverter", seconds=5)["ok"]
    testing = client.request("status")
    assert testing["devices"]["loads"]["status"] == "testing diverter"
    assert not client.request("test_output", what="relay1", seconds=5)["ok"]  # one at a time
    wait_until(lambda: client.request("status")["devices"]["loads"]["status"] == "ok")
    bad_test = client.request("test_output", what="kettle")
    assert "allowed diverter, relay1, relay2" in bad_test["error"]


def test_garbage_gets_a_reason_and_the_api_goes_on(demo):
    _client, _cfg, sock = demo
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(sock))
        f = s.makefile("rwb")
        for line, error in (
            (b"not json\n", "not a JSON request"),
            (b"[1, 2]\n", 'a JSON object with an "op"'),
            (b'{"op": "format_disk"}\n', "unknown op 'format_disk'"),
        ):
            f.write(line)
            f.flush()
            answer = json.loads(f.readline())
            assert not answer["ok"] and error in answer["error"]


def test_users_outside_the_group_may_look_but_not_act(demo):
    _client, _cfg, sock = demo
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child becomes user nobody, then asks
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            c = ApiClient(str(sock))
            answers = [c.request("status"), c.request("command", key="emergency_stop")]
            os.write(write_end, json.dumps(answers).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    status, command = json.loads(data)
    assert status["ok"] and status["read_only"] and "grid_power_w" in status["state"]
    assert not command["ok"] and command["error"].startswith("read-only: command needs")


def test_commissioning_scan_finds_an_inverter_and_a_bms(demo):
    import asyncio
    import threading

    from edge.drivers.pylontech.sim import PylontechEmulator
    from edge.drivers.sofar.g3_sim import SofarG3Emulator
    from edge.sim.battery import PackParams, PylontechPack
    from edge.sim.house import House, HouseParams

    client, _cfg, _sock = demo
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    inverter = SofarG3Emulator(House(HouseParams(), start_s=43200.0), slave_id=3)
    bms = PylontechEmulator(PylontechPack(PackParams(), 60.0, seed=1))

    async def start() -> tuple[int, str]:
        return await inverter.start(), bms.open_pty()

    port, pty = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        found = client.request(
            "scan", timeout_s=60, port=f"tcp://127.0.0.1:{port}", slave_ids=[1, 2, 3]
        )
        assert found["ok"], found
        assert found["found"] == [
            {
                "device": "sofar_hyd_ep",
                "port": f"tcp://127.0.0.1:{port}",
                "baud": None,
                "address": 3,
                "identity": "SM2ES410SIM001",
            }
        ]
        on_pty = client.request("scan", timeout_s=60, port=pty, slave_ids=[1])
        assert on_pty["found"] == [
            {
                "device": "pylontech",
                "port": pty,
                "baud": 115200,
                "address": 2,
                "identity": "protocol V3.3",
            }
        ]
        own = client.request("status")["state"]
        assert own  # the demo's own ports are refused: its inverter is on the config's port
        busy = client.request("scan", port=client.request("status")["inverter_port"])
        assert not busy["ok"] and "in use by the inverter driver" in busy["error"]
    finally:
        asyncio.run_coroutine_threadsafe(inverter.stop(), loop).result(10)
        loop.call_soon_threadsafe(bms.close_pty)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
