"""Every board folder builds with arm-none-eabi-gcc -Wall -Wextra -Werror, and the
portable firmware glue builds against the blank HAL with the host compiler."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from host_tools import firmware


@pytest.mark.parametrize("name", ["g474-dab", "qemu-mps2-an386"])
def test_board_builds_with_warnings_as_errors(name: str, tmp_path: Path):
    elf = firmware.build(name, tmp_path)
    sizes = firmware.size(elf)
    assert sizes["flash_bytes"] > 1000 and sizes["ram_bytes"] > 0


def test_the_real_board_links_no_plant_model(tmp_path: Path):
    elf = firmware.build("g474-dab", tmp_path)
    symbols = subprocess.run(
        ["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    assert "edge_board_inner" in symbols
    for plant in ("edge_sim_run", "edge_string_fast", "edge_chem_ocv_V"):
        assert plant not in symbols


def test_firmware_glue_builds_against_the_blank_hal(tmp_path: Path):
    core = firmware.CORE
    sources = [*(core / "fw").glob("*.c"), firmware.BOARDS / "blank" / "hal_blank.c"]
    for src in sources:
        subprocess.run(
            [
                "gcc",
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-Wconversion",
                f"-I{core / 'include'}",
                f"-I{core / 'fw'}",
                "-c",
                str(src),
                "-o",
                str(tmp_path / (src.stem + ".o")),
            ],
            check=True,
        )


def test_an_unknown_board_is_refused_with_the_known_ones():
    with pytest.raises(Exception, match="no board 'nope'; boards: g474-dab, qemu-mps2-an386"):
        firmware.board("nope")
