"""Forget cached public pages whenever something the public can see is saved or deleted, and only then.

A draft's text and figures, a release in review, an approved release before its time: none of them
is on a public page, so editing them leaves the cache alone (their release comes out at its publish
time, when the cache's generation moves on by itself). What of a coming release the public does see
is its line in the release calendar (its period, time, whether the date is confirmed, its state):
a change to that is a public change. Everything else the statistics and contacts apps keep is public.
"""

from django.apps import apps
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from common.cache import invalidate, invalidate_scopes

WATCHED_APPS = ("statistics", "contacts")
# Never seen by the public while they can change: pre-release grants and their log are read-only
# once the release is out, and the public list is built then (a breach, which can come later, is
# watched).
UNWATCHED_MODELS = ("statistics.PreReleaseGrant", "statistics.PreReleaseAccess")
# What the calendar shows of a release that is not out yet.
ANNOUNCED = ("period_date", "publish_at", "date_confirmed", "status")


def _invalidate(sender, **kwargs):
    invalidate()


def _m2m_changed(sender, **kwargs):
    """A contact's programmes (and any other many-to-many of these apps); not staff groups' permissions."""
    if sender._meta.app_label in WATCHED_APPS:
        invalidate()


def _remember_announced(sender, instance, raw=False, **kwargs):
    """Before a release is saved: what the public could see of it (nothing if it is new)."""
    instance._announced_before = (
        None if raw or instance._state.adding else sender.objects.filter(pk=instance.pk).first()
    )


def _shown_with(release) -> list[str]:
    """The cache scopes of the pages that show a public release's content: its own, and the next
    public release's, which compares its figures with these."""
    following = release.next()
    return [release.cache_scope, *([following.cache_scope] if following else [])]


def _release_saved(sender, instance, created, raw=False, **kwargs):
    """A new release, or a public one's state or dates: every page. A public release's content
    (a correction moves its version on): its own pages and the site's. A hidden release's: none."""
    before = getattr(instance, "_announced_before", None)
    if created or before is None or any(getattr(before, f) != getattr(instance, f) for f in ANNOUNCED):
        invalidate()
    elif instance.is_out:
        invalidate_scopes(_shown_with(instance))


def _row_changed(sender, instance, **kwargs):
    """A figure, bullet, correction, file or breach: public if its release is on public pages, and
    then on the pages that show that release, and the site's."""
    from stats.models import Release, ReleaseFile

    release = (
        Release.objects.filter(pk=instance.release_id).only("status", "publish_at", "period_date").first()
    )
    if release is None:
        invalidate()
    elif sender is ReleaseFile:
        if release.is_out:
            invalidate_scopes([release.files_scope], site=False)  # a size on the release's page
    elif release.is_out:
        invalidate_scopes(_shown_with(release))


def connect() -> None:
    from stats.models import Release

    for app_label in WATCHED_APPS:
        for model in apps.get_app_config(app_label).get_models():
            if model.__name__.startswith("Historical") or model._meta.label in UNWATCHED_MODELS:
                continue
            uid = f"newsroom-cache-{model._meta.label}"
            if model is Release:
                pre_save.connect(_remember_announced, sender=model, dispatch_uid=uid + "-before")
                post_save.connect(_release_saved, sender=model, dispatch_uid=uid + "-save")
            elif any(
                field.name == "release" and field.related_model is Release for field in model._meta.fields
            ):
                post_save.connect(_row_changed, sender=model, dispatch_uid=uid + "-save")
            else:
                post_save.connect(_invalidate, sender=model, dispatch_uid=uid + "-save")
            post_delete.connect(_invalidate, sender=model, dispatch_uid=uid + "-delete")
    m2m_changed.connect(_m2m_changed, dispatch_uid="newsroom-cache-m2m")
