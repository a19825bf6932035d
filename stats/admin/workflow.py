"""The publishing workflow in the admin: buttons, confirmation pages, review, history and locking.

Every button leads to a short confirmation page whose form calls one function
in `services`; the admin never changes a release's state any other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from common.admin import RecordAdmin
from stats.admin.forms import (
    ALL_BUTTON,
    ALL_BUTTON_LABEL,
    AcknowledgeForm,
    ApproveForm,
    ChangeDateForm,
    ConfirmFiguresForm,
    CorrectFigureForm,
    CorrectStatementForm,
    ExplainForm,
    OptionalReasonForm,
    PublishNowForm,
    ReasonForm,
    ReleaseVersionForm,
    StartNextForm,
)
from stats.admin.review import release_changes, release_history
from stats.models import Release
from stats.publishing import checks, public, services, workflow
from stats.wording import ukclock

Status = Release.Status


StaleRelease = services.StaleRelease
stale_message = services.stale_message


class LockedAdminMixin:
    """Renders the form's hidden version with the other fields, whatever the fieldsets say."""

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        named = {name for _, options in fieldsets for line in options["fields"] for name in _names(line)}
        if obj is not None and "expected_version" not in named:
            title, options = fieldsets[0]
            fieldsets[0] = (title, {**options, "fields": (*options["fields"], "expected_version")})
        return fieldsets


def _names(line) -> tuple[str, ...]:
    return tuple(line) if isinstance(line, list | tuple) else (line,)


class DraftOnlyInlineMixin:
    """Figures and statements change only while the release is a draft (then through corrections)."""

    def _draft(self, obj) -> bool:
        return obj is None or workflow.permission_for("edit", obj) is not None

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


class DraftRowAdminMixin(LockedAdminMixin):
    """A figure or statement edited on its own page: drafts only, and it counts as editing the release.

    The page is locked on the release's version, like the release's own page.
    """

    form = ReleaseVersionForm

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleRelease as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def has_change_permission(self, request, obj=None):
        if obj is not None and not workflow.allowed(request.user, "edit", obj.release):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not workflow.allowed(request.user, "edit", obj.release):
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "release":
            kwargs["queryset"] = Release.objects.filter(status=Status.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        workflow.require(request.user, "edit", obj.release)
        what = obj._meta.verbose_name
        locked = getattr(form, "locked_release_id", None)
        if change and locked is not None:
            services.record_edit(
                locked,
                by=request.user,
                reason=f"Edited a {what}",
                seen=form.cleaned_data.get("expected_version"),
                check=True,
            )
        if obj.release_id != locked:  # a new row, or one moved to another release
            services.record_edit(obj.release_id, by=request.user, reason=f"Added a {what}")
        super().save_model(request, obj, form, change)
        services.refresh_explanations(obj.release)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.record_edit(obj.release_id, by=request.user, reason=f"Deleted a {obj._meta.verbose_name}")


class ReadOnlyRecordAdmin(RecordAdmin):
    """Public records written only by the workflow (corrections, date changes)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- which buttons a release offers ------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A button on a release's page; `rule` names its row in the permission table (`workflow.RULES`)."""

    slug: str
    label: str
    rule: str
    form: type[forms.Form]
    shows_checks: bool = False
    danger: bool = False
    # A step its release's last editor may not take (two pairs of eyes): the verb the refusal uses.
    second_person: str = ""

    def permission_for(self, release: Release) -> str | None:
        return workflow.permission_for(self.rule, release)

    def applies(self, release: Release) -> bool:
        return self.permission_for(release) is not None


ACTIONS = {
    a.slug: a
    for a in (
        Action("submit", "Submit for review", "submit", AcknowledgeForm, shows_checks=True),
        Action("confirm-figures", "Confirm unchanged figures", "edit", ConfirmFiguresForm),
        Action("explain", "Explain a fall or jump", "edit", ExplainForm),
        Action(
            "approve",
            "Approve and schedule",
            "approve",
            ApproveForm,
            shows_checks=True,
            second_person="approve",
        ),
        Action(
            "publish-now",
            "Publish now",
            "publish-now",
            PublishNowForm,
            shows_checks=True,
            second_person="publish",
        ),
        Action("return-to-draft", "Return to draft", "return-to-draft", OptionalReasonForm),
        Action("change-date", "Change or confirm the date", "change-date", ChangeDateForm),
        Action("cancel", "Cancel this release", "cancel", ReasonForm, danger=True),
        Action("correct-figure", "Correct a figure", "correct", CorrectFigureForm),
        Action("correct-statement", "Correct a statement", "correct", CorrectStatementForm),
        Action("withdraw", "Withdraw", "withdraw", ReasonForm, danger=True),
        Action("start-next", "Start the next release", "start-next", StartNextForm),
    )
}
# Any other step of the workflow's table: a button named by its verb, with an optional reason.
ACTIONS |= {
    step: Action(step, workflow.VERBS[step].capitalize(), step, OptionalReasonForm)
    for step in services.RELEASE_STEPS
    if step not in ACTIONS
}


def available_actions(release: Release, user) -> list[Action]:
    return [a for a in ACTIONS.values() if workflow.allowed(user, a.rule, release)]


# --- the admin mixin -----------------------------------------------------------------------------


class ReleaseWorkflowMixin(LockedAdminMixin):
    """Adds the workflow to the release admin: read-only state, buttons, review, history, locking."""

    form = ReleaseVersionForm
    change_form_template = "admin/statistics/release/change_form.html"
    # The history list names who did each step, the release clock included (`services.done_by`).
    object_history_list_template = "admin/statistics/release/object_history_list.html"
    actions = ["start_next_action", "submit_action"]

    # state is changed only through the buttons
    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        fields += ["status", "date_confirmed", "status_reason", "publish_time_uk"]
        if obj is not None and obj.publish_at is not None:
            fields.append("publish_at")
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and not workflow.allowed(request.user, "edit", obj):
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
            obj.version = services.claim_version(obj.pk, form.cleaned_data.get("expected_version"))
        else:
            obj.status = Status.DRAFT
        super().save_model(request, obj, form, change)
        if not change or public.CALENDAR_FIELDS.intersection(form.changed_data):
            public.release_listed()  # a new line in the calendar, or a line moved
        warning = ukclock.clock_change_near(obj.publish_at)
        if warning:
            self.message_user(request, warning, messages.WARNING)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.refresh_explanations(form.instance)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        public.release_listed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        public.release_listed()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id:
            current = self.get_object(request, object_id)
            if current is not None and current.status != Status.DRAFT:
                self.message_user(
                    request,
                    f"“{current}” is now {current.status_label.lower()}, so it can no longer be "
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
            # Figures not yet updated are a draft's work to do, listed as such, not an error found.
            "workflow_findings": [f for f in findings if f.check != "unconfirmed"],
            "unconfirmed_count": release.figures.filter(is_confirmed=False).count(),
            "publish_uk": ukclock.uk_label(release.publish_at),
            "publish_utc": ukclock.utc_label(release.publish_at),
            "published_uk": ukclock.uk_label(release.published_at, seconds=True),
            "published_late": int((release.published_at - release.publish_at).total_seconds())
            if release.published_at and release.publish_at
            else 0,
            "published_late_because": services.marked_late_because(release) if release.published_at else "",
            "clock_warning": ukclock.clock_change_near(release.publish_at),
            "changes_url": reverse("admin:statistics_release_changes", args=[release.pk]),
            "full_history_url": reverse("admin:statistics_release_full_history", args=[release.pk]),
            "preview_url": reverse("statistics:release-preview", args=[release.pk]),
            "release_is_public": release.is_public,
            **self.alerts_context(request, release),
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
            path(
                "<path:object_id>/test-alert/",
                view(self.test_alert_view),
                name="statistics_release_test_alert",
            ),
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
        figures = release.figures.select_related("metric__programme").order_by(
            "metric__programme__display_order",
            "metric__programme__name",
            "metric__display_order",
            "metric__name",
        )
        if isinstance(form, ExplainForm):
            # The falls a draft has (its explained ones included), to mark them in the list.
            findings = checks.check_release(release)
            form.set_figures(figures, findings=findings, explained=services.explained_slugs(release))
        elif "figure" in form.fields:
            form.fields["figure"].queryset = figures
        if isinstance(form, ConfirmFiguresForm):
            form.set_figures(list(figures.filter(is_confirmed=False)))
        if "statement" in form.fields:
            form.fields["statement"].queryset = release.statements.select_related("programme")
        return form

    def workflow_view(self, request, object_id, slug):
        action = ACTIONS[slug]
        release = self._release(request, object_id)
        if not action.applies(release):
            self.message_user(
                request,
                f"“{action.label}” does not apply to a {release.status_label.lower()} release.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:statistics_release_change", args=[release.pk]))
        if not workflow.allowed(request.user, action.rule, release):
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
                self.message_user(request, self.done_message(action, target, result), messages.SUCCESS)
                warning = (
                    ukclock.clock_change_near(target.publish_at) if slug in ("approve", "change-date") else ""
                )
                if warning:
                    self.message_user(request, warning, messages.WARNING)
                return HttpResponseRedirect(reverse("admin:statistics_release_change", args=[target.pk]))
        proposed = form.cleaned_data.get("publish_at") if form.is_bound and form.is_valid() else None
        findings = services.release_findings(release, publish_at=proposed) if action.shows_checks else []
        # The last editor is told as the page opens, and offered no form to fill in for nothing.
        not_yours = (
            services.second_pair_of_eyes_refusal(release, request.user, action.second_person)
            if action.second_person
            else ""
        )
        context = {
            "not_yours": not_yours,
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
            "checks_run": checks.check_list(findings) if action.shows_checks else [],
            "confirm_all": (ALL_BUTTON, ALL_BUTTON_LABEL) if isinstance(form, ConfirmFiguresForm) else None,
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
                return services.explain_figure(
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

    def done_message(self, action: Action, release: Release, result=None) -> str:
        """What the step did, in words that match what happened."""
        release.refresh_from_db()
        when = f"{ukclock.uk_label(release.publish_at)} ({ukclock.utc_label(release.publish_at)})"
        return (
            _edit_done(action.slug, release, result)
            or _status_change_done(action.slug, release, when)
            or f"{action.label}: done."
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

    # --- email alerts: the delivery log and a test alert ---

    def alerts_context(self, request, release: Release) -> dict[str, Any]:
        from alerts.models import Delivery

        event = f"release:{release.pk}"
        counts = dict(
            Delivery.objects.filter(event=event)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        return {
            "alert_counts": counts,
            "alert_log_url": reverse("admin:alerts_delivery_changelist") + f"?event={event}",
            "test_alert_url": reverse("admin:statistics_release_test_alert", args=[release.pk])
            if request.user.has_perm("statistics.approve_release")
            else "",
        }

    def test_alert_view(self, request, object_id):
        """A publisher sends the release's alert to themself, as subscribers will read it (not recorded)."""
        from alerts.sending import send_test_alert

        release = self._release(request, object_id)
        if not request.user.has_perm("statistics.approve_release"):
            raise PermissionDenied("Only publishers send test alerts.")
        back = HttpResponseRedirect(reverse("admin:statistics_release_change", args=[release.pk]))
        if request.method != "POST":
            return back
        if not request.user.email:
            self.message_user(
                request, "Your account has no email address: add one to get a test alert.", messages.ERROR
            )
            return back
        summary = send_test_alert(release.pk, request.user.email)
        if summary.sent:
            self.message_user(
                request, f"A test alert for “{release}” was sent to {request.user.email}.", messages.SUCCESS
            )
        else:
            reason = summary.not_sent_reason or "the mail server refused it"
            self.message_user(request, f"The test alert was not sent: {reason}.", messages.ERROR)
        return back

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

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        for record in historical_records:
            record.done_by = services.done_by(record.history_user, record.history_change_reason)

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


def _edit_done(slug: str, release: Release, result) -> str | None:
    """What a step that starts or edits a release's content did (a new draft, confirmed figures, an
    explanation, a correction), from its result; None for another step."""
    match slug:
        case "start-next":
            return (
                f"Started “{release}” as a draft. Its figures are copied from last time and marked "
                "not yet updated: change or confirm each one, then submit."
            )
        case "confirm-figures":
            left = release.figures.filter(is_confirmed=False).count()
            return f"Confirmed {result} figure{'s' if result != 1 else ''} as still right." + (
                f" {left} still not yet updated." if left else " Every figure is now updated or confirmed."
            )
        case "explain":
            return (
                f"Explained {result.subject} ({result.old_value or 'no earlier figure'} → "
                f"{result.new_value}). The explanation is published with the release."
            )
        case "correct-figure" | "correct-statement":
            return (
                f"Corrected {result.subject}: was {result.old_value}, now {result.new_value}. The "
                "correction notice is on the public release page, its downloads and the revisions page."
            )
    return None


def _status_change_done(slug: str, release: Release, when: str) -> str | None:
    """What a step that moves a release through its states did; None for another step."""
    match slug:
        case "submit":
            return f"Submitted “{release}” for review. A publisher can now approve it."
        case "approve":
            return f"Approved “{release}”. It will be published at {when}."
        case "publish-now":
            return f"Published “{release}” at {when}."
        case "return-to-draft":
            return f"“{release}” is a draft again."
        case "change-date":
            state = "confirmed" if release.date_confirmed else "provisional"
            return f"“{release}” is now due at {when} ({state})."
        case "cancel":
            return f"Cancelled “{release}”. The release calendar shows the reason."
        case "withdraw":
            return f"Withdrew “{release}”. Its page now shows the reason instead of its figures."
    return None


def _messages(error) -> list[str]:
    return list(getattr(error, "messages", None) or [str(error)])
