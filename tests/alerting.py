"""What the email alert tests share: subscribers made directly, links read from emails, the worker."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.management import call_command
from django.utils import timezone

from alerts.models import Subscriber
from stats.models import Programme


def path_of(url: str) -> str:
    """The path of a link in an email, which must lead to the test client's site."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver", url
    return parts.path


def subscriber(email="reader@example.org", *, confirmed=True, programmes=(), **topics) -> Subscriber:
    person = Subscriber.objects.create(
        email=email, confirmed_at=timezone.now() if confirmed else None, **topics
    )
    person.programmes.set(Programme.objects.filter(slug__in=programmes))
    return person


def run_worker() -> None:
    """What the task worker (django-tasks' database backend) does with the tasks due now, then stop."""
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
