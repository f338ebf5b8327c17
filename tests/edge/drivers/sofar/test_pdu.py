"""The custom 0x42 / 0x49 PDUs produce the frames printed in the reference (§3.1, §3.2)."""

from __future__ import annotations

import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU

from edge.core.model import InverterCommand, InverterMode
from edge.drivers.sofar.driver import passive_frame_args
from edge.drivers.sofar.pdu import (
    HeartbeatRequest,
    PassiveCmd,
    PassiveRequest,
    PassiveResponse,
)


def frame(pdu) -> str:
    return FramerRTU(DecodePDU(False)).buildFrame(pdu).hex(" ").upper()


@pytest.mark.parametrize(
    ("cmd", "value", "expected"),
    [
        (PassiveCmd.STANDBY, 0x5555, "01 42 01 00 55 55 87 56"),
        (PassiveCmd.DISCHARGE, 500, "01 42 01 01 01 F4 29 EE"),
        (PassiveCmd.CHARGE, 500, "01 42 01 02 01 F4 D9 EE"),
        (PassiveCmd.CHARGE, 3000, "01 42 01 02 0B B8 DE BB"),
        (PassiveCmd.AUTO, 0, "01 42 01 03 00 00 88 39"),
    ],
)
def test_passive_frames_match_the_reference(cmd, value, expected):
    assert frame(PassiveRequest(cmd, value, dev_id=1)) == expected


def test_heartbeat_frame_matches_the_reference():
    assert frame(HeartbeatRequest(dev_id=1)) == "01 49 22 01 22 02 1E DD"


def test_passive_response_decodes_status_and_result():
    decoder = DecodePDU(False)
    decoder.register(PassiveResponse)
    framer = FramerRTU(decoder)
    raw = FramerRTU(DecodePDU(True)).buildFrame(PassiveResponse(status=0x05, result=4, dev_id=1))
    assert len(raw) == 7  # slave | 0x42 | 0x02 | status | result | CRC(2)
    _used, pdu = framer.handleFrame(raw, 1, 0)
    assert isinstance(pdu, PassiveResponse)
    assert (pdu.status_bits, pdu.result) == (0x05, 4)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (InverterCommand(InverterMode.SELF_USE), (PassiveCmd.AUTO, 0)),
        (InverterCommand(InverterMode.PASSIVE, 1234.4), (PassiveCmd.DISCHARGE, 1234)),
        (InverterCommand(InverterMode.PASSIVE, -800.0), (PassiveCmd.CHARGE, 800)),
        (InverterCommand(InverterMode.PASSIVE, 0.3), (PassiveCmd.STANDBY, 0x5555)),
    ],
)
def test_commands_map_to_passive_frames_with_discharge_positive(command, expected):
    assert passive_frame_args(command) == expected
