"""The Protocol every channel module implements, and the alert document it sends.

- ``KEYS``: the action keys the channel takes besides ``type``, ``timeout`` and ``max_attempts``;
- ``configure(raw, where, secrets)``: the :class:`~pipeline.alerting.actions.ActionSpec` fields
  (``url``, ``secret``, ``options``) from one entry of a rule's ``actions:``, or a ConfigError
  naming ``where`` and the key; secrets only through ``secrets.get(variable, where)``;
- ``target(action)``: who receives the alerts, safe to log, store and show (no token, no password);
- ``address(action)``: the (host, port) it connects to, None when it connects nowhere;
- ``send(action, alert)``: deliver ``alert`` (the JSON document of ``docs/alert-payload.schema.json``),
  or raise :class:`~pipeline.errors.RetryLater` for a failure that may go away (network error,
  timeout, HTTP 408/429/5xx, SMTP 4xx), with the server's Retry-After hint when it gave one, or
  :class:`~pipeline.errors.PermanentError` for one that will not (HTTP 4xx, SMTP 5xx, a refused
  login): the delivery is parked as ``failed`` at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pipeline.alerting.actions import ActionSpec, Secrets

__all__ = ["Alert", "Channel"]

Alert = dict[str, Any]  # see docs/alert-payload.schema.json


class Channel(Protocol):
    KEYS: frozenset[str]

    def configure(self, raw: Mapping[str, Any], where: str, secrets: Secrets) -> dict[str, Any]:
        """The ActionSpec fields this channel reads from ``raw``."""

    def target(self, action: ActionSpec) -> str:
        """The receiver, safe to show."""

    def address(self, action: ActionSpec) -> tuple[str, int] | None:
        """Where the channel connects, for the reachability probe."""

    def send(self, action: ActionSpec, alert: Alert) -> None:
        """Deliver the alert; RetryLater or PermanentError when it could not be delivered."""
