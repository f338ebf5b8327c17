"""One exception hierarchy for the supervisor: everything we raise derives from EdgeError."""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error the supervisor raises on purpose."""


class ConfigError(EdgeError):
    """The site configuration is invalid; the message names the key, value and what is allowed."""


class DeviceError(EdgeError):
    """A device did not answer, answered wrongly, or answered with an implausible value."""
