"""The release moment through the production queue for several machines: django-tasks on Redis
(RQ), run by an RQ worker, on the real Redis."""

from __future__ import annotations

import datetime as dt

import django_rq
import pytest
from django.utils import timezone
from rq import SimpleWorker

from stats.models import Release
from stats.publishing import tasks

RQ_TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}


@pytest.fixture
def rq_queue(settings):
    settings.TASKS = RQ_TASKS
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:6379/14", "DEFAULT_TIMEOUT": 60}}
    queue = django_rq.get_queue("default")
    try:
        queue.connection.ping()
    except Exception as error:
        pytest.fail(f"Redis is not reachable on 127.0.0.1:6379: {error}")
    queue.empty()
    yield queue
    queue.empty()


def test_a_release_due_is_published_by_an_rq_worker(rq_queue, seed_release, hidden_releases):
    from django_tasks_rq.backend import Job

    _draft, embargoed = hidden_releases
    Release.objects.filter(pk=embargoed.pk).update(publish_at=timezone.now() - dt.timedelta(seconds=1))
    result = tasks.release_moment.enqueue(embargoed.pk)
    assert rq_queue.count == 1
    SimpleWorker([rq_queue], connection=rq_queue.connection, job_class=Job).work(burst=True)
    embargoed.refresh_from_db()
    assert embargoed.status == Release.Status.PUBLISHED and embargoed.published_at is not None
    result.refresh()
    assert result.return_value == f"Published “{embargoed}”: warmed and announced."
