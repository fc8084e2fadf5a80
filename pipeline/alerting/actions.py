"""Where a rule's alerts go: :class:`ActionSpec`, read from a rule's ``actions:`` by the channel it names.

Every action takes ``type`` (a channel of :data:`pipeline.alerting.channels.CHANNELS`), ``timeout`` and
``max_attempts``; the channel's module declares its other keys (``KEYS``) and reads them
(``configure``), so a key no channel takes is an error naming it. Secrets (signing secrets, SMTP
credentials, URLs that embed a token) are read only from the environment variables an action names
(``url_env``, ``secret_env``, ``username_env``, ``password_env``); one that is not set is recorded on
the action (:attr:`ActionSpec.missing`) rather than raised, since searching, listing or backtesting
needs no secret, and the commands that send refuse to start (:func:`pipeline.alerting.rules.require_secrets`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.alerting.values import duration, fail, number

__all__ = ["PATH_HASH_DIGITS", "ActionSpec", "Secrets", "masked_url", "parse_action"]

PATH_HASH_DIGITS = 8  # of the SHA-256 of a webhook URL's path, in the shown and stored target
_COMMON_KEYS = {"type", "timeout", "max_attempts"}


@dataclass(frozen=True)
class ActionSpec:
    """One destination of a rule's alerts: the channel (``type``), its URL and signing secret when it
    sends over HTTP, and ``options``, the channel's own settings (e-mail: an ``EmailSpec``)."""

    type: str
    url: str = field(default="", repr=False)  # may embed a token (Slack, Teams): never logged whole
    secret: str = field(default="", repr=False)
    timeout: float = 10.0
    max_attempts: int = 10
    options: Any = None
    missing: tuple[str, ...] = ()  # one-line errors: environment variables named and not set
    unset: tuple[str, ...] = ()  # those variables' names

    @property
    def target(self) -> str:
        """Who receives it, safe to show, log and store, as the channel describes it: for the HTTP
        channels ``<type>:<scheme>://<host[:port]>/~<hash>`` (:func:`masked_url`)."""
        from pipeline.alerting.channels import channel  # the registry imports this module

        return channel(self.type).target(self)


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].split("@")[-1]


def masked_url(url: str) -> str:
    """``url`` without what may carry a secret: ``https://hooks.slack.com/~1a2b3c4d`` for
    ``https://hooks.slack.com/services/T0/B0/XXXX``. The scheme and host (and port) stay; user and
    password, query and fragment go; a path other than ``/`` becomes ``~`` and the first
    :data:`PATH_HASH_DIGITS` hex digits of its SHA-256, so two webhooks on one host stay apart."""
    scheme, _, rest = url.partition("://")
    path = "/" + rest.split("?", 1)[0].split("#", 1)[0].partition("/")[2]
    hashed = "" if path == "/" else "~" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:PATH_HASH_DIGITS]
    return f"{scheme.lower()}://{_host(url).lower()}/{hashed}"


class Secrets:
    """Reads the variables an action names; an unset one is recorded (the one-line error a command
    that sends will raise), not raised."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.missing: list[str] = []
        self.unset: list[str] = []

    def get(self, name: Any, where: str) -> str:
        value = self.env.get(str(name), "")
        if not value:
            self.missing.append(str(fail(where, f"environment variable {name} is not set")))
            self.unset.append(str(name))
        return value


def parse_action(raw: Any, where: str, env: Mapping[str, str]) -> ActionSpec:
    """One entry of a rule's ``actions:``; errors read ``<where>.<key>: <reason>``."""
    from pipeline.alerting.channels import CHANNELS, channel

    if not isinstance(raw, Mapping) or raw.get("type") not in CHANNELS:
        raise fail(f"{where}.type", f"expected one of {', '.join(CHANNELS)}")
    kind = raw["type"]
    module = channel(kind)
    unknown = set(raw) - _COMMON_KEYS - module.KEYS
    if unknown:
        raise fail(f"{where}.{sorted(unknown)[0]}", f"unknown key for a {kind} action")
    secrets = Secrets(env)
    settings = module.configure(raw, where, secrets)
    timeout = duration(raw.get("timeout", 10), f"{where}.timeout", 0.001)
    return ActionSpec(type=kind, timeout=10.0 if timeout is None else timeout,
                      max_attempts=number(int, raw.get("max_attempts", 10), f"{where}.max_attempts", 1, 1000),
                      missing=tuple(secrets.missing), unset=tuple(secrets.unset), **settings)
