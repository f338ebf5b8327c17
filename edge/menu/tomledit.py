"""Editing the user's TOML site file: values parsed against the model's setting, the
whole file validated before anything is written, a diff to show, and an atomic save that
keeps the file's comments and layout (tomlkit) and the previous file as <name>.bak."""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from edge.config import EdgeConfig, parse_config
from edge.errors import ConfigError
from edge.menu.schema import Setting

TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def parse_value(s: Setting, text: str) -> Any:
    """The input text as the setting's type; raises ValueError saying what is allowed.
    An empty text means "not set" (None) where the setting allows it."""
    text = text.strip()
    if not text:
        if s.optional:
            return None
        raise ValueError(f"{s.key}: a value is needed")
    if s.kind == "bool":
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise ValueError(f"{s.key} = {text!r}: allowed true or false")
    if s.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{s.key} = {text!r}: a whole number is needed") from None
    if s.kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{s.key} = {text!r}: a number is needed") from None
    if s.kind == "choice":
        for c in s.choices:
            if str(c) == text:
                return c
        raise ValueError(f"{s.key} = {text!r}: allowed {', '.join(str(c) for c in s.choices)}")
    if s.kind == "list":
        items = [x.strip().strip("\"'") for x in text.strip("[]").split(",") if x.strip()]
        return items
    return text


def apply_edits(text: str, edits: dict[str, Any]) -> str:
    """The file's text with `edits` ({dotted key: value, None removes}) made, comments
    and layout kept."""
    doc = tomlkit.parse(text)
    for key, value in edits.items():
        *path, leaf = key.split(".")
        node: Any = doc
        for part in path:
            if part not in node:
                node[part] = tomlkit.table()
            node = node[part]
        if value is None:
            if isinstance(node, Table | dict) and leaf in node:
                del node[leaf]
        else:
            node[leaf] = value
    return tomlkit.dumps(doc)


def validate(text: str, source: str) -> EdgeConfig:
    """The edited file as the supervisor would read it; ConfigError names each bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return parse_config(data, source)


def diff(old: str, new: str, name: str) -> list[str]:
    return list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), f"{name} (now)", f"{name} (new)", lineterm=""
        )
    )


def save_atomically(path: Path, text: str) -> Path:
    """Write `text` to `path` in one rename (a crash leaves the old file or the new one,
    never half of either), keeping the previous file as <path>.bak; returns the backup."""
    backup = path.with_name(path.name + ".bak")
    if path.exists():
        shutil.copy2(path, backup)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
    return backup
