"""The channels an alert is sent through, one module each, found through :data:`CHANNELS`.

A channel module (the :class:`~pipeline.alerting.channels.base.Channel` Protocol) declares its
configuration keys (``KEYS``), reads and checks them (``configure``), says who receives its alerts in
a form safe to log (``target``) and where it connects (``address``), and sends (``send``). Adding a
channel is one module here and one line below; the rule loader, delivery, ``alerts list`` and the
search page find it through :func:`channel`. Modules are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import cast

from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.channels.base import Alert, Channel
from pipeline.errors import PermanentError

__all__ = ["CHANNELS", "channel", "send"]

CHANNELS: dict[str, str] = {
    "log": "pipeline.alerting.channels.log",
    "webhook": "pipeline.alerting.channels.webhook",
    "slack": "pipeline.alerting.channels.slack",
    "teams": "pipeline.alerting.channels.teams",
    "email": "pipeline.alerting.channels.email",
}


def channel(kind: str) -> Channel:
    """The module of the channel ``kind``; PermanentError for a type no channel has."""
    module = CHANNELS.get(kind)
    if module is None:
        raise PermanentError(f"unknown action type {kind!r} (known: {', '.join(CHANNELS)})")
    return cast(Channel, importlib.import_module(module))


def send(action: ActionSpec, alert: Alert) -> None:
    """Deliver the alert through the action's channel; raises RetryLater or PermanentError."""
    channel(action.type).send(action, alert)
