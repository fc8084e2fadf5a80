"""The kinds of alert rule, one module each, found through :data:`KINDS`.

A kind module declares the rule keys it takes besides the common ones (``KEYS``), those it requires
(``REQUIRED``), whether it counts stories per event-time window (``WINDOWED``), and reads its keys
into :class:`~pipeline.alerting.rules.RuleSpec` fields (``options(raw, where)``). What a kind does
when the alerter runs it is ``consumers/rule_kinds/`` (windows and terms) and ``consumers/rules.py``
(item rules).
"""

from __future__ import annotations

from types import ModuleType

from pipeline.alerting.kinds import flatline, frequency, item, new_term, spike
from pipeline.alerting.kinds.keys import KEY_FIELDS

__all__ = ["KINDS", "WINDOW_KINDS", "KEY_FIELDS"]

KINDS: dict[str, ModuleType] = {"item": item, "spike": spike, "frequency": frequency, "flatline": flatline,
                                "new_term": new_term}
WINDOW_KINDS = tuple(name for name, module in KINDS.items() if module.WINDOWED)
