"""The pre-release access ledger in the admin: grants (add, revoke), the log of opens and refusals,
and breaches. Every write goes through `stats.publishing.prerelease`, which checks who and when;
nothing in the ledger is ever deleted, and once the release is out it can no longer change.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html

from common.admin import HistoryAdmin
from stats.admin.workflow import ReadOnlyRecordAdmin
from stats.models import PreReleaseAccess, PreReleaseBreach, PreReleaseGrant, Release
from stats.publishing import prerelease
from stats.wording import ukclock


def _coming_releases():
    """Releases access may be granted to: approved, publish time still ahead."""
    return Release.objects.filter(status=Release.Status.SCHEDULED, publish_at__gt=timezone.now()).order_by(
        "publish_at"
    )


class GrantForm(forms.ModelForm):
    """Granting (a new grant), or revoking (an existing one): the only two writes a grant has."""

    revoke_because = forms.CharField(
        label="Revoke this access, because",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shuts the personal link at once. Kept in the ledger; not published.",
    )

    class Meta:
        model = PreReleaseGrant
        fields = ["release", "name", "job_title", "organisation", "email", "reason"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if "release" in self.fields:
            self.fields["release"].queryset = _coming_releases()
            self.fields["release"].help_text = (
                "Approved releases before their publish time. The link opens "
                f"{prerelease.hours()} hours before publication and closes at it."
            )

    def clean(self):
        cleaned = super().clean()
        try:
            if self.instance.pk is None:
                release = cleaned.get("release")
                if release is not None and not prerelease.is_coming(release):
                    raise ValidationError("Pre-release access can be granted only before the publish time.")
            elif cleaned.get("revoke_because", "").strip() and prerelease.ledger_closed(
                self.instance.release
            ):
                raise ValidationError("The release is out: its pre-release ledger can no longer change.")
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


class AccessInline(admin.TabularInline):
    model = PreReleaseAccess
    fields = ("at", "viewed", "outcome", "refusal")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Opens and refused attempts"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PreReleaseGrant)
class PreReleaseGrantAdmin(HistoryAdmin):
    form = GrantForm
    list_display = (
        "name",
        "job_title",
        "organisation",
        "release",
        "granted_at",
        "opens",
        "refusals",
        "state",
    )
    list_filter = ("release",)
    search_fields = ("name", "job_title", "organisation", "email")
    inlines = [AccessInline]
    add_fieldsets_fields = ["release", "name", "job_title", "organisation", "email", "reason"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("release")
            .annotate(
                n_opens=Count("accesses", filter=Q(accesses__outcome=PreReleaseAccess.Outcome.OPENED)),
                n_refusals=Count("accesses", filter=Q(accesses__outcome=PreReleaseAccess.Outcome.REFUSED)),
            )
        )

    @admin.display(description="opened")
    def opens(self, grant):
        return grant.n_opens

    @admin.display(description="refused")
    def refusals(self, grant):
        return grant.n_refusals

    @admin.display(description="access")
    def state(self, grant):
        if grant.is_revoked:
            return f"Revoked {ukclock.uk_label(grant.revoked_at, weekday=False)}"
        if grant.release.publish_at is None or not prerelease.is_coming(grant.release):
            return (
                "Closed at publication" if prerelease.ledger_closed(grant.release) else "Release not approved"
            )
        times = prerelease.window(grant.release)
        now = timezone.now()
        if now >= times.closes:
            return "Closed at publication"
        if now < times.opens:
            return f"Opens {ukclock.uk_label(times.opens, weekday=False)}"
        return f"Open until {ukclock.uk_label(times.closes, weekday=False)}"

    @admin.display(description="personal link")
    def personal_link(self, grant):
        if grant.is_revoked or not prerelease.is_coming(grant.release):
            return "–"
        url = prerelease.link_url(grant)
        return format_html('<a href="{}">{}</a>', url, url)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class WithUser(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return WithUser

    # A grant as the ledger keeps it: shown, never edited (only revoked).
    LEDGER = ("release", "name", "job_title", "organisation", "email", "reason")
    LEDGER += ("granted_by", "granted_at", "emailed_at", "state")
    REVOKED = ("revoked_at", "revoked_by", "revoke_reason")

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": self.add_fieldsets_fields})]
        ledger = list(self.LEDGER)
        if request.user.has_perm(prerelease.PERMISSION):
            ledger.append("personal_link")
        sets = [(None, {"fields": ledger})]
        if obj.is_revoked:
            sets.append(("Revoked", {"fields": list(self.REVOKED)}))
        elif self._may_revoke(request, obj):
            sets.append(("Revoke", {"fields": ["revoke_because"]}))
        return sets

    def get_readonly_fields(self, request, obj=None):
        return [*self.LEDGER, "personal_link", *self.REVOKED] if obj else []

    def _may_revoke(self, request, obj) -> bool:
        return (
            request.user.has_perm(prerelease.PERMISSION)
            and not obj.is_revoked
            and not prerelease.ledger_closed(obj.release)
        )

    def has_add_permission(self, request):
        return request.user.has_perm(prerelease.PERMISSION)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return request.user.has_perm(prerelease.PERMISSION)
        return self._may_revoke(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            if not change:
                grant = prerelease.grant_access(
                    release=form.cleaned_data["release"],
                    by=request.user,
                    **{
                        key: form.cleaned_data[key]
                        for key in ("name", "job_title", "organisation", "email", "reason")
                    },
                )
                obj.pk, obj.token, obj.granted_at = grant.pk, grant.token, grant.granted_at
                opens = ukclock.uk_label(prerelease.window(grant.release).opens)
                messages.success(
                    request,
                    f"{grant.name} can open the release from {opens}. "
                    "Their personal link is being emailed to them.",
                )
            elif form.cleaned_data.get("revoke_because", "").strip():
                prerelease.revoke_access(
                    grant=obj, by=request.user, reason=form.cleaned_data["revoke_because"]
                )
                messages.success(request, f"{obj.name}’s access is revoked: the link no longer opens.")
        except (PermissionDenied, ValidationError) as error:
            raise PermissionDenied(str(error)) from error


@admin.register(PreReleaseAccess)
class PreReleaseAccessAdmin(ReadOnlyRecordAdmin):
    list_display = ("at", "grant", "release", "viewed", "outcome", "refusal")
    list_filter = ("outcome", "release")
    list_select_related = ("grant", "release")
    date_hierarchy = "at"


class BreachForm(forms.ModelForm):
    class Meta:
        model = PreReleaseBreach
        fields = ["release", "explanation"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "release" in self.fields:
            self.fields["release"].queryset = Release.objects.filter(
                status__in=(Release.Status.SCHEDULED, Release.Status.PUBLISHED, Release.Status.WITHDRAWN)
            ).order_by("-period_date")


@admin.register(PreReleaseBreach)
class PreReleaseBreachAdmin(HistoryAdmin):
    form = BreachForm
    list_display = ("release", "recorded_at", "recorded_by", "explanation")
    list_select_related = ("release", "recorded_by")

    def has_change_permission(self, request, obj=None):
        return False  # a breach, once recorded, stands as published

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ["release", "explanation", "recorded_at", "recorded_by"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied("A breach, once recorded, stands as published.")
        try:
            breach = prerelease.record_breach(
                release=form.cleaned_data["release"],
                by=request.user,
                explanation=form.cleaned_data["explanation"],
            )
        except (PermissionDenied, ValidationError) as error:
            raise PermissionDenied(str(error)) from error
        obj.pk, obj.recorded_at = breach.pk, breach.recorded_at
