"""The optional installs: a command whose extra is missing says, in one line, which extra
to install; any other missing module is not disguised as one."""

from __future__ import annotations

import importlib

import pytest

from edge.errors import EdgeError
from edge.extras import EXTRAS, MissingExtra, needs


def test_needs_returns_what_the_loader_returns():
    assert needs("sim", "edge demo", lambda: importlib.import_module("pvlib")).__name__ == "pvlib"
    assert needs("flash", "edge flash", lambda: 42) == 42


def missing(name: str):
    def load():
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    return load


def test_a_missing_package_of_the_extra_names_the_extra_and_the_pip_command():
    with pytest.raises(MissingExtra) as err:
        needs("sim", "edge demo", missing("pandas"))
    assert str(err.value) == (
        "edge demo needs the 'sim' extra (pandas is missing): pip install 'edge[sim]'"
    )
    assert isinstance(err.value, EdgeError)  # the CLI prints it as one line, exit 2
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no chained trace


def test_a_missing_submodule_names_its_top_level_package():
    with pytest.raises(MissingExtra) as err:
        needs("bench", "bench control", missing("matplotlib.pyplot"))
    assert str(err.value).endswith("(matplotlib is missing): pip install 'edge[bench]'")


def test_each_extra_is_checked_against_its_own_packages():
    # stm32loader belongs to the flash extra: a sim command missing it is a plain bug.
    with pytest.raises(ModuleNotFoundError) as err:
        needs("sim", "edge demo", missing("stm32loader"))
    assert not isinstance(err.value, MissingExtra)
    with pytest.raises(MissingExtra, match=r"the 'flash' extra \(stm32loader is missing\)"):
        needs("flash", "edge flash", missing("stm32loader"))


def test_a_module_that_is_in_no_extra_is_raised_as_it_is():
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
        needs("sim", "edge demo", lambda: importlib.import_module("no_such_module_here"))


def declared(extra: str) -> set[str]:
    """pyproject.toml's packages of an extra, by name (each imports under that name)."""
    import re
    import tomllib
    from pathlib import Path

    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["optional-dependencies"][extra]
    return {re.split(r"[<>=\[ ]", spec)[0] for spec in specs}


@pytest.mark.parametrize("extra", ["sim", "flash", "bench"])
def test_every_package_an_extra_installs_is_named_when_missing(extra):
    """bench includes edge[sim]: the sim extra's packages are named for bench too."""
    wanted = declared(extra) - {"edge"}
    if "edge" in declared(extra):
        wanted |= declared("sim")
    assert wanted <= set(EXTRAS[extra])
