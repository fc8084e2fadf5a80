"""Alert actions, one small module per kind behind the :class:`~consumers.actions.base.Action` Protocol.

:data:`ACTIONS` maps an action ``type`` to its module, imported on first use; :func:`send`
dispatches to it.
"""

from __future__ import annotations

import importlib
from typing import cast

from consumers.actions.base import Action, Alert
from pipeline.errors import PermanentError
from pipeline.rule_settings import ActionSpec

__all__ = ["ACTIONS", "action_for", "send"]

ACTIONS: dict[str, str] = {
    "log": "consumers.actions.log",
    "webhook": "consumers.actions.webhook",
    "slack": "consumers.actions.slack",
    "teams": "consumers.actions.teams",
    "email": "consumers.actions.email",
}


def action_for(kind: str) -> Action:
    module = ACTIONS.get(kind)
    if module is None:
        raise PermanentError(f"unknown action type {kind!r} (known: {', '.join(ACTIONS)})")
    return cast(Action, importlib.import_module(module))


def send(action: ActionSpec, alert: Alert) -> None:
    """Deliver the alert with the action's module; raises RetryLater or PermanentError."""
    action_for(action.type).send(action, alert)
