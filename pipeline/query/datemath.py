"""Date values of the query language: ISO dates and datetimes, and Elasticsearch-style date math.

A date value is parsed once into a :class:`DateValue` and resolved later against an explicit ``now``
(there is no hidden clock). Accepted forms, all in UTC unless an offset is given:

- ``2025-03-10``: a whole day; ``2025`` and ``2025-03`` are the first day of that year or month,
  one day long, as Elasticsearch reads them (its rounding fills in the time of day, not the month
  or the day: ``published:[2013 TO 2014]`` ends on 2014-01-01T23:59:59.999; write ``2014||/y`` for
  the year);
- ``2025-03-10T08``, ``2025-03-10T08:30``, ``2025-03-10T08:30:15Z``: the whole hour, minute or
  second written; with milliseconds (``2025-03-10T08:30:00.250+05:00``) an instant;
- ``now``, and ``now`` or ``<date>||`` followed by steps ``+1d``, ``-7d``, ``-24h``, ``-30m``, and
  rounding ``/d`` (units ``y M w d h H m s``; ``w`` rounds to Monday).

Resolving gives an interval ``[start, end)`` for whole periods (calendar dates, rounded values) or a
single instant. Range bounds use them as Elasticsearch does: ``>=`` and ``[`` take the start, ``>``
takes the end, ``<=`` and ``]`` include the whole period, ``<`` and ``{`` stop before its start, and a
bare value ``published:2025-03-10`` means the whole period. ``now`` is truncated to milliseconds, the
resolution of Elasticsearch dates, so every backend sees the same bounds.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

__all__ = ["DateValue", "Interval", "parse_date", "resolve", "date_interval", "format_bound"]

_STEP = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")
_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2}))?")
_SAMPLE_NOW = datetime(2000, 1, 1, tzinfo=UTC)
_FIXED = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
          "H": timedelta(hours=1), "m": timedelta(minutes=1), "s": timedelta(seconds=1)}

#: What an :class:`Interval` bounds: instants (date ranges) or numbers (number ranges, epoch seconds).
_Bound = TypeVar("_Bound", datetime, float)


@dataclass(frozen=True)
class DateValue:
    """A parsed date: an anchor (None means now) with its period, then math steps.

    ``period`` is the unit of the last field written (``"d"``, ``"h"``, ``"m"``, ``"s"``), None for
    an instant with a fraction of a second.
    ``steps`` are ``(amount, unit)`` shifts and ``(0, "/unit")`` roundings, applied in order.
    """

    text: str
    anchor: datetime | None
    period: str | None = None
    steps: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Interval(Generic[_Bound]):
    """Bounds of a range; None is open. Values are datetimes (dates) or floats (numbers)."""

    low: _Bound | None = None
    low_inclusive: bool = True
    high: _Bound | None = None
    high_inclusive: bool = True

    def is_empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (self.low == self.high and not (self.low_inclusive and self.high_inclusive))

    def contains(self, value: _Bound) -> bool:
        if self.low is not None and (value < self.low or (value == self.low and not self.low_inclusive)):
            return False
        return self.high is None or not (value > self.high or (value == self.high and not self.high_inclusive))


def parse_date(text: str) -> DateValue:
    """Parse an ISO date/datetime or date-math expression; ValueError says what is wrong."""
    if text.startswith("now"):
        anchor, period, rest = None, None, text[3:]
    elif "||" in text:
        head, _, rest = text.partition("||")
        anchor, period = _parse_anchor(head)
    else:
        anchor, period = _parse_anchor(text)
        rest = ""
    value = DateValue(text=text, anchor=anchor, period=period, steps=_parse_steps(rest, text))
    try:  # reject values that cannot be computed (year 0, overflow) now rather than at search time
        resolve(value, _SAMPLE_NOW)
    except (ValueError, OverflowError):
        raise ValueError(f"date out of range: {text!r}") from None
    return value


def _parse_anchor(text: str) -> tuple[datetime, str | None]:
    partial = _PARTIAL.fullmatch(text)
    if partial:
        year, month = int(partial.group(1)), int(partial.group(2) or 1)
        if not 1 <= month <= 12:
            raise ValueError(f"invalid month in {text!r}")
        return datetime(year, month, 1, tzinfo=UTC), "d"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC), _precision(text)


_PRECISION = ((re.compile(r"\d{4}-?\d{2}-?\d{2}"), "d"), (re.compile(r"[^T]+T\d{2}(?:[+-].*|Z)?"), "h"),
              (re.compile(r"[^T]+T\d{2}:?\d{2}(?:[+-].*|Z)?"), "m"),
              (re.compile(r"[^T]+T\d{2}:?\d{2}:?\d{2}(?:[+-].*|Z)?"), "s"))


def _precision(text: str) -> str | None:
    """The unit of the last field written (a day, an hour, a minute, a second), None with a fraction."""
    return next((unit for pattern, unit in _PRECISION if pattern.fullmatch(text)), None)


def _parse_steps(rest: str, text: str) -> tuple[tuple[int, str], ...]:
    steps: list[tuple[int, str]] = []
    position = 0
    while position < len(rest):
        step = _STEP.match(rest, position)
        if not step:
            raise ValueError(f"bad date math {rest[position:]!r} in {text!r} (expected e.g. now-7d or now/d)")
        if step.group(4):
            steps.append((0, "/" + step.group(4)))
        else:
            amount = int(step.group(2))
            if amount > 100_000:
                raise ValueError(f"date math step too large in {text!r}")
            steps.append((-amount if step.group(1) == "-" else amount, step.group(3)))
        position = step.end()
    return tuple(steps)


def resolve(value: DateValue, now: datetime) -> tuple[datetime, datetime | None]:
    """The value as ``(start, end)`` of a period, or ``(instant, None)``."""
    if value.anchor is None:
        start, end = _utc_millis(now), None
    else:
        start = value.anchor
        end = _add(start, 1, value.period) if value.period else None
    for amount, unit in value.steps:
        if unit.startswith("/"):
            start = _floor(start, unit[1])
            end = _add(start, 1, unit[1])
        else:
            start = _add(start, amount, unit)
            end = _add(end, amount, unit) if end is not None else None
    return start, end


def date_interval(low: DateValue | None, high: DateValue | None, include_low: bool,
                  include_high: bool, now: datetime) -> Interval[datetime]:
    """The datetime interval a date range (or a bare date, low == high) denotes."""
    interval: Interval[datetime] = Interval()
    if low is not None:
        start, end = resolve(low, now)
        interval = Interval(start, include_low) if include_low or end is None else Interval(end, True)
    if high is not None:
        start, end = resolve(high, now)
        if include_high and end is not None:
            interval = Interval(interval.low, interval.low_inclusive, end, False)
        else:
            interval = Interval(interval.low, interval.low_inclusive, start, include_high)
    return interval


def format_bound(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, as sent to Elasticsearch."""
    m = moment.astimezone(UTC)
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
            f".{m.microsecond // 1000:03d}Z")


def _utc_millis(now: datetime) -> datetime:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _add(moment: datetime, amount: int, unit: str) -> datetime:
    if unit in _FIXED:
        return moment + amount * _FIXED[unit]
    months = moment.month - 1 + amount * (12 if unit == "y" else 1)
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _floor(moment: datetime, unit: str) -> datetime:
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        return day - timedelta(days=moment.weekday())
    if unit == "d":
        return day
    if unit in "hH":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)
