"""Relative dates in a spec, resolved on the day a run happens.

A scheduled refresh must keep only sources newer than a moving cutoff, so
`documents.min_date` may be written relative to the run's day (`today`, injectable so
tests and re-runs of a past month resolve the same way):

- ``-60d``, ``-8w``, ``-3m``, ``-1y``: that many days, weeks, months or years before the run
  (months and years keep the day of the month, clamped to the month's last day);
- ``last-month``: the first day of the month before the run (the previous calendar month);
- ``this-month``: the first day of the run's month.

An absolute ``2025-01-01`` still works as before.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

RELATIVE_DATE = re.compile(r"^-(?P<n>\d{1,4})(?P<unit>[dwmy])$")
NAMED_DATES = ("last-month", "this-month")
FORMS = "an ISO date (2025-01-01), -<n>d / -<n>w / -<n>m / -<n>y (before the run), last-month or this-month"


def is_relative_date(value: str) -> bool:
    """Whether `value` is one of the relative forms."""
    return value in NAMED_DATES or RELATIVE_DATE.match(value) is not None


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def resolve_date(value: date | str, today: date) -> date:
    """The day `value` names, relative forms counted back from `today`; ValueError naming the forms otherwise."""
    if isinstance(value, date):
        return value
    if value == "this-month":
        return today.replace(day=1)
    if value == "last-month":
        return _months_before(today.replace(day=1), 1)
    m = RELATIVE_DATE.match(value)
    if m is None:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date: expected {FORMS}") from None
    n, unit = int(m["n"]), m["unit"]
    if unit == "d":
        return today - timedelta(days=n)
    if unit == "w":
        return today - timedelta(weeks=n)
    return _months_before(today, n if unit == "m" else 12 * n)
