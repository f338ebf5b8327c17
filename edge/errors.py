"""One exception hierarchy for the supervisor: everything we raise derives from EdgeError."""

from __future__ import annotations

import reprlib


class EdgeError(Exception):
    """Base of every error the supervisor raises on purpose."""


class ConfigError(EdgeError):
    """The site configuration is invalid; the message names the key, value and what is allowed."""


class DeviceError(EdgeError):
    """A device did not answer, answered wrongly, or answered with an implausible value."""


MAX_SHOWN_CHARS = 60  # a value quoted in a message, at most about this long


def _make_repr() -> reprlib.Repr:
    r = reprlib.Repr()
    r.maxstring = r.maxother = r.maxlong = MAX_SHOWN_CHARS
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict = 3, 6, 6, 6
    return r


_REPR = _make_repr()


def shown(value: object) -> str:
    """A value as a message quotes it: its repr, with long strings, numbers and deep or
    long containers elided (`...`), so a hostile input cannot make a message large."""
    try:
        return _REPR.repr(value)
    except ValueError:  # an int past Python's 4300-digit str limit (sys.int_info)
        return "<a number too long to show>"


def clip(text: str, limit: int = 200) -> str:
    """text cut to `limit` characters, with a marker saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters in all)"
