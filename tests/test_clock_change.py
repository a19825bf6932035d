"""A release due at 09:30 on the day the UK clocks change (the last Sunday of March and of October).

The clocks change at 01:00 UTC, hours before the release: 09:30 that day is BST (08:30 UTC) in
March and GMT (09:30 UTC) in October. What a publisher types in UK time is the moment the worker's
task is queued for, the moment the release becomes public, and what every page, the calendar feed
and the API say.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from icalendar import Calendar

from stats.models import Release
from stats.publishing import services
from stats.wording import ukclock

pytestmark = pytest.mark.django_db(transaction=True)
UK = ukclock.UK

CLOCK_CHANGE_DAYS = {
    # a coming clock-change day, its label at 09:30 UK time, that moment in UTC, the zone of the
    # Sunday before, and the same day of 2010 (for a release already out)
    "March (to BST)": (
        dt.date(2099, 3, 29),
        "Sunday 29 March 2099, 09:30 BST",
        dt.time(8, 30),
        "GMT",
        dt.date(2010, 3, 28),
    ),
    "October (to GMT)": (
        dt.date(2099, 10, 25),
        "Sunday 25 October 2099, 09:30 GMT",
        dt.time(9, 30),
        "BST",
        dt.date(2010, 10, 31),
    ),
}


def through_review(release: Release, press_officer) -> Release:
    services.confirm_figures(release=release, by=press_officer)
    services.submit_release(release=release, by=press_officer, acknowledge_warnings=True)
    return Release.objects.get(pk=release.pk)


@pytest.mark.parametrize("case", CLOCK_CHANGE_DAYS, ids=list(CLOCK_CHANGE_DAYS))
def test_a_release_due_at_0930_on_a_clock_change_day(seed_release, press_officer, publisher, case):
    day, label, utc_time, week_before_zone, day_in_2010 = CLOCK_CHANGE_DAYS[case]
    utc = dt.datetime.combine(day, utc_time, tzinfo=dt.UTC)

    # Last week's release came out at 09:30 on the Sunday before, in the other zone; next week's
    # draft proposes 09:30 UK time on the clock-change day, not the same moment in UTC.
    week_before = dt.datetime.combine(day - dt.timedelta(days=7), dt.time(9, 30), tzinfo=UK)
    assert ukclock.zone_label(week_before) == week_before_zone
    last_week = through_review(
        services.start_next_release(source=seed_release, by=press_officer), press_officer
    )
    services.approve_release(
        release=last_week, by=publisher, publish_at=week_before, acknowledge_warnings=True
    )
    draft = services.start_next_release(source=Release.objects.get(pk=last_week.pk), by=press_officer)
    assert draft.publish_at == utc
    draft = through_review(draft, press_officer)

    # The publisher types 09:30 UK time on that day in the admin; no clock-change warning (the
    # change was eight hours before).
    boss = Client()
    boss.force_login(publisher)
    response = boss.post(
        reverse("admin:statistics_release_approve", args=[draft.pk]),
        {
            "version": draft.version,
            "publish_at_0": day.isoformat(),
            "publish_at_1": "09:30",
            "acknowledge": "on",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Release.Status.SCHEDULED and draft.publish_at == utc
    admin_page = boss.get(reverse("admin:statistics_release_change", args=[draft.pk])).content.decode()
    assert f"{label}</strong> ({utc_time:%H:%M} UTC)" in admin_page
    assert "clocks go" not in admin_page

    # The worker's task waits for that moment, and the release is public from it, not a second before.
    moments = DBTaskResult.objects.filter(task_path__endswith=".release_moment", args_kwargs__args=[draft.pk])
    assert list(moments.values_list("run_after", flat=True)) == [utc]
    assert not Release.objects.public(at=utc - dt.timedelta(seconds=1)).filter(pk=draft.pk).exists()
    assert Release.objects.public(at=utc).filter(pk=draft.pk).exists()
    assert list(Release.objects.due(at=utc).filter(pk=draft.pk)) == [draft]

    # Every page, the calendar feed and its page say 09:30 in the zone of that day.
    reader = Client()
    calendar_page = reader.get(reverse("statistics:release-calendar")).content.decode()
    assert (
        f'{label}</time> <span class="nhsuk-u-secondary-text-color">({utc_time:%H:%M} UTC)' in calendar_page
    )
    feed = reader.get(reverse("statistics:release-calendar-ics")).content
    (event,) = [
        e for e in Calendar.from_ical(feed).events if str(e["UID"]).startswith(f"release-{draft.pk}@")
    ]
    assert event.start == dt.datetime.combine(day, dt.time(9, 30), tzinfo=UK) == utc
    assert f"DTSTART;TZID=Europe/London:{day:%Y%m%d}T093000" in feed.decode()
    assert f"{label} ({utc_time:%H:%M} UTC)" in str(event["DESCRIPTION"])

    # Once it is out (here: the clock-change day of 2010, in the past), the page and the API.
    out = dt.datetime.combine(day_in_2010, dt.time(9, 30), tzinfo=UK)
    Release.objects.filter(pk=draft.pk).update(
        status=Release.Status.PUBLISHED, publish_at=out, published_at=out
    )
    zone = ukclock.zone_label(out)
    assert zone == label.rsplit(" ", 1)[1]
    path = f"/statistics/{draft.period_date}/"
    page = reader.get(path).content.decode()
    assert f'<time datetime="{out.isoformat()}">{out.day} {out:%B %Y}, 09:30 {zone}</time>' in page
    api = reader.get(reverse("api:release", args=[draft.period_date])).json()
    published = dt.datetime.fromisoformat(api["published"])
    assert published == out and published.astimezone(UK).strftime("%H:%M") == "09:30"


def test_a_time_element_gives_its_moment_in_uk_time_to_the_second():
    """HTML's datetime takes at most three digits of a second: none, and the UK offset of the day."""
    assert ukclock.machine_label(dt.datetime(2010, 3, 3, 9, 30, 0, 123456, tzinfo=dt.UTC)) == (
        "2010-03-03T09:30:00+00:00"
    )
    assert ukclock.machine_label(dt.datetime(2010, 7, 1, 8, 30, 5, 1, tzinfo=dt.UTC)) == (
        "2010-07-01T09:30:05+01:00"
    )
    assert ukclock.machine_label(dt.date(2010, 3, 3)) == "2010-03-03"
    assert ukclock.machine_label(None) == ""
