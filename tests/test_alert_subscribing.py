"""Asking for email alerts, confirming, managing and unsubscribing, as a reader does, with real email.

The pages are fetched with the test client; emails go through Django's SMTP backend to a real
server (aiosmtpd) on a localhost port, and the links in them are followed.
"""

from __future__ import annotations

import datetime as dt
import time

from django.urls import reverse
from django.utils import timezone

from alerts import sending, tokens
from alerts.models import Delivery, Subscriber
from stats.models import Programme

from .alerting import path_of, subscriber
from .smtp import free_port

Status = Delivery.Status


def test_subscribe_sends_one_confirmation_whose_link_confirms(
    client, smtp, seed_release, django_capture_on_commit_callbacks
):
    page = client.get("/subscribe/")
    assert page.status_code == 200
    assert page["Cache-Control"] == "private, no-store"
    html = page.content.decode()
    assert '<legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--m">' in html
    assert "Electronic Prescription Service (EPS)" in html  # the active programmes to choose from

    eps = Programme.objects.get(slug="eps")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/subscribe/", {"email": "Reader@Example.org", "corrections": "on", "programmes": [eps.pk]}
        )
    assert response.status_code == 302 and response["Location"] == "/subscribe/check-your-email/"
    assert client.get(response["Location"]).status_code == 200

    assert len(smtp) == 1
    (email,) = smtp.to("reader@example.org")
    assert email.message["Subject"].startswith("Confirm your email alerts")
    assert "corrections and date changes; releases about EPS" in email.text
    person = Subscriber.objects.get()
    assert not person.is_active  # nothing until the link is opened
    assert person.every_release is False and person.corrections is True
    assert list(person.programmes.all()) == [eps]
    delivery = Delivery.objects.get()
    assert delivery.status == Status.SENT and delivery.event.startswith("confirm:")
    assert email.message["Message-ID"] == f"<delivery-{delivery.pk}@testserver>"

    link = path_of(email.link("/subscribe/confirm/"))
    assert "Confirm email alerts</button>" in client.get(link).content.decode()
    person.refresh_from_db()
    assert not person.is_active  # opening the link is not confirming
    confirm = client.post(link)
    assert confirm.status_code == 303 and confirm["Location"] == link
    assert confirm["Cache-Control"] == "private, no-store"
    assert "Email alerts confirmed" in client.get(link).content.decode()
    person.refresh_from_db()
    assert person.is_active
    # Pressing it again changes nothing.
    assert client.post(link).status_code == 303


def test_the_form_says_what_is_wrong_and_links_to_the_field(client, seed_release):
    response = client.post("/subscribe/", {"email": "not an address"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Error: Get email alerts" in html
    assert 'class="nhsuk-error-summary"' in html
    assert '<a href="#email">Enter an email address in the correct format, like name@example.com</a>' in html
    assert '<a href="#every_release">Select what you want email alerts about' in html
    assert 'aria-describedby="email-hint email-error"' in html
    assert Subscriber.objects.count() == 0


def test_asking_again_never_says_whether_an_address_is_subscribed(
    client, smtp, seed_release, django_capture_on_commit_callbacks
):
    def ask(email, **topics):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/subscribe/", {"email": email, **topics})
        return response.status_code, response["Location"]

    active = subscriber("kept@example.org", every_release=True)
    first = ask("new@example.org", every_release="on")
    # Same address in another case: the same subscriber; within a minute, no second email.
    assert ask("NEW@example.org", corrections="on") == first
    assert len(smtp.to("new@example.org")) == 1
    assert Subscriber.objects.with_address("new@example.org").count() == 1
    # A minute later the confirmation is sent again (the address is still unconfirmed).
    Subscriber.objects.filter(email="new@example.org").update(
        confirm_requested_at=timezone.now() - dt.timedelta(minutes=2)
    )
    assert ask("new@example.org", corrections="on") == first
    assert len(smtp.to("new@example.org")) == 2
    assert smtp.to("new@example.org")[1].message["Subject"].startswith("Confirm")

    # An address already subscribed: the same answer; its topics stay; it is told how to manage them.
    assert ask("kept@example.org", corrections="on") == first
    (note,) = smtp.to("kept@example.org")
    assert "already subscribed" in note.message["Subject"]
    assert client.get(path_of(note.link("/subscribe/manage/"))).status_code == 200
    active.refresh_from_db()
    assert active.every_release and not active.corrections


def test_a_confirmation_the_mail_server_cannot_take_is_never_said_to_be_sent(
    client, smtp, seed_release, settings
):
    """Unreachable, then refused: the page says nothing went and what to do; the form keeps what was typed."""
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there
    response = client.post("/subscribe/", {"email": "reader@example.org", "corrections": "on"})
    html = response.content.decode()
    assert response.status_code == 503
    assert response["Cache-Control"] == "private, no-store"
    assert "<title>Error: Get email alerts" in html
    assert "We could not send your confirmation email" in html
    assert "nothing has been sent to reader@example.org" in html
    assert "Try again in a few minutes" in html
    assert "We have sent" not in html
    assert 'value="reader@example.org"' in html
    assert 'name="corrections" type="checkbox" checked' in html  # what was chosen stays chosen
    assert len(smtp) == 0
    (unsent,) = Delivery.objects.all()
    assert unsent.status == Status.FAILED  # the catch-up will not send it behind the reader's back
    assert sending.resume_pending().sent == 0 and len(smtp) == 0

    # The relay answers again: pressing Subscribe at once sends it (no minute's wait after a failure).
    settings.EMAIL_PORT = port
    again = client.post("/subscribe/", {"email": "reader@example.org", "corrections": "on"})
    assert again.status_code == 302 and again["Location"] == "/subscribe/check-your-email/"
    assert len(smtp.to("reader@example.org")) == 1

    # An address the relay refuses: said against the address, with what to check.
    smtp.refuse.add("nobody@example.org")
    refused = client.post("/subscribe/", {"email": "nobody@example.org", "every_release": "on"})
    html = refused.content.decode()
    assert refused.status_code == 200
    assert "<title>Error: Get email alerts" in html
    assert '<a href="#email">We could not send an email to nobody@example.org' in html
    assert "Check the address is right" in html and "We have sent" not in html
    assert len(smtp.to("nobody@example.org")) == 0


def test_an_expired_or_broken_link_is_refused(client, smtp, seed_release, settings):
    person = subscriber("late@example.org", confirmed=False, every_release=True)
    sending.send_confirmation(person.pk)
    link = path_of(smtp.to("late@example.org")[0].link("/subscribe/confirm/"))
    settings.NEWSROOM_CONFIRM_DAYS = 0
    time.sleep(1.1)  # older than 0 days
    response = client.get(link)
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    person.refresh_from_db()
    assert not person.is_active

    settings.NEWSROOM_CONFIRM_DAYS = 7
    broken = link.replace("/confirm/", "/confirm/x")
    assert client.get(broken).status_code == 404
    assert client.get(link.replace("/confirm/", "/manage/")).status_code == 404  # another purpose's salt
    assert client.get(link).status_code == 200


def test_unsubscribe_page_has_a_button_and_resubscribing_works(
    client, smtp, seed_release, django_capture_on_commit_callbacks
):
    person = subscriber("back@example.org", every_release=True)
    old_confirm_link = reverse("alerts:confirm", args=[tokens.make(person, tokens.CONFIRM)])
    link = reverse("alerts:unsubscribe", args=[tokens.make(person, tokens.UNSUBSCRIBE)])
    page = client.get(link).content.decode()
    assert '<form method="post"' in page and ">Unsubscribe</button>" in page
    person.refresh_from_db()
    assert person.is_active  # opening the link is not unsubscribing
    assert "You have unsubscribed" in client.post(link).content.decode()
    person.refresh_from_db()
    assert not person.is_active
    assert client.get(old_confirm_link).status_code == 410  # an old link cannot undo it

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/subscribe/", {"email": "back@example.org", "corrections": "on"})
    (confirmation,) = smtp.to("back@example.org")
    assert confirmation.message["Subject"].startswith("Confirm")
    assert client.post(path_of(confirmation.link("/subscribe/confirm/"))).status_code == 303
    person.refresh_from_db()
    assert person.is_active and person.corrections and not person.every_release


def test_following_a_link_never_acts_only_its_button_does(seed_release):
    """A mail system that follows the links in an email to check them (GET or HEAD, no cookie, no
    form) confirms nothing and unsubscribes nobody: each link opens a page with a button, and only
    the button (a POST from that page) acts. One-click unsubscribe (RFC 8058) stays a plain POST."""
    import re

    from django.test import Client

    waiting = subscriber("waiting@example.org", confirmed=False, every_release=True)
    reading = subscriber("reading@example.org", every_release=True)
    confirm = reverse("alerts:confirm", args=[tokens.make(waiting, tokens.CONFIRM)])
    links = [
        confirm,
        reverse("alerts:manage", args=[tokens.make(reading, tokens.MANAGE)]),
        reverse("alerts:unsubscribe", args=[tokens.make(reading, tokens.UNSUBSCRIBE)]),
    ]
    scanner = Client(enforce_csrf_checks=True)
    for link in links:
        for method in (scanner.get, scanner.head, scanner.get):
            assert method(link).status_code == 200
    waiting.refresh_from_db()
    reading.refresh_from_db()
    assert waiting.confirmed_at is None and not waiting.is_active
    assert reading.is_active and reading.unsubscribed_at is None

    # The confirmation page says what was asked for and offers one button.
    page = scanner.get(confirm)
    html = page.content.decode()
    assert page["Cache-Control"] == "private, no-store" and page["X-Robots-Tag"] == "noindex, nofollow"
    assert "<h1>Confirm your email alerts</h1>" in html
    assert "every release" in html
    assert f'<form method="post" action="{confirm}">' in html
    assert ">Confirm email alerts</button>" in html
    # A POST without the page's form (no CSRF token) confirms nothing either.
    assert scanner.post(confirm).status_code == 403
    waiting.refresh_from_db()
    assert not waiting.is_active

    # The reader presses the button: alerts start; the link then says so, however often it is opened.
    reader = Client(enforce_csrf_checks=True)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', reader.get(confirm).content.decode())
    done = reader.post(confirm, {"csrfmiddlewaretoken": token[1]}, follow=True)
    assert done.status_code == 200 and "Email alerts confirmed" in done.content.decode()
    assert done["Cache-Control"] == "private, no-store"
    waiting.refresh_from_db()
    assert waiting.is_active
    assert "Email alerts confirmed" in scanner.get(confirm).content.decode()


def test_manage_page_changes_topics(client, seed_release):
    person = subscriber(every_release=True)
    link = reverse("alerts:manage", args=[tokens.make(person, tokens.MANAGE)])
    page = client.get(link)
    assert page["Cache-Control"] == "private, no-store" and page["X-Robots-Tag"] == "noindex, nofollow"
    assert 'id="every_release" name="every_release" type="checkbox" checked' in page.content.decode()
    n3 = Programme.objects.get(slug="n3")
    response = client.post(link, {"programmes": [n3.pk]})
    assert response.status_code == 302
    assert "Your email alerts have been changed" in client.get(response["Location"]).content.decode()
    person.refresh_from_db()
    assert not person.every_release and list(person.programmes.all()) == [n3]
    refused = client.post(link, {})
    assert "Select what you want email alerts about" in refused.content.decode()
    assert person.programmes.count() == 1


def test_links_that_never_expire_are_the_same_whenever_signed_and_old_ones_still_work(client, seed_release):
    """An alert sent again after a worker died reads the same; links in emails already sent, which
    carried the time they were signed, still unsubscribe."""
    from django.core import signing

    person = subscriber(every_release=True)
    first = tokens.make(person, tokens.UNSUBSCRIBE)
    time.sleep(1.1)
    assert tokens.make(person, tokens.UNSUBSCRIBE) == first
    assert tokens.make(person, tokens.MANAGE) != first  # each purpose its own salt
    value = first.rpartition(":")[0]
    sent_before = signing.TimestampSigner(salt="alerts.unsubscribe").sign(value)
    assert sent_before != first and tokens.read(sent_before, tokens.UNSUBSCRIBE) == person
    response = client.post(reverse("alerts:unsubscribe", args=[sent_before]))
    assert response.status_code in (200, 302)
    person.refresh_from_db()
    assert person.unsubscribed_at is not None
