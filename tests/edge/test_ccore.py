"""The C core's latched-fault word as names: bit n is fault id n of
firmware_c/include/api/edge_prot_api.h (and REGISTERS.md's fault list)."""

from __future__ import annotations

import pytest

from edge.ccore import Fault, fault_names


@pytest.mark.parametrize(
    ("word", "names"),
    [
        (0, ""),
        (1 << 0, "string_ov"),
        (1 << 8, "bus_uv"),
        ((1 << 8) | (1 << 12), "bus_uv, watchdog"),  # 0x1100
        (1 << 14, "runaway_vcell"),
        (0x0003, "string_ov, string_uv"),
    ],
)
def test_fault_words_read_as_names_in_bit_order(word, names):
    assert fault_names(word) == names


def test_bits_beyond_the_last_fault_name_nothing():
    assert fault_names(1 << 15) == ""  # EDGE_FAULT_COUNT is 15
    assert fault_names((1 << 15) | (1 << 4)) == "oc_inst"


def test_every_fault_id_is_its_bit():
    assert fault_names(0x7FFF).split(", ") == [f.name.lower() for f in Fault]
    assert [int(f) for f in Fault] == list(range(15))
