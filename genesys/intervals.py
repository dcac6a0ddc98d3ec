"""ISO-8601 instants, durations and intervals, as the analytics API speaks them, and windows over them.

Users type `2024-05-01/2024-05-08` (UTC midnights), full instants with an offset, or an instant
and a duration (`2024-05-01/P7D`); durations may also be short (`7d`, `12h`, `30m`). The API
wants UTC instants with milliseconds: `2024-05-01T00:00:00.000Z/2024-05-08T00:00:00.000Z`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_ISO_DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?\Z")
_SHORT_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|min|s)\Z")
_SHORT_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "min": "minutes", "s": "seconds"}
DAY = timedelta(days=1)


def parse_instant(text: str) -> datetime:
    """A date (midnight UTC) or a date-time; one without an offset is taken as UTC."""
    value = text.strip()
    try:
        instant = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 date or date-time (e.g. 2024-05-01 or "
                         "2024-05-01T08:00:00Z)") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    """`P7D`, `PT12H`, `P1DT6H`, `P2W` or `7d`, `12h`, `30m`, `90s`, `1w`. Months and years have no fixed length."""
    value = text.strip()
    match = _ISO_DURATION.match(value.upper())
    if match and value.upper() not in ("P", "PT") and not value.upper().endswith("T"):
        weeks, days, hours, minutes, seconds = match.groups()
        return timedelta(weeks=int(weeks or 0), days=int(days or 0), hours=int(hours or 0),
                         minutes=int(minutes or 0), seconds=float(seconds or 0))
    match = _SHORT_DURATION.match(value.lower())
    if match:
        return timedelta(**{_SHORT_UNITS[match.group(2)]: float(match.group(1))})
    raise ValueError(f"{text!r} is not a duration: use ISO-8601 (P7D, PT12H, P1DT6H) or a number and a unit "
                     "(7d, 12h, 30m)")


def parse_interval(text: str) -> tuple[datetime, datetime]:
    """`START/END` or `START/DURATION`, the end excluded."""
    parts = text.split("/")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not an interval: give START/END, e.g. 2024-05-01/2024-05-08")
    start = parse_instant(parts[0])
    end = start + parse_duration(parts[1]) if parts[1].strip().upper().startswith("P") else parse_instant(parts[1])
    if end <= start:
        raise ValueError(f"{text!r}: the end must come after the start")
    return start, end


def format_instant(instant: datetime) -> str:
    instant = instant.astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def format_interval(start: datetime, end: datetime) -> str:
    return f"{format_instant(start)}/{format_instant(end)}"


def windows(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    """Consecutive windows of `size` from start, the last one cut at end."""
    if size <= timedelta(0):
        raise ValueError("a window must be longer than zero")
    result, cursor = [], start
    while cursor < end:
        result.append((cursor, min(cursor + size, end)))
        cursor += size
    return result


def halves(start: datetime, end: datetime) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]] | None:
    """Two windows covering [start, end), split at a UTC midnight when the window spans one.

    The details query matches conversations that started on a *day touched* by its interval,
    so splitting inside a day would not make either half smaller. None when it cannot be split."""
    middle = start + (end - start) / 2
    midnights = [day for day in (floor_day(middle), floor_day(middle) + DAY) if start < day < end]
    if midnights:
        middle = min(midnights, key=lambda day: abs(day - middle))
    elif end - start < timedelta(seconds=2):
        return None
    else:
        middle = middle.replace(microsecond=middle.microsecond // 1000 * 1000)
    return (start, middle), (middle, end)


def floor_day(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
