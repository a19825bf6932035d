"""The release calendar as an iCalendar feed: announced names and UK times, never a figure."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.urls import resolve, reverse
from icalendar import Calendar

from stats.models import Figure, Release
from stats.publishing import services
from stats.views import calendar

UK = ZoneInfo("Europe/London")
FEED = "/statistics/calendar.ics"
SUMMER = dt.datetime(2099, 7, 15, 9, 30, tzinfo=UK)  # BST
WINTER = dt.datetime(2099, 3, 12, 9, 30, tzinfo=UK)  # GMT


def feed(client) -> tuple[Calendar, str]:
    response = client.get(FEED)
    assert response.status_code == 200
    return Calendar.from_ical(response.content), response.content.decode()


def event_for(parsed: Calendar, release: Release):
    (event,) = [e for e in parsed.events if str(e["UID"]) == f"release-{release.pk}@testserver"]
    return event


def next_release(source, press_officer, *, publish_at, by=None, confirm=False, weeks=1) -> Release:
    """A release `weeks` after `source` (an approved release: a draft is not started from)."""
    period = source.period_date + dt.timedelta(weeks=weeks)
    release = services.start_next_release(source=source, by=press_officer, period_date=period)
    return services.change_release_date(
        release=release, by=by or press_officer, publish_at=publish_at, confirm=confirm, reason="Moved."
    )


def test_the_feed_is_addressed_named_and_served_as_a_public_calendar(client, seed_release, settings):
    assert reverse("statistics:release-calendar-ics") == FEED
    assert resolve(FEED).func is calendar.release_calendar_ics
    response = client.get(FEED)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="release-calendar.ics"'
    assert "Cache-Control" not in response  # left to the public cache middleware
    parsed = Calendar.from_ical(response.content)
    assert str(parsed["VERSION"]) == "2.0" and "Newsroom release calendar" in str(parsed["PRODID"])
    assert str(parsed["X-WR-CALNAME"]).endswith("deployment statistics: release calendar")
    assert [tz.tz_name for tz in parsed.timezones] == ["Europe/London"]  # valid even with no event
    # The seed came out in 2010, but it is the latest release out: a new subscriber sees where things stand.
    [event] = parsed.events
    assert str(event["UID"]) == f"release-{seed_release.pk}@testserver"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["URL"]) == "http://testserver/statistics/2010-03-03/"

    settings.PUBLIC_CACHE_SECONDS = 300
    assert client.get(FEED)["Cache-Control"].startswith("public, max-age=")
    assert client.post(FEED).status_code == 405


def test_publish_times_are_uk_local_with_a_europe_london_timezone(
    client, seed_release, press_officer, publisher
):
    winter = next_release(seed_release, press_officer, publish_at=WINTER)
    summer = next_release(seed_release, press_officer, publish_at=SUMMER, by=publisher, confirm=True, weeks=2)
    parsed, body = feed(client)

    assert "DTSTART;TZID=Europe/London:20990715T093000" in body
    assert "DTSTART;TZID=Europe/London:20990312T093000" in body
    bst, gmt = event_for(parsed, summer), event_for(parsed, winter)
    assert bst["DTSTART"].params["TZID"] == "Europe/London"
    assert bst.start == SUMMER and (bst.start.hour, bst.start.minute) == (9, 30)
    assert bst.start.astimezone(dt.UTC).time() == dt.time(8, 30)
    assert gmt.start.astimezone(dt.UTC).time() == dt.time(9, 30)
    assert bst.duration == dt.timedelta(minutes=30) and bst["DTSTAMP"]
    assert (str(gmt["STATUS"]), str(bst["STATUS"])) == ("TENTATIVE", "CONFIRMED")
    assert "Provisional date: due Thursday 12 March 2099, 09:30 GMT (09:30 UTC)" in str(gmt["DESCRIPTION"])
    assert "Confirmed date: due Wednesday 15 July 2099, 09:30 BST (08:30 UTC)" in str(bst["DESCRIPTION"])
    assert "Release calendar: http://testserver/statistics/calendar/" in str(bst["DESCRIPTION"])
    assert str(bst["URL"]) == "http://testserver/statistics/calendar/"  # not out: no release page yet
    assert [str(e["SUMMARY"]) for e in parsed.events] == [
        seed_release.announced_name,  # the latest release out
        winter.announced_name,
        summer.announced_name,
    ]

    # The VTIMEZONE itself covers 2099 (icalendar's default stops at 2038): BST in July, GMT in March.
    (zone,) = parsed.timezones
    assert zone.tz_name == "Europe/London"
    own_rules = zone.to_tz()
    assert own_rules.utcoffset(SUMMER.replace(tzinfo=None)) == dt.timedelta(hours=1)
    assert own_rules.utcoffset(WINTER.replace(tzinfo=None)) == dt.timedelta(0)


def test_a_moved_date_is_the_same_event_with_a_higher_sequence(client, seed_release, press_officer):
    release = next_release(seed_release, press_officer, publish_at=WINTER)
    before = event_for(feed(client)[0], release)

    services.change_release_date(
        release=release,
        by=press_officer,
        publish_at=WINTER + dt.timedelta(days=1),
        reason="Supplier data arrive a day late.",
    )
    after = event_for(feed(client)[0], release)

    assert str(after["UID"]) == str(before["UID"]) == f"release-{release.pk}@testserver"
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after.start == WINTER + dt.timedelta(days=1)
    assert "The date has changed since it was first announced" in str(after["DESCRIPTION"])


def test_a_cancelled_release_stays_in_the_feed_cancelled_with_its_reason(
    client, seed_release, press_officer, publisher
):
    release = next_release(seed_release, press_officer, publish_at=WINTER)
    sequence = event_for(feed(client)[0], release)["SEQUENCE"]
    services.cancel_release(release=release, by=publisher, reason="No new figures over the holiday.")

    parsed, body = feed(client)
    event = event_for(parsed, release)
    assert "STATUS:CANCELLED" in body and str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] > sequence and event.start == WINTER
    assert "Reason: No new figures over the holiday." in str(event["DESCRIPTION"])
    assert str(event["SUMMARY"]) == "Deployment statistics for w/c 10 March 2010"


def test_no_figure_and_no_draft_title_ever_appears(client, seed_release, press_officer):
    draft = next_release(seed_release, press_officer, publish_at=WINTER)
    Release.objects.filter(pk=draft.pk).update(title="Half a billion prescriptions: 512,345,678 this week")
    Figure.objects.filter(release=draft, metric__slug="eps-messages-total").update(value=424_242_424)

    parsed, body = feed(client)
    assert str(event_for(parsed, draft)["SUMMARY"]) == "Deployment statistics for w/c 10 March 2010"
    for text in ("Half a billion", "512,345,678", "512345678", "424,242,424", "424242424", "306,774,292"):
        assert text not in body


def test_the_embargo_a_scheduled_release_shows_its_date_and_name_only(
    client, seed_release, press_officer, publisher
):
    release = next_release(seed_release, press_officer, publish_at=SUMMER)
    Release.objects.filter(pk=release.pk).update(title="Quokka census", summary="Quokka summary: 433 million")
    Figure.objects.filter(release=release, metric__slug="eps-messages-total").update(value=433_333_333)
    services.confirm_figures(release=release, by=press_officer)
    services.submit_release(release=release, by=press_officer, acknowledge_warnings=True)
    services.approve_release(release=release, by=publisher, acknowledge_warnings=True)
    release.refresh_from_db()
    assert release.status == Release.Status.SCHEDULED and not release.is_public

    parsed, body = feed(client)
    event = event_for(parsed, release)
    assert str(event["SUMMARY"]) == release.announced_name and event.start == SUMMER
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["URL"]) == "http://testserver/statistics/calendar/"
    assert release.get_absolute_url() not in body
    assert "433,333,333" not in body and "433333333" not in body and "433 million" not in body
    assert "Quokka" not in body


def test_a_release_just_out_links_to_its_page_and_older_ones_drop_off(
    client, seed_release, press_officer, publisher
):
    release = services.start_next_release(source=seed_release, by=press_officer)
    services.confirm_figures(release=release, by=press_officer)
    services.submit_release(release=release, by=press_officer, acknowledge_warnings=True)
    release = services.publish_now(release=release, by=publisher, acknowledge_warnings=True)

    parsed, _body = feed(client)
    event = event_for(parsed, release)
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["URL"]) == "http://testserver/statistics/2010-03-10/"
    assert "Read it: http://testserver/statistics/2010-03-10/" in str(event["DESCRIPTION"])
    assert all(str(e["UID"]) != f"release-{seed_release.pk}@testserver" for e in parsed.events)

    # Out longer ago than RECENT, it stays only while it is the latest release out.
    long_ago = release.publish_at - calendar.RECENT - dt.timedelta(minutes=1)
    Release.objects.filter(pk=release.pk).update(publish_at=long_ago)
    assert [str(e["UID"]) for e in feed(client)[0].events] == [f"release-{release.pk}@testserver"]
    Release.objects.filter(pk=seed_release.pk).update(publish_at=long_ago + dt.timedelta(minutes=1))
    assert [str(e["UID"]) for e in feed(client)[0].events] == [f"release-{seed_release.pk}@testserver"]


def test_a_publish_time_at_the_end_of_the_calendar_is_served(client, seed_release, press_officer, publisher):
    last = dt.datetime(9999, 12, 31, 23, 30, tzinfo=UK)
    release = next_release(seed_release, press_officer, publish_at=last, by=publisher, confirm=True)
    assert event_for(feed(client)[0], release).start == last


def test_the_feed_reads_the_releases_in_one_query(
    client, seed_release, press_officer, django_assert_max_num_queries
):
    next_release(seed_release, press_officer, publish_at=WINTER)
    next_release(seed_release, press_officer, publish_at=SUMMER, weeks=2)
    with django_assert_max_num_queries(1):
        assert len(feed(client)[0].events) == 3  # the seed (the latest out) and the two announced


def test_the_calendar_page_links_the_feed(client, seed_release):
    html = client.get("/statistics/calendar/").content.decode()
    assert (
        '<a href="/statistics/calendar.ics">Add these dates to your calendar '
        '<span class="newsroom-downloads__meta">(.ics)</span></a>'
    ) in html
