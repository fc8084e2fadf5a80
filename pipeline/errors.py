"""Typed errors: what the user got wrong (exit 2), what may go away (retry later), what will not (dead letter)."""

from __future__ import annotations

__all__ = ["NewsmonError", "UserInputError", "ConfigError", "RetryLater", "Unreachable", "PermanentError",
           "SchemaError", "LimitExceeded"]


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


class Unreachable(RetryLater):
    """The other end did not answer at all (connection refused, unknown host, connect timed out), as
    opposed to answering with an error: a cheap connection probe can tell when it is back."""


class PermanentError(NewsmonError):
    """A failure that will not go away for this record: it goes to the dead-letter topic."""


class SchemaError(PermanentError):
    """A record does not match the item schema; the message names the field."""


class LimitExceeded(SchemaError):
    """A record is over one of newsmon's size limits (an id too long, a record too large for the log).

    ``field`` names what is too large (``id``, ``record``), ``size`` and ``limit`` are in ``unit``;
    a dead letter carries them as its ``limit`` object, so a reader need not parse the message.
    """

    def __init__(self, message: str, *, field: str, size: int, limit: int | None, unit: str = "bytes") -> None:
        super().__init__(message)
        self.field, self.size, self.limit, self.unit = field, size, limit, unit

    def describe_limit(self) -> dict[str, str | int | None]:
        return {"field": self.field, "size": self.size, "limit": self.limit, "unit": self.unit}
