"""Serials as last seen: unique ids stay the same when a device is silent at start-up."""

from __future__ import annotations

from edge.identities import Identities


def test_a_silent_device_keeps_the_serial_it_had(tmp_path):
    db = str(tmp_path / "state.sqlite")
    ids = Identities(db)
    assert ids.settle("bms", None) is None  # never seen
    assert ids.settle("bms", "PPTAP0001") == "PPTAP0001"
    ids.close()
    again = Identities(db)
    assert again.settle("bms", None) == "PPTAP0001"  # silent now: the last one seen
    assert again.settle("bms", "PPTAP0002") == "PPTAP0002"  # a new pack: its own
    assert again.settle("dab", None) is None
    again.close()
