"""Typed errors: what the user got wrong (exit 2), what may go away (retry later), what will not (dead letter)."""

from __future__ import annotations

__all__ = ["NewsmonError", "UserInputError", "ConfigError", "RetryLater", "PermanentError", "SchemaError"]


class NewsmonError(Exception):
    """Base class of every error newsmon raises on purpose."""


class UserInputError(NewsmonError):
    """Bad input or configuration from the user: reported in one line, exit code 2."""


class ConfigError(UserInputError):
    """The configuration file or an environment override is invalid; the message names the field."""


class RetryLater(NewsmonError):
    """A failure that may go away (network, 429, index down); retry with backoff, commit nothing.

    ``retry_after`` is the server's hint in seconds, when it gave one.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(NewsmonError):
    """A failure that will not go away for this record: it goes to the dead-letter topic."""


class SchemaError(PermanentError):
    """A record does not match the item schema; the message names the field."""
