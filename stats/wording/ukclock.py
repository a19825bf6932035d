"""UK publish times: GMT/BST labels, UTC beside them, and clock-change warnings. No ORM."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
UTC = dt.UTC
CLOCK_CHANGE_MARGIN = dt.timedelta(hours=2)


def parse_time(value: str) -> dt.time:
    """A setting like "09:30" as a time; a clear error names the bad value."""
    try:
        return dt.time.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"NEWSROOM_RELEASE_TIME must look like 09:30, not {value!r}.") from error


def uk_datetime(day: dt.date, at: dt.time) -> dt.datetime:
    """`day` at UK wall-clock time `at`, as an aware datetime."""
    return dt.datetime.combine(day, at, tzinfo=UK)


def zone_label(moment: dt.datetime) -> str:
    """GMT or BST for a moment, as a UK reader would say it."""
    return moment.astimezone(UK).tzname() or "UK time"


def day_label(day: dt.date) -> str:
    """A day as the site writes it: "3 March 2010"."""
    return f"{day.day} {day:%B %Y}"


def uk_label(moment: dt.datetime | None, *, weekday: bool = True, seconds: bool = False) -> str:
    """e.g. "Wednesday 10 March 2010, 09:30 GMT" (with `seconds`, "09:31:12 GMT")."""
    if moment is None:
        return ""
    local = moment.astimezone(UK)
    day = f"{local:%A} {local.day} {local:%B %Y}" if weekday else f"{local.day} {local:%B %Y}"
    return f"{day}, {local:{'%H:%M:%S' if seconds else '%H:%M'}} {zone_label(local)}"


def machine_label(moment: dt.datetime | dt.date | None) -> str:
    """A moment for a `<time datetime>`: UK time with its offset, to the second, as HTML accepts it
    ("2010-03-03T09:30:00+00:00"); a day as "2010-03-03"."""
    if moment is None:
        return ""
    if not isinstance(moment, dt.datetime):
        return moment.isoformat()
    return moment.astimezone(UK).replace(microsecond=0).isoformat()


def duration_words(seconds: int) -> str:
    """e.g. "72 seconds", "5 minutes", "2 hours 3 minutes" (whole units, rounded down)."""
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} minutes"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} hours" + (f" {minutes} minute{'s' if minutes != 1 else ''}" if minutes else "")


def late_label(due: dt.datetime, done: dt.datetime) -> str:
    """When something due at `due` was done, and how late: "09:31:12 GMT: 72 seconds late" (the day
    too when it differs from the day it was due)."""
    local, due_day = done.astimezone(UK), due.astimezone(UK).date()
    clock = f"{local:%H:%M:%S} {zone_label(local)}"
    when = clock if local.date() == due_day else f"{local.day} {local:%B %Y}, {clock}"
    return f"{when}: {duration_words(int((done - due).total_seconds()))} late"


def utc_label(moment: dt.datetime | None) -> str:
    """e.g. "09:30 UTC" (with the date when it differs from the UK date)."""
    if moment is None:
        return ""
    utc, local = moment.astimezone(UTC), moment.astimezone(UK)
    if utc.date() != local.date():
        return f"{utc.day} {utc:%B %Y}, {utc:%H:%M} UTC"
    return f"{utc:%H:%M} UTC"


def clock_change_near(moment: dt.datetime | None, margin: dt.timedelta = CLOCK_CHANGE_MARGIN) -> str:
    """A warning when the UK clocks change within `margin` of `moment`, else ""."""
    if moment is None:
        return ""
    try:
        before = (moment - margin).astimezone(UK)
        after = (moment + margin).astimezone(UK)
    except OverflowError:  # within `margin` of the first or last moment a datetime can hold
        return ""
    if before.utcoffset() == after.utcoffset():
        return ""
    change = "forward (GMT to BST)" if after.utcoffset() > before.utcoffset() else "back (BST to GMT)"
    return (
        f"The UK clocks go {change} within two hours of this publish time "
        f"({uk_label(moment)}, {utc_label(moment)}). Check the time is the one you mean."
    )


def wall_time_problem(day: dt.date, at: dt.time) -> str:
    """Why `at` on `day` names no single UK moment (the clocks change then), or "" when it is fine.

    e.g. "01:30 on 28 March 2027 does not exist in UK time (clocks go forward): choose 02:30 or 00:30".
    UK clocks change at 01:00 UTC, so the hour from 01:00 to 02:00 is missing in March and
    happens twice in October.
    """
    naive = dt.datetime.combine(day, at.replace(tzinfo=None))
    first, second = naive.replace(tzinfo=UK, fold=0), naive.replace(tzinfo=UK, fold=1)
    if first.utcoffset() == second.utcoffset():
        return ""
    when = f"{at:%H:%M} on {day.day} {day:%B %Y}"
    if first.utcoffset() < second.utcoffset():
        hour = dt.timedelta(hours=1)
        later, earlier = (naive + hour).time(), (naive - hour).time()
        return (
            f"{when} does not exist in UK time (clocks go forward): choose {later:%H:%M} or {earlier:%H:%M}"
        )
    return f"{when} happens twice in UK time (clocks go back): choose a time before 01:00 or from 02:00"
