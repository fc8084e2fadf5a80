"""The one Protocol every alert action implements, and the alert document it receives.

An action module exposes ``send(action, alert)``: deliver ``alert`` (the JSON document described
in ``docs/alert-payload.schema.json``) as configured by ``action``, or raise

- :class:`~pipeline.errors.RetryLater` for a failure that may go away (network error, timeout,
  HTTP 408/429/5xx, SMTP 4xx), carrying the server's Retry-After hint when it gave one;
- :class:`~pipeline.errors.PermanentError` for one that will not (HTTP 4xx, SMTP 5xx, a refused
  login): the delivery is parked as ``failed`` at once.
"""

from __future__ import annotations

from typing import Any, Protocol

from pipeline.rule_settings import ActionSpec

__all__ = ["Alert", "Action"]

Alert = dict[str, Any]  # see docs/alert-payload.schema.json


class Action(Protocol):
    def send(self, action: ActionSpec, alert: Alert) -> None:
        """Deliver the alert; RetryLater or PermanentError when it could not be delivered."""
