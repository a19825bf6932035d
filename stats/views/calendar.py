"""The release calendar as an iCalendar feed (RFC 5545): announced dates and names only, never a figure.

One event per release: every coming release with a publish time (provisional or confirmed),
and, so calendars keep them, releases that came out or were cancelled in the last RECENT days,
and the latest release out however long ago, so a new subscriber sees where the series stands.
An event keeps its UID for life; its SEQUENCE goes up each time its date moves (or it is
cancelled) and once when its date is confirmed, so calendar programs update it in place.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Count, Subquery
from django.http import HttpResponse
from django.http.request import split_domain_port
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, Timezone, vText

from common.http import read_only
from stats.models import Release
from stats.wording import ukclock

# How long releases already out, or cancelled, stay in the feed after their publish time.
RECENT = dt.timedelta(days=90)
# A release is a moment; readers' calendars show it as half an hour.
DURATION = dt.timedelta(minutes=30)
# How often calendar programs that subscribe should fetch the feed again.
REFRESH = dt.timedelta(hours=6)
TZID = "Europe/London"

Status = Release.Status


def calendar_releases(now: dt.datetime):
    """The releases the feed lists, soonest first, with the number of times each one's date changed.

    Only the fields the feed prints are loaded: never a title, summary or figure.
    """
    since = now - RECENT
    latest = Release.objects.public(at=now).order_by("-publish_at", "-pk").values("pk")[:1]
    releases = (
        Release.objects.announced(at=now)
        | Release.objects.public(at=now).filter(publish_at__gte=since)
        | Release.objects.filter(pk__in=Subquery(latest))
        | Release.objects.filter(status=Status.CANCELLED, publish_at__gte=since)
    )
    return (
        releases.only("pk", "period_date", "publish_at", "status", "date_confirmed", "status_reason")
        .annotate(date_changes_count=Count("date_changes"))
        .order_by("publish_at", "pk")
    )


def london_timezone(years) -> Timezone:
    """Europe/London as a VTIMEZONE holding the clock changes of just these years.

    A year at a time: a date announced far ahead (the admin takes any year up to 9999)
    must not cost every clock change in between. icalendar cannot look past the last
    year a date can name, so 9999 is described by 9998's changes.
    """
    zone = Timezone()
    zone.add("TZID", TZID)
    for year in sorted({min(year, dt.MAXYEAR - 1) for year in years}):
        part = Timezone.from_tzinfo(
            ukclock.UK, tzid=TZID, first_date=dt.date(year, 1, 1), last_date=dt.date(year, 12, 31)
        )
        zone.subcomponents.extend(part.subcomponents)
    return zone


def event_status(release: Release, now: dt.datetime) -> str:
    """TENTATIVE while the date is provisional; CONFIRMED once confirmed or out; CANCELLED."""
    if release.status == Status.CANCELLED:
        return "CANCELLED"
    if release.date_confirmed or (release.status in Release.PUBLIC_STATUSES and release.publish_at <= now):
        return "CONFIRMED"
    return "TENTATIVE"


def event_description(release: Release, *, status: str, is_out: bool, links: dict[str, str]) -> str:
    """What the event says: provisional, confirmed, out or cancelled (and why), and where to read more."""
    when = f"{ukclock.uk_label(release.publish_at)} ({ukclock.utc_label(release.publish_at)})"
    if status == "CANCELLED":
        lines = [f"Cancelled: this release will not be published. It was due {when}."]
        if release.status_reason:
            lines.append(f"Reason: {release.status_reason}")
    elif is_out:
        lines = [f"Published {when}.", f"Read it: {links['release']}"]
    elif status == "CONFIRMED":
        lines = [f"Confirmed date: due {when}."]
    else:
        lines = [f"Provisional date: due {when}. It may still move."]
    if release.date_changes_count and status != "CANCELLED":
        lines.append("The date has changed since it was first announced; the release calendar says why.")
    lines.append(f"Release calendar: {links['calendar']}")
    return "\n".join(lines)


def release_event(release: Release, *, now: dt.datetime, host: str, calendar_url: str, request) -> Event:
    """One release as a VEVENT: its announced name, UK publish time and status; never a figure."""
    is_out = release.status in Release.PUBLIC_STATUSES and release.publish_at <= now
    release_url = request.build_absolute_uri(release.get_absolute_url()) if is_out else ""
    status = event_status(release, now)
    event = Event.new(
        uid=f"release-{release.pk}@{host}",
        summary=release.announced_name,
        start=release.publish_at.astimezone(ukclock.UK),
        stamp=now.replace(microsecond=0),
        # Each date change (a cancellation is one) and the date's confirmation change the event.
        sequence=release.date_changes_count + int(release.date_confirmed),
        status=status,
        description=event_description(
            release, status=status, is_out=is_out, links={"release": release_url, "calendar": calendar_url}
        ),
        url=release_url or calendar_url,
    )
    event.duration = DURATION
    return event


@read_only
def release_calendar_ics(request):
    """/statistics/calendar.ics: the release calendar for calendar programs, one event per release."""
    now = timezone.now()
    domain, _port = split_domain_port(request.get_host())
    host = domain or request.get_host()
    calendar_url = request.build_absolute_uri(reverse("statistics:release-calendar"))
    releases = list(calendar_releases(now))
    name = f"{settings.NEWSROOM_ORGANISATION} deployment statistics: release calendar"
    description = "When the weekly deployment statistics are published, in UK time. Dates, never figures."
    calendar = Calendar.new(
        prodid=f"-//{settings.NEWSROOM_ORGANISATION}//Newsroom release calendar//EN",
        uid=f"release-calendar@{host}",
        name=name,
        description=description,
        url=calendar_url,
        source=request.build_absolute_uri(reverse("statistics:release-calendar-ics")),
        refresh_interval=REFRESH,
    )
    # RFC 7986 gives these two a VALUE parameter that must be written out (neither is the default type).
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    calendar["SOURCE"].params["VALUE"] = "URI"
    # The older names calendar programs read, written as text (commas and semicolons escaped).
    calendar["X-WR-CALNAME"], calendar["X-WR-CALDESC"] = vText(name), vText(description)
    years = {release.publish_at.astimezone(ukclock.UK).year for release in releases} or {now.year}
    calendar.add_component(london_timezone(years))
    for release in releases:
        calendar.add_component(
            release_event(release, now=now, host=host, calendar_url=calendar_url, request=request)
        )
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="release-calendar.ics"'
    return response
