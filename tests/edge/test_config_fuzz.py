"""Property tests of the site-file loader: any bytes, any TOML document (with the real
keys, misspelt ones and values of every type) and the example file with any part
replaced either load or raise ConfigError -- never anything else -- and the message
starts with the file's name and stays short. Deterministic (derandomize) and bounded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edge.config import (
    EXAMPLE_CONFIG,
    MAX_ERRORS_SHOWN,
    MAX_LINE_CHARS,
    EdgeConfig,
    load_config,
    require_devices,
    setting_specs,
)
from edge.errors import ConfigError

PROFILE = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,  # the one file is rewritten by each example
        HealthCheck.data_too_large,
    ],
)
KEYS = [s.key for s in setting_specs(EdgeConfig)]
EXAMPLE = EXAMPLE_CONFIG.read_text(encoding="utf-8")

toml_scalars = (
    st.booleans()
    | st.integers(min_value=-(10**1000), max_value=10**1000)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["tcp://127.0.0.1:8899", "/dev/ttyUSB0", "sofar_hyd_ep", "3000", "yes"])
    | st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 1, 1))
    | st.dates()
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
names = st.sampled_from(KEYS) | st.text(max_size=20).filter(lambda k: "." not in k)


def _document(pairs: list[tuple[str, object]]) -> dict[str, object]:
    doc: dict[str, object] = {}
    for key, value in pairs:
        *path, leaf = key.split(".")
        node = doc
        for part in path:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[leaf] = value
    return doc


documents = st.lists(st.tuples(names, toml_values), max_size=12).map(_document)


@st.composite
def edited_examples(draw: st.DrawFn) -> bytes:
    start = draw(st.integers(0, len(EXAMPLE)))
    end = draw(st.integers(start, min(len(EXAMPLE), start + 80)))
    insert = draw(st.text(max_size=40) | st.sampled_from(["", "\n", "[", "=", '"', "true"]))
    return (EXAMPLE[:start] + insert + EXAMPLE[end:]).encode("utf-8", "surrogatepass")


def _toml(doc: dict[str, object]) -> bytes:
    try:
        return tomlkit.dumps(doc).encode("utf-8", "surrogatepass")
    except (ValueError, TypeError):  # a value tomlkit cannot write: its repr, as text
        return repr(doc).encode("utf-8", "surrogatepass")


contents = (
    st.binary(max_size=3000)
    | documents.map(_toml)
    | edited_examples()
    | st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass"))
)


def check_message(exc: ConfigError, site: Path) -> None:
    message = str(exc)
    lines = message.splitlines()
    assert message.startswith(f"{site}: ")
    assert len(lines) <= MAX_ERRORS_SHOWN + 2
    assert all(len(line) <= MAX_LINE_CHARS * 2 + len(str(site)) for line in lines)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site.toml"


@PROFILE
@given(content=contents)
def test_any_file_loads_or_is_a_short_config_error(site: Path, content: bytes):
    site.write_bytes(content)
    try:
        cfg = load_config(site)
    except ConfigError as exc:
        check_message(exc, site)
        event(str(exc).removeprefix(f"{site}: ").split(":")[0].splitlines()[0])  # the kind
        return
    event("loaded")
    assert isinstance(cfg, EdgeConfig)
    try:
        require_devices(cfg, site)
    except ConfigError as exc:
        check_message(exc, site)
        assert "missing inverter." in str(exc) or "missing dab.port" in str(exc)
