"""The publishing workflow in the admin: buttons, confirmation pages, review, history and locking.

Every button leads to a short confirmation page whose form calls one function
in `services`; the admin never changes a release's state any other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from newsroom.admin import RecordAdmin

from . import checks, formatting, services, ukclock
from .models import Figure, Metric, Release, Statement

Status = Release.Status


class StaleRelease(Exception):
    """Someone else saved the release after this form was opened."""


def stale_message(release: Release, seen: int | None) -> str:
    return (
        f"Someone else saved “{release}” after you opened it (you had version {seen}, "
        f"it is now version {release.version}). Nothing was saved: reload the page to see their "
        "changes, then make yours again."
    )


# --- the release form: optimistic locking ------------------------------------------------


class ReleaseLockingForm(forms.ModelForm):
    """Carries the version the editor saw; a save from a stale page is refused."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            current = (
                Release.objects.select_for_update()
                .filter(pk=self.instance.pk)
                .values_list("version", flat=True)
                .first()
            )
            seen = cleaned.get("expected_version")
            if current != seen:
                self.instance.version = current
                raise ValidationError(stale_message(self.instance, seen), code="stale")
        return cleaned


class FigureInlineForm(forms.ModelForm):
    """Editing a copied figure's value counts as confirming it."""

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and {"value", "qualifier", "as_of"} & set(self.changed_data):
            cleaned["is_confirmed"] = True
        return cleaned


class DraftOnlyInlineMixin:
    """Figures and statements change only while the release is a draft (then through corrections)."""

    def _draft(self, obj) -> bool:
        return obj is None or obj.status == Status.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


class DraftRowAdminMixin:
    """A figure or statement edited on its own page: drafts only, and it counts as editing the release."""

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.release.status != Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.release.status != Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "release":
            kwargs["queryset"] = Release.objects.filter(status=Status.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if obj.release.status != Status.DRAFT:
            raise PermissionDenied("Only a draft release can be edited; use a correction instead.")
        if (
            getattr(obj, "pk", None)
            and isinstance(obj, Figure)
            and {"value", "qualifier", "as_of"} & set(form.changed_data)
        ):
            obj.is_confirmed = True
        super().save_model(request, obj, form, change)
        touch_release(obj.release_id, request.user)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        touch_release(obj.release_id, request.user)


def touch_release(release_id: int, user) -> None:
    """Record an edit to a release's rows: new version, last editor."""
    release = Release.objects.select_for_update().get(pk=release_id)
    release.version += 1
    release.last_edited_by = user
    release._history_user = user
    release._change_reason = "Figures or statements edited"
    release.save(update_fields=["version", "last_edited_by", "updated_at"])


class ReadOnlyRecordAdmin(RecordAdmin):
    """Public records written only by the workflow (corrections, date changes)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- confirmation forms for each transition -----------------------------------------------


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class AcknowledgeForm(VersionForm):
    acknowledge = forms.BooleanField(
        label="I have checked these changes and they are right",
        required=False,
        help_text="Needed when the checks list warnings.",
    )


def publish_time_field(**kwargs) -> forms.SplitDateTimeField:
    return forms.SplitDateTimeField(
        label="Publish time (UK time)",
        widget=widgets.AdminSplitDateTime,
        help_text="UK time: GMT in winter, BST in summer. The release stays hidden until then.",
        **kwargs,
    )


class ApproveForm(AcknowledgeForm):
    publish_at = publish_time_field()
    date_change_reason = forms.CharField(
        label="Reason for moving the announced date",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only if you change the publish time; shown publicly on the release calendar.",
    )


class PublishNowForm(AcknowledgeForm):
    reason = forms.CharField(
        label="Reason for publishing before the announced time",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the release was announced for later; shown on the release calendar.",
    )


class ReasonForm(VersionForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Shown to the public.")


class OptionalReasonForm(VersionForm):
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="For the record (optional)."
    )


class ChangeDateForm(VersionForm):
    publish_at = publish_time_field()
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the date moves; shown publicly on the release calendar. Needed for any move.",
    )
    confirm = forms.BooleanField(
        label="Confirm this date",
        required=False,
        help_text="Publishers only: the calendar then says “confirmed”.",
    )


class StartNextForm(forms.Form):
    period_date = forms.DateField(
        label="Period of the new release",
        required=False,
        widget=widgets.AdminDateWidget,
        help_text="Leave empty for the period after this one (usually a week later).",
    )


class ConfirmFiguresForm(VersionForm):
    figures = forms.ModelMultipleChoiceField(
        queryset=Figure.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick the figures you have checked and that are still right this week.",
    )


class ExplainForm(forms.Form):
    figure = forms.ModelChoiceField(
        queryset=Figure.objects.none(), help_text="The figure that fell or jumped."
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why, in plain English; published with the release as a correction note.",
    )


class CorrectFigureForm(forms.Form):
    figure = forms.ModelChoiceField(queryset=Figure.objects.none())
    value = forms.DecimalField(max_digits=20, decimal_places=4, help_text="The right figure, exactly.")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why it changed, in plain English. Shown on the release page and the revisions page.",
    )


class CorrectStatementForm(forms.Form):
    statement = forms.ModelChoiceField(queryset=Statement.objects.none())
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The corrected bullet, with {metric-slug} placeholders as before.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why it changed, in plain English. Shown on the release page and the revisions page.",
    )


# --- which buttons a release offers ------------------------------------------------------------


def _can(user, codename: str) -> bool:
    return user.has_perm(f"statistics.{codename}")


@dataclass(frozen=True)
class Action:
    slug: str
    label: str
    permission: str
    form: type[forms.Form]
    states: tuple[str, ...] = ()  # statuses it applies to; empty: any
    public: bool | None = None  # True: only public releases; False: only not-yet-public; None: either
    shows_checks: bool = False
    danger: bool = False

    def permission_for(self, release: Release) -> str:
        """Moving an approved or confirmed release back or to another date is a publisher's call."""
        if self.slug in ("return-to-draft", "change-date") and (
            release.status == Status.SCHEDULED or release.date_confirmed
        ):
            return "approve_release"
        return self.permission

    def applies(self, release: Release) -> bool:
        if self.states and release.status not in self.states:
            return False
        return self.public is None or self.public == release.is_public


ACTIONS = {
    a.slug: a
    for a in (
        Action(
            "submit",
            "Submit for review",
            "submit_release",
            AcknowledgeForm,
            (Status.DRAFT,),
            shows_checks=True,
        ),
        Action(
            "confirm-figures",
            "Confirm unchanged figures",
            "change_release",
            ConfirmFiguresForm,
            (Status.DRAFT,),
        ),
        Action("explain", "Explain a fall or jump", "change_release", ExplainForm, (Status.DRAFT,)),
        Action(
            "approve",
            "Approve and schedule",
            "approve_release",
            ApproveForm,
            (Status.IN_REVIEW,),
            shows_checks=True,
        ),
        Action(
            "publish-now",
            "Publish now",
            "publish_release",
            PublishNowForm,
            (Status.IN_REVIEW, Status.SCHEDULED),
            public=False,
            shows_checks=True,
        ),
        Action(
            "return-to-draft",
            "Return to draft",
            "submit_release",
            OptionalReasonForm,
            (Status.IN_REVIEW, Status.SCHEDULED),
            public=False,
        ),
        Action(
            "change-date",
            "Change or confirm the date",
            "change_release",
            ChangeDateForm,
            services.UNPUBLISHED,
            False,
        ),
        Action(
            "cancel",
            "Cancel this release",
            "approve_release",
            ReasonForm,
            services.UNPUBLISHED,
            False,
            danger=True,
        ),
        Action("correct-figure", "Correct a figure", "correct_release", CorrectFigureForm, public=True),
        Action(
            "correct-statement", "Correct a statement", "correct_release", CorrectStatementForm, public=True
        ),
        Action("withdraw", "Withdraw", "withdraw_release", ReasonForm, public=True, danger=True),
        Action("start-next", "Start the next release", "add_release", StartNextForm),
    )
}


def available_actions(release: Release, user) -> list[Action]:
    return [a for a in ACTIONS.values() if a.applies(release) and _can(user, a.permission_for(release))]


# --- the admin mixin -----------------------------------------------------------------------------


class ReleaseWorkflowMixin:
    """Adds the workflow to the release admin: read-only state, buttons, review, history, locking."""

    form = ReleaseLockingForm
    change_form_template = "admin/statistics/release/change_form.html"
    actions = ["start_next_action", "submit_action"]

    # state is changed only through the buttons
    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        fields += ["status", "date_confirmed", "status_reason", "publish_time_uk"]
        if obj is not None and obj.publish_at is not None:
            fields.append("publish_at")
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="publish time (UK and UTC)")
    def publish_time_uk(self, release):
        if not release or not release.publish_at:
            return "—"
        text = f"{ukclock.uk_label(release.publish_at)} ({ukclock.utc_label(release.publish_at)})"
        warning = ukclock.clock_change_near(release.publish_at)
        return f"{text}. Warning: {warning}" if warning else text

    def save_model(self, request, obj, form, change):
        obj.last_edited_by = request.user
        if change:
            seen = form.cleaned_data.get("expected_version")
            swapped = Release.objects.filter(pk=obj.pk, version=seen).update(version=seen + 1)
            if not swapped:
                raise StaleRelease(stale_message(Release.objects.get(pk=obj.pk), seen))
            obj.version = seen + 1
        else:
            obj.status = Status.DRAFT
        super().save_model(request, obj, form, change)
        warning = ukclock.clock_change_near(obj.publish_at)
        if warning:
            self.message_user(request, warning, messages.WARNING)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id:
            current = self.get_object(request, object_id)
            if current is not None and current.status != Status.DRAFT:
                self.message_user(
                    request,
                    f"“{current}” is now {current.get_status_display().lower()}, so it can no longer be "
                    "edited here. Nothing was saved: reload the page; to change it, return it to draft "
                    "or use a correction.",
                    messages.ERROR,
                )
                return HttpResponseRedirect(request.path)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleRelease as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        release = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if release is not None:
            extra_context.update(self.workflow_context(request, release))
        return super().change_view(request, object_id, form_url, extra_context)

    def workflow_context(self, request, release: Release) -> dict[str, Any]:
        findings = services.release_findings(release) if release.status in services.UNPUBLISHED else []
        return {
            "workflow_actions": [
                (a, reverse(f"admin:statistics_release_{a.slug.replace('-', '_')}", args=[release.pk]))
                for a in available_actions(release, request.user)
            ],
            "workflow_findings": findings,
            "unconfirmed_count": release.figures.filter(is_confirmed=False).count(),
            "publish_uk": ukclock.uk_label(release.publish_at),
            "publish_utc": ukclock.utc_label(release.publish_at),
            "clock_warning": ukclock.clock_change_near(release.publish_at),
            "changes_url": reverse("admin:statistics_release_changes", args=[release.pk]),
            "full_history_url": reverse("admin:statistics_release_full_history", args=[release.pk]),
            "preview_url": reverse("statistics:release-preview", args=[release.pk]),
            "release_is_public": release.is_public,
        }

    def get_urls(self):
        view = self.admin_site.admin_view
        urls = [
            path(
                f"<path:object_id>/workflow/{slug}/",
                view(self.workflow_view),
                {"slug": slug},
                name=f"statistics_release_{slug.replace('-', '_')}",
            )
            for slug in ACTIONS
        ]
        urls += [
            path("<path:object_id>/changes/", view(self.changes_view), name="statistics_release_changes"),
            path(
                "<path:object_id>/full-history/",
                view(self.full_history_view),
                name="statistics_release_full_history",
            ),
        ]
        return urls + super().get_urls()

    # --- one confirmation page per transition ---

    def _release(self, request, object_id) -> Release:
        release = self.get_object(request, object_id)
        if release is None or not self.has_view_permission(request, release):
            raise Http404("No such release.")
        return release

    def _form(self, action: Action, release: Release, data=None) -> forms.Form:
        initial: dict[str, Any] = {"version": release.version}
        if action.slug in ("approve", "change-date"):
            initial["publish_at"] = release.publish_at or services.default_publish_at(release.period_date)
        form = action.form(data, initial=initial)
        figures = release.figures.select_related("metric").order_by("metric__name")
        if "figure" in form.fields:
            form.fields["figure"].queryset = figures
        if "figures" in form.fields:
            form.fields["figures"].queryset = figures.filter(is_confirmed=False)
        if "statement" in form.fields:
            form.fields["statement"].queryset = release.statements.select_related("programme")
        return form

    def workflow_view(self, request, object_id, slug):
        action = ACTIONS[slug]
        release = self._release(request, object_id)
        if not action.applies(release):
            self.message_user(
                request,
                f"“{action.label}” does not apply to a {release.get_status_display().lower()} release.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:statistics_release_change", args=[release.pk]))
        if not _can(request.user, action.permission_for(release)):
            raise PermissionDenied(f"You do not have permission to {action.label.lower()}.")
        form = self._form(action, release, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                result = self.run_action(action, release, request.user, form.cleaned_data)
            except (ValidationError, PermissionDenied) as error:
                for message in getattr(error, "messages", None) or [str(error)]:
                    form.add_error(None, message)
            else:
                target = result if isinstance(result, Release) else release
                self.message_user(request, self.done_message(action, target), messages.SUCCESS)
                warning = (
                    ukclock.clock_change_near(target.publish_at) if slug in ("approve", "change-date") else ""
                )
                if warning:
                    self.message_user(request, warning, messages.WARNING)
                return HttpResponseRedirect(reverse("admin:statistics_release_change", args=[target.pk]))
        findings = services.release_findings(release) if action.shows_checks else []
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{action.label}: {release}",
            "release": release,
            "action": action,
            "form": form,
            "media": self.media + form.media,
            "findings": findings,
            "errors_found": [f for f in findings if f.is_error],
            "warnings_found": [f for f in findings if not f.is_error],
            "publish_uk": ukclock.uk_label(release.publish_at),
            "publish_utc": ukclock.utc_label(release.publish_at),
            "clock_warning": ukclock.clock_change_near(release.publish_at),
            "changes_url": reverse("admin:statistics_release_changes", args=[release.pk]),
            "preview_url": reverse("statistics:release-preview", args=[release.pk]),
        }
        return TemplateResponse(request, "admin/statistics/release/workflow_action.html", context)

    def run_action(self, action: Action, release: Release, user, data: dict):
        version = data.get("version")
        ack = data.get("acknowledge", False)
        match action.slug:
            case "confirm-figures":
                return services.confirm_figures(
                    release=release, by=user, slugs=[f.metric.slug for f in data["figures"]]
                )
            case "explain":
                return services.add_correction_note(
                    release=release, by=user, metric_slug=data["figure"].metric.slug, reason=data["reason"]
                )
            case "correct-figure":
                return services.correct_figure(
                    figure=data["figure"], by=user, value=data["value"], reason=data["reason"]
                )
            case "correct-statement":
                return services.correct_statement(
                    statement=data["statement"], by=user, text=data["text"], reason=data["reason"]
                )
            case step if step in services.RELEASE_STEPS:
                return services.run_release_step(
                    step=step,
                    release=release,
                    by=user,
                    reason=data.get("reason", data.get("date_change_reason", "")),
                    publish_at=data.get("publish_at"),
                    confirm=data.get("confirm", False),
                    period_date=data.get("period_date"),
                    acknowledge_warnings=ack,
                    expected_version=version,
                )
        raise Http404(action.slug)

    def done_message(self, action: Action, release: Release) -> str:
        release.refresh_from_db()
        if action.slug == "start-next":
            return (
                f"Started “{release}” as a draft. Its figures are copied from last time and marked "
                "not yet updated: change or confirm each one, then submit."
            )
        when = f" for {ukclock.uk_label(release.publish_at)} ({ukclock.utc_label(release.publish_at)})"
        return (
            f"{action.label}: done. “{release}” is now {release.get_status_display().lower()}"
            + (when if release.status == Status.SCHEDULED else "")
            + "."
        )

    # --- admin actions on the list ---

    @admin.action(description="Start the next release from the selected release")
    def start_next_action(self, request, queryset):
        for release in queryset:
            try:
                new = services.start_next_release(source=release, by=request.user)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(request, f"{release}: {' '.join(_messages(error))}", messages.ERROR)
            else:
                self.message_user(request, f"Started “{new}” from “{release}”.", messages.SUCCESS)

    @admin.action(description="Submit the selected drafts for review")
    def submit_action(self, request, queryset):
        for release in queryset:
            try:
                services.submit_release(release=release, by=request.user)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(request, f"{release}: {' '.join(_messages(error))}", messages.ERROR)
            else:
                self.message_user(request, f"Submitted “{release}” for review.", messages.SUCCESS)

    # --- review: what changed since the previous release ---

    def changes_view(self, request, object_id):
        release = self._release(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"What changed since the previous release: {release}",
            "release": release,
            **release_changes(release),
        }
        return TemplateResponse(request, "admin/statistics/release/changes.html", context)

    # --- history: the release, its figures and its statements, field by field ---

    def full_history_view(self, request, object_id):
        release = self._release(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Full history: {release}",
            "release": release,
            "entries": release_history(release),
        }
        return TemplateResponse(request, "admin/statistics/release/full_history.html", context)


def _messages(error) -> list[str]:
    return list(getattr(error, "messages", None) or [str(error)])


@dataclass
class ChangeRow:
    programme: str
    metric: str
    previous: str
    current: str
    change: str
    unconfirmed: bool
    findings: list[str]


def release_changes(release: Release) -> dict[str, Any]:
    """Every figure old → new against the previous release, and bullets added or removed."""
    previous = release.previous(checks.comparison_releases())
    figures = {f.metric_id: f for f in release.figures.select_related("metric__programme")}
    old = {
        f.metric_id: f for f in Figure.objects.filter(release=previous).select_related("metric__programme")
    }
    findings = services.release_findings(release)
    by_slug: dict[str, list[str]] = {}
    for finding in findings:
        by_slug.setdefault(finding.metric_slug, []).append(finding.message)
    rows = []
    for metric_id in sorted(
        figures.keys() | old.keys(),
        key=lambda m: (figures.get(m) or old.get(m)).metric.programme.display_order,
    ):
        figure, before = figures.get(metric_id), old.get(metric_id)
        metric = (figure or before).metric
        rows.append(
            ChangeRow(
                programme=metric.programme.name,
                metric=metric.name,
                previous=before.display if before else "—",
                current=figure.display if figure else "(removed)",
                change=(
                    formatting.change(figure.value, before.value, kind=metric.kind)
                    if figure and before
                    else ""
                )
                or "—",
                unconfirmed=bool(figure and not figure.is_confirmed),
                findings=by_slug.get(metric.slug, []),
            )
        )
    bullets = {(s.programme.name, s.text) for s in release.statements.select_related("programme")}
    old_bullets = {
        (s.programme.name, s.text)
        for s in Statement.objects.filter(release=previous).select_related("programme")
    }
    return {
        "previous": previous,
        "rows": rows,
        "added_bullets": sorted(bullets - old_bullets),
        "removed_bullets": sorted(old_bullets - bullets),
        "general_findings": [f for f in findings if not f.metric_slug],
        "corrections": list(release.corrections.all()),
    }


@dataclass
class HistoryEntry:
    when: Any
    who: Any
    what: str
    kind: str
    reason: str
    changes: list[tuple[str, str, str]]


def _diff(new, old, skip=("version", "updated_at")) -> list[tuple[str, str, str]]:
    if old is None:
        return []
    delta = new.diff_against(old)
    return [(c.field, str(c.old), str(c.new)) for c in delta.changes if c.field not in skip]


def release_history(release: Release) -> list[HistoryEntry]:
    """Every recorded change to the release, its figures and its statements, newest first."""
    names = dict(Metric.objects.filter(figures__release=release).values_list("pk", "name"))
    names.update(
        Metric.objects.filter(
            pk__in=Figure.history.filter(release_id=release.pk).values("metric_id")
        ).values_list("pk", "name")
    )
    entries = []
    groups = [
        (
            "Release",
            list(release.history.order_by("history_date", "history_id").select_related("history_user")),
        ),
        (
            "Figure",
            list(
                Figure.history.filter(release_id=release.pk)
                .order_by("history_date", "history_id")
                .select_related("history_user")
            ),
        ),
        (
            "Statement",
            list(
                Statement.history.filter(release_id=release.pk)
                .order_by("history_date", "history_id")
                .select_related("history_user")
            ),
        ),
    ]
    for label, records in groups:
        last: dict[int, Any] = {}
        for record in records:
            before = last.get(record.id)
            if label == "Figure":
                what = f"Figure: {names.get(record.metric_id, record.metric_id)}"
            elif label == "Statement":
                what = f"Statement: {record.text[:60]}"
            else:
                what = "Release"
            entries.append(
                HistoryEntry(
                    when=record.history_date,
                    who=record.history_user,
                    what=what,
                    kind=record.get_history_type_display(),
                    reason=record.history_change_reason or "",
                    changes=_diff(record, before),
                )
            )
            last[record.id] = record
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries
