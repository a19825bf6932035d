"""Subscribers (with counts by topic) and the delivery log, which nobody edits."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count, Max, Q

from alerts.emails import CONFIRM_PREFIX, CORRECTIONS_PREFIX, parse_corrections_event
from alerts.models import Delivery, Subscriber
from common.admin import RecordAdmin
from stats.models import Correction, Programme, Release, ReleaseDateChange
from stats.wording import ukclock


def topic_counts() -> list[tuple[str, int]]:
    """Confirmed subscribers by topic: every release, corrections and date changes, each programme."""
    active = Subscriber.objects.active()
    totals = active.aggregate(
        everyone=Count("pk"),
        every_release=Count("pk", filter=Q(every_release=True)),
        corrections=Count("pk", filter=Q(corrections=True)),
    )
    rows = [
        ("All confirmed subscribers", totals["everyone"]),
        ("Every release", totals["every_release"]),
        ("Corrections and date changes", totals["corrections"]),
    ]
    chose = Q(subscribers__confirmed_at__isnull=False, subscribers__unsubscribed_at__isnull=True)
    programmes = Programme.objects.annotate(chosen_by=Count("subscribers", filter=chose))
    rows += [(f"Chose {programme.name}", programme.chosen_by) for programme in programmes]
    return rows


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("confirmed", "Confirmed"),
            ("waiting", "Waiting for confirmation"),
            ("unsubscribed", "Unsubscribed"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "confirmed":
            return queryset.active()
        if self.value() == "waiting":
            return queryset.filter(confirmed_at__isnull=True, unsubscribed_at__isnull=True)
        if self.value() == "unsubscribed":
            return queryset.filter(unsubscribed_at__isnull=False)
        return queryset


@admin.register(Subscriber)
class SubscriberAdmin(RecordAdmin):
    list_display = ("email", "every_release", "corrections", "chosen_programmes", "confirmed", "created_at")
    list_filter = (StateFilter, "every_release", "corrections", "programmes")
    search_fields = ("email",)
    fields = (
        "email",
        "every_release",
        "corrections",
        "programmes",
        "confirmed_at",
        "unsubscribed_at",
        "confirm_requested_at",
        "created_at",
    )
    readonly_fields = ("email", "confirmed_at", "unsubscribed_at", "confirm_requested_at", "created_at")
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("programmes")

    def has_add_permission(self, request):
        """Subscribers only come through the public page's double opt-in."""
        return False

    @admin.display(description="chosen programmes")
    def chosen_programmes(self, obj):
        return ", ".join(programme.label for programme in obj.programmes.all()) or "–"

    @admin.display(boolean=True, description="confirmed")
    def confirmed(self, obj):
        return obj.is_active

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "topic_counts": topic_counts()}
        return super().changelist_view(request, extra_context=extra_context)


def event_labels(events) -> dict[str, str]:
    """What each event is about, as staff read it: "Release for w/c 3 March 2010"."""
    ids: dict[str, list[int]] = {"release": [], "correction": [], "date-change": []}
    windows = {}
    for event in events:
        kind, _, ident = event.partition(":")
        if kind in ids and ident.isdigit():
            ids[kind].append(int(ident))
        elif kind == CORRECTIONS_PREFIX and (window := parse_corrections_event(ident)):
            windows[event] = window
    labels = {}
    corrected = Release.objects.only("period_date").in_bulk({pk for pk, _ in windows.values()})
    for event, (release_id, start) in windows.items():
        if release_id in corrected:
            since = ukclock.uk_label(start, weekday=False)
            labels[event] = f"Corrections to w/c {corrected[release_id].period_label} from {since}"
    for release in Release.objects.filter(pk__in=ids["release"]):
        labels[f"release:{release.pk}"] = f"Release for w/c {release.period_label}"
    for correction in Correction.objects.select_related("release").filter(pk__in=ids["correction"]):
        labels[f"correction:{correction.pk}"] = (
            f"Correction: {correction.subject} (w/c {correction.release.period_label})"
        )
    for change in ReleaseDateChange.objects.select_related("release").filter(pk__in=ids["date-change"]):
        what = "cancelled" if change.is_cancellation else "date change"
        labels[f"date-change:{change.pk}"] = f"Release for w/c {change.release.period_label}: {what}"
    return {event: labels.get(event, event) for event in events}


class EventFilter(admin.SimpleListFilter):
    """The latest events, by name; any event by its address, e.g. ?event=release:12."""

    title = "event"
    parameter_name = "event"
    RECENT = 20

    def lookups(self, request, model_admin):
        recent = (
            Delivery.objects.exclude(event__startswith=f"{CONFIRM_PREFIX}:")
            .values("event")
            .annotate(latest=Max("created_at"))
            .order_by("-latest")[: self.RECENT]
        )
        events = [row["event"] for row in recent]
        return [*event_labels(events).items(), (CONFIRM_PREFIX, "Confirmation emails")]

    def queryset(self, request, queryset):
        if self.value() == CONFIRM_PREFIX:
            return queryset.filter(event__startswith=f"{CONFIRM_PREFIX}:")
        if self.value():
            return queryset.filter(event=self.value())
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(RecordAdmin):
    """The delivery log: written by the sending code only; read here."""

    list_display = ("event", "subscriber", "status", "attempts", "claimed_at", "sent_at", "short_error")
    list_filter = ("status", EventFilter)
    search_fields = ("=event", "subscriber__email")
    list_select_related = ("subscriber",)
    fields = ("event", "subscriber", "status", "attempts", "created_at", "claimed_at", "sent_at", "error")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.error[:80] + ("…" if len(obj.error) > 80 else "")

    def changelist_view(self, request, extra_context=None):
        event = request.GET.get("event", "")
        if event and event != CONFIRM_PREFIX:
            counts = dict(
                Delivery.objects.filter(event=event).order_by().values_list("status").annotate(n=Count("pk"))
            )
            extra_context = {
                **(extra_context or {}),
                "event_label": event_labels([event])[event],
                "event_counts": [(label, counts.get(value, 0)) for value, label in Delivery.Status.choices],
            }
        return super().changelist_view(request, extra_context=extra_context)
