"""Outbox targets across versions: the masked form stored and shown now, and the forms older versions stored.

An outbox row names its receiver by :attr:`pipeline.alerting.actions.ActionSpec.target`, which is logged on
every ``alert_sent``/``alert_retry`` line and shown by ``alerts list``. It is now
``<type>:<scheme>://<host>/~<hash of the path>``; before, it was ``slack:<host>``, ``teams:<host>`` and
``webhook:<the URL without its query>``, the last one printing a token carried in the path. So that rows
queued by an older version are still delivered and no longer print a token:

- :func:`legacy_targets` gives the texts an older version stored for an action, which delivery accepts
  as that action's (and rewrites to the current form);
- :func:`shown_target` turns a stored old webhook target into the current form, which it can do from the
  stored text alone (the store rewrites its rows once with it; ``alerts list`` shows targets through it).
"""

from __future__ import annotations

import re

from pipeline.alerting.actions import PATH_HASH_DIGITS, ActionSpec, masked_url

__all__ = ["legacy_targets", "shown_target", "is_current"]

# a target in the current form: "<type>:<scheme>://<host>/" with an optional "~<hex digits>"
_CURRENT = re.compile(rf"^(webhook|slack|teams):[a-z][a-z0-9+.-]*://[^/?#]*/(~[0-9a-f]{{{PATH_HASH_DIGITS}}})?$")


def is_current(target: str) -> bool:
    """True for a target in today's masked form (and for e-mail, log and other targets, never masked)."""
    return not target.startswith(("webhook:", "slack:", "teams:")) or bool(_CURRENT.match(target))


def _old_host(url: str) -> str:
    """The host part as versions before the masked targets took it (user and password dropped)."""
    return url.split("://", 1)[-1].split("/", 1)[0].split("@")[-1]


def legacy_targets(action: ActionSpec) -> frozenset[str]:
    """The targets an older version stored for ``action`` (empty when they equal today's)."""
    if action.type in ("slack", "teams"):
        old = {f"{action.type}:{_old_host(action.url)}"}
    elif action.type == "webhook":
        old = {"webhook:" + action.url.split("?", 1)[0]}
    else:
        return frozenset()
    return frozenset(old - {action.target})


def shown_target(target: str) -> str:
    """``target`` safe to show: an old ``webhook:<url>`` masked as today; anything else as it is (an old
    ``slack:<host>`` or ``teams:<host>`` carries no path, hence no token)."""
    if target.startswith("webhook:") and not is_current(target):
        return "webhook:" + masked_url(target.removeprefix("webhook:"))
    return target
