"""Forget cached public pages whenever something the public can see is saved or deleted."""

from django.apps import apps
from django.db.models.signals import m2m_changed, post_delete, post_save

from common.cache import invalidate

WATCHED_APPS = ("statistics", "contacts")
# Never seen by the public while they can change: pre-release grants and their log are read-only
# once the release is out, and the public list is built then (a breach, which can come later, is
# watched).
UNWATCHED_MODELS = ("statistics.PreReleaseGrant", "statistics.PreReleaseAccess")


def _invalidate(sender, **kwargs):
    invalidate()


def connect() -> None:
    for app_label in WATCHED_APPS:
        for model in apps.get_app_config(app_label).get_models():
            if model.__name__.startswith("Historical") or model._meta.label in UNWATCHED_MODELS:
                continue
            uid = f"newsroom-cache-{model._meta.label}"
            post_save.connect(_invalidate, sender=model, dispatch_uid=uid + "-save")
            post_delete.connect(_invalidate, sender=model, dispatch_uid=uid + "-delete")
    m2m_changed.connect(_invalidate, dispatch_uid="newsroom-cache-m2m")
