"""Import and export of the statistics in the admin: figure imports with a preview (old → new, with
the publishing checks) and a confirmation, the supplier template, and the simpler resources."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.module_loading import import_string

from common.import_admin import (
    ALREADY_CONFIRMED,
    NewsroomImportExportMixin,
    XLSXFormat,
    _size_checked,
    _uploaded_bytes,
    claim_confirmation,
    give_back,
    read_as,
)
from common.spreadsheets import (
    NOT_HELD,
    ImportRefused,
    max_upload_bytes,
    read_upload,
    size_label,
)
from stats.models import Figure, Release
from stats.publishing import workflow
from stats.spreadsheets.figure_import import apply_figures, import_figures, plan_figures
from stats.spreadsheets.resources import (
    FigureResource,
    MetricResource,
    ProgrammeResource,
    ReleaseResource,
    StatementResource,
    needs_correction,
)
from stats.spreadsheets.template import supplier_template


class ProgrammeImportExportMixin(NewsroomImportExportMixin):
    resource_classes = [ProgrammeResource]


class MetricImportExportMixin(NewsroomImportExportMixin):
    resource_classes = [MetricResource]


class StatementImportExportMixin(NewsroomImportExportMixin):
    resource_classes = [StatementResource]


# -- Figure imports: upload → preview (old → new, checks) → confirm --------------------------------


class FigureImportForm(forms.Form):
    import_file = forms.FileField(
        label="Spreadsheet",
        help_text=(
            "A CSV, Excel (.xlsx) or JSON file. It needs the columns period, metric_slug and value; "
            "as_of, qualifier and note are optional. An empty qualifier or note keeps what the figure has."
        ),
    )
    reason = forms.CharField(
        label="Explanation (for a fall, or a correction)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=(
            "Needed when a total to date or a best-ever record falls since the last release, and when the "
            "import changes a published release. It is published with each such figure, e.g. “The "
            "supplier removed duplicate bookings.”"
        ),
    )

    def __init__(self, *args, require_reason=False, draft=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.require_reason = require_reason
        self.fields["import_file"].help_text += f" Up to {size_label(max_upload_bytes())}."
        if draft:
            self.fields["reason"].label = "Explanation"
            self.fields["reason"].help_text = (
                "Only if a total to date or a best-ever record falls since the last release, and the new "
                "figure is right: say why, e.g. “The supplier removed duplicate bookings.” It is published "
                "with the release as an explanation beside each figure that falls (not a correction)."
            )
        if require_reason:
            self.fields["reason"].label = "Correction reason"
            self.fields["reason"].required = True
            self.fields["reason"].help_text = (
                "This release is published: every figure the import changes gets a public correction "
                "notice with this reason."
            )

    def clean_import_file(self):
        return _size_checked(self.cleaned_data["import_file"])


class ConfirmFigureImportForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    file_name = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.HiddenInput, required=False)
    plan = forms.CharField(widget=forms.HiddenInput, required=False)  # the previewed plan's digest


PLAN_CHANGED = (
    "Nothing was imported: the figures changed since the preview (someone saved this release, or "
    "another import ran), so this file would now do something else. Check the new preview below and "
    "confirm again."
)


def can_import_figures(request) -> bool:
    from django.conf import settings
    from django.contrib.auth import get_permission_codename

    code = getattr(settings, "IMPORT_EXPORT_IMPORT_PERMISSION_CODE", None)
    opts = Figure._meta
    allowed = request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")
    if code:
        allowed = allowed and request.user.has_perm(f"{opts.app_label}.{get_permission_codename(code, opts)}")
    return allowed


def _apply_if_as_previewed(data: bytes, confirmed: dict, *, release: Release | None, user):
    """Read the held file again and plan it; apply the plan only if it is the one previewed."""
    reason = confirmed["reason"]
    read = read_upload(data, confirmed["file_name"])
    outcome = plan_figures(read.dataset, release=release, reason=reason, user=user)
    if outcome.ok and outcome.digest == confirmed["plan"]:
        apply_figures(outcome, reason=reason, user=user)
    return read, outcome


class FigureImportViewMixin:
    """The figure import page, for one release or (release=None) for the figure list."""

    figure_import_template = "admin/statistics/figure_import.html"

    def figure_tmp_storage(self, **kwargs):
        from django.conf import settings

        storage_class = getattr(
            settings, "IMPORT_EXPORT_TMP_STORAGE_CLASS", "import_export.tmp_storages.CacheStorage"
        )
        if isinstance(storage_class, str):
            storage_class = import_string(storage_class)
        return storage_class(read_mode="rb", **kwargs)

    def figure_import_view(self, request, *, release: Release | None, done_url: str, title: str):
        if not can_import_figures(request):
            raise PermissionDenied
        require_reason = release is not None and needs_correction(release)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "release": release,
            "done_url": done_url,
            "max_size": size_label(max_upload_bytes()),
            "template_url": (
                reverse("admin:statistics_release_supplier_template", args=[release.pk]) if release else None
            ),
        }
        if request.method == "POST" and "_confirm" in request.POST:
            return self._confirm_figure_import(request, release, context)
        draft = release is not None and release.status == Release.Status.DRAFT
        form = FigureImportForm(
            request.POST or None, request.FILES or None, require_reason=require_reason, draft=draft
        )
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["import_file"]
            data = _uploaded_bytes(upload)
            reason = form.cleaned_data["reason"]
            try:
                read = read_upload(data, upload.name)
            except ImportRefused as error:
                context["problems"] = str(error).splitlines()
            else:
                outcome = import_figures(read.dataset, release=release, reason=reason, user=request.user)
                context.update(outcome=outcome, upload=read)
                if read.encoding:
                    context["read_as"] = read_as(read.name, read.encoding)
                if outcome.ok:
                    storage = self.figure_tmp_storage()
                    storage.save(data)
                    context["confirm_form"] = ConfirmFigureImportForm(
                        initial={
                            "token": storage.name,
                            "file_name": read.name,
                            "reason": reason,
                            "plan": outcome.digest,
                        }
                    )
                else:
                    context["problems"] = outcome.problems
        context["form"] = form
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.figure_import_template, context)

    def _confirm_figure_import(self, request, release, context):
        confirm = ConfirmFigureImportForm(request.POST)
        form = FigureImportForm(
            require_reason=release is not None and needs_correction(release),
            draft=release is not None and release.status == Release.Status.DRAFT,
        )
        context["form"] = form
        if not confirm.is_valid():
            return self._figure_import_refused(
                request, context, ["The confirmation was incomplete. Upload the file again."]
            )
        storage = self.figure_tmp_storage(name=confirm.cleaned_data["token"])
        data = storage.read()
        if not data:
            return self._figure_import_refused(request, context, [NOT_HELD])
        claim = claim_confirmation(confirm.cleaned_data["token"])
        if claim is None:
            return self._figure_import_refused(request, context, [ALREADY_CONFIRMED])
        try:
            read, outcome = _apply_if_as_previewed(
                data, confirm.cleaned_data, release=release, user=request.user
            )
        except ImportRefused as error:
            give_back(claim)
            return self._figure_import_refused(request, context, str(error).splitlines())
        except Exception:
            give_back(claim)
            raise
        if not outcome.applied:
            give_back(claim)
            return self._figure_import_not_applied(request, context, confirm, read, outcome)
        storage.remove()
        self._report_figure_import(request, release, read, outcome)
        return HttpResponseRedirect(context["done_url"])

    def _figure_import_refused(self, request, context, problems: list[str]):
        """The import page again, saying why nothing was imported."""
        context["problems"] = problems
        return TemplateResponse(request, self.figure_import_template, context)

    def _figure_import_not_applied(self, request, context, confirm, read, outcome):
        """The import page again for a plan that was not applied, to say why."""
        context.update(outcome=outcome, upload=read)
        if outcome.ok:  # the same file, other data: show what it would do now, to confirm again
            context["problems_heading"] = PLAN_CHANGED
            context["confirm_form"] = ConfirmFigureImportForm(
                initial={**confirm.cleaned_data, "plan": outcome.digest}
            )
        else:
            context["problems"] = outcome.problems
        return TemplateResponse(request, self.figure_import_template, context)

    def _report_figure_import(self, request, release, read, outcome) -> None:
        """Log the change on each release the import changed, and tell the importer what it did."""
        touched = {c.release.pk: c.release for c in outcome.changes if c.changes_anything}
        for changed in touched.values():
            count = sum(1 for c in outcome.changes if c.release.pk == changed.pk and c.changes_anything)
            self.log_change(
                request, changed, f"Imported {count} figure{'s' if count != 1 else ''} from {read.name}."
            )
        where = f" into {release.heading}" if release else ""
        messages.success(request, f"Imported {read.name}{where}: {outcome.summary}.")
        for warning in outcome.warnings[:20]:
            messages.warning(request, warning)


class FigureImportExportMixin(FigureImportViewMixin, NewsroomImportExportMixin):
    """The figure list: export with the figure resource; import through the checked preview."""

    resource_classes = [FigureResource]

    def import_action(self, request, **kwargs):
        return self.figure_import_view(
            request,
            release=None,
            done_url=reverse("admin:statistics_figure_changelist"),
            title="Import figures for one or more releases",
        )

    def process_import(self, request, **kwargs):
        return self.import_action(request, **kwargs)

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("metric__programme", "release")


class ReleaseImportExportMixin(FigureImportViewMixin, NewsroomImportExportMixin):
    """A release's page: import figures into it, and download the supplier template."""

    resource_classes = [ReleaseResource]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/import-figures/",
                view(self.release_import_figures_view),
                name="statistics_release_import_figures",
            ),
            path(
                "<path:object_id>/supplier-template.xlsx",
                view(self.supplier_template_view),
                name="statistics_release_supplier_template",
            ),
            *super().get_urls(),
        ]

    def can_import_into(self, request, release) -> bool:
        """Drafts by their editors; public releases only as a correction, by those who may correct."""
        action = workflow.content_action(release)
        return action is not None and workflow.allowed(request.user, action, release)

    def release_or_404(self, request, object_id) -> Release:
        """The release the address names; 404 for an unknown or malformed id ("abc")."""
        release = self.get_object(request, object_id)
        if release is None:
            raise Http404(f"There is no release with the id “{object_id}”.")
        return release

    def release_import_figures_view(self, request, object_id):
        release = self.release_or_404(request, object_id)
        if not self.can_import_into(request, release):
            raise PermissionDenied
        return self.figure_import_view(
            request,
            release=release,
            done_url=reverse("admin:statistics_release_change", args=[release.pk]),
            title=f"Import figures into {release.heading}",
        )

    def supplier_template_view(self, request, object_id):
        release = self.release_or_404(request, object_id)
        if not (self.has_view_or_change_permission(request, release) and can_import_figures(request)):
            raise PermissionDenied
        response = HttpResponse(supplier_template(release), content_type=XLSXFormat.CONTENT_TYPE)
        response["Content-Disposition"] = (
            f'attachment; filename="figures-{release.period_date.isoformat()}-template.xlsx"'
        )
        response["Cache-Control"] = "private, no-store"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        release = self.get_object(request, object_id)
        allowed = (
            can_import_figures(request) and release is not None and self.can_import_into(request, release)
        )
        extra_context = {**(extra_context or {}), "can_import_figures": allowed}
        return super().change_view(request, object_id, form_url, extra_context)
